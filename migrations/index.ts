import { CreateTicketRegistry1764000000000 } from './1764000000000-CreateTicketRegistry';
import { CreateUsers1764000001000 } from './1764000001000-CreateUsers';
import { AddTicketMaxUses1764000002000 } from './1764000002000-AddTicketMaxUses';
import { CreateLoginThrottle1764000003000 } from './1764000003000-CreateLoginThrottle';
import { CreateSingleLogoutOutboxAndAudit1764000004000 } from './1764000004000-CreateSingleLogoutOutboxAndAudit';
import { AddServiceRegistryVersion1764000005000 } from './1764000005000-AddServiceRegistryVersion';
import { AddProxyTickets1764000006000 } from './1764000006000-AddProxyTickets';
import { CreateDbaViews1764000007000 } from './1764000007000-CreateDbaViews';
import { AddSessionExpiryIndex1764000008000 } from './1764000008000-AddSessionExpiryIndex';
import { DropSessionForeignKeys1764000009000 } from './1764000009000-DropSessionForeignKeys';
import { BuildLogoutMessageAtDelivery1764000010000 } from './1764000010000-BuildLogoutMessageAtDelivery';
import { ReplaceLoginFlowsByUsedExecutions1764000011000 } from './1764000011000-ReplaceLoginFlowsByUsedExecutions';
import { StoreCanonicalUsernames1764000013000 } from './1764000013000-StoreCanonicalUsernames';
import { AddAuthenticationHandler1764000014000 } from './1764000014000-AddAuthenticationHandler';
import { CreateGauthCredentials1764000015000 } from './1764000015000-CreateGauthCredentials';
import { AddAuthenticationFactors1764000016000 } from './1764000016000-AddAuthenticationFactors';
import { CreateWebAuthnCredentials1764000017000 } from './1764000017000-CreateWebAuthnCredentials';
import { CreateMfaTrustedDevices1764000018000 } from './1764000018000-CreateMfaTrustedDevices';
import { AddSessionOrigin1764000019000 } from './1764000019000-AddSessionOrigin';
import { CreateSessionHistory1764000020000 } from './1764000020000-CreateSessionHistory';
import { AddSessionSearchIndexes1764000022000 } from './1764000022000-AddSessionSearchIndexes';
import { AddSessionEventsToOutbox1764000023000 } from './1764000023000-AddSessionEventsToOutbox';
import { AddAuditRequestId1764000024000 } from './1764000024000-AddAuditRequestId';
import { CountSessionsAndPendingLogouts1764000025000 } from './1764000025000-CountSessionsAndPendingLogouts';
import { CreateNodeHeartbeats1764000026000 } from './1764000026000-CreateNodeHeartbeats';
import { AddConsoleListingIndexes1764000029000 } from './1764000029000-AddConsoleListingIndexes';
import { CreateConsoleSignOuts1764000030000 } from './1764000030000-CreateConsoleSignOuts';
import { AddLiveSessionWalkIndexes1764000031000 } from './1764000031000-AddLiveSessionWalkIndexes';
import { SessionHistoryHotOutcomes1764000032000 } from './1764000032000-SessionHistoryHotOutcomes';
import { CoverSessionServicesKey1764000033000 } from './1764000033000-CoverSessionServicesKey';

/** Every migration, oldest first. Listed explicitly so the app, the CLI and jest load the same classes. */
export const migrations = [
  CreateTicketRegistry1764000000000,
  CreateUsers1764000001000,
  AddTicketMaxUses1764000002000,
  CreateLoginThrottle1764000003000,
  CreateSingleLogoutOutboxAndAudit1764000004000,
  AddServiceRegistryVersion1764000005000,
  AddProxyTickets1764000006000,
  CreateDbaViews1764000007000,
  AddSessionExpiryIndex1764000008000,
  DropSessionForeignKeys1764000009000,
  BuildLogoutMessageAtDelivery1764000010000,
  ReplaceLoginFlowsByUsedExecutions1764000011000,
  StoreCanonicalUsernames1764000013000,
  AddAuthenticationHandler1764000014000,
  CreateGauthCredentials1764000015000,
  AddAuthenticationFactors1764000016000,
  CreateWebAuthnCredentials1764000017000,
  CreateMfaTrustedDevices1764000018000,
  AddSessionOrigin1764000019000,
  CreateSessionHistory1764000020000,
  AddSessionSearchIndexes1764000022000,
  AddSessionEventsToOutbox1764000023000,
  AddAuditRequestId1764000024000,
  CountSessionsAndPendingLogouts1764000025000,
  CreateNodeHeartbeats1764000026000,
  AddConsoleListingIndexes1764000029000,
  CreateConsoleSignOuts1764000030000,
  AddLiveSessionWalkIndexes1764000031000,
  SessionHistoryHotOutcomes1764000032000,
  CoverSessionServicesKey1764000033000,
];

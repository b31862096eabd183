import type { SessionLimitsConfig } from '../config/session-limits-config';
import type { RegisteredService } from '../services/registered-service';
import type { SessionLimit } from '../tickets/session-limits';

/**
 * The session limit a login is under, or null when there is none (the login then creates its
 * session as always, taking no lock): the service's `maximumAllowedSessions` property when it has
 * one, else the global maximum when `cas.authn.policy.unique-principal.enabled` is on. The action
 * (refuse, or end the oldest) is the global setting's either way.
 */
export function sessionLimitFor(config: SessionLimitsConfig, registered: RegisteredService | null, replacing: string | null): SessionLimit | null {
  const maximum = registered?.maximumAllowedSessions ?? (config.enabled ? config.maximumSessions : undefined);
  return maximum === undefined ? null : { maximum, action: config.action, replacing };
}

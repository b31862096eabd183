import type { Attributes } from '../../common/attributes';
import { isMfaProviderId, type MfaProviderId } from '../../config/mfa-config';
import type { PasswordWarning } from '../handlers/authentication-handler';
import type { GauthCarriedDevice } from './gauth/gauth-credentials';

/**
 * A login waiting for its second factor: what the password step established, carried inside the
 * MFA page's execution token (login-flows.ts: encrypted and authenticated with a server key,
 * bound to the browser, single use, 15 minutes). Nothing of it is read from the form: the browser
 * sends the token and the code, and no other field is believed. Kept in the token rather than a
 * table: any node opens it (as the login form's), nothing is stored for an abandoned login, and
 * each wrong code consumes the token and gets a new one counting it, so an older token cannot be
 * replayed to reset the count (its id is in used_login_executions).
 */
export interface PendingMfa {
  provider: MfaProviderId;
  username: string;
  attributes: Attributes;
  /** The authentication handler that accepted the password (new login only). */
  handler?: string;
  warning?: PasswordWarning;
  rememberMe: boolean;
  publicWorkstation: boolean;
  warn: boolean;
  method?: 'POST';
  /** Wrong codes so far in this MFA step: the fifth ends it. */
  failures: number;
  /** Step-up: the SSO session (TGT id) the factor is added to. Absent: a new login, whose session is created after the code. */
  stepUpSession?: string;
  /** Enrolment: the pending device that the first right code confirms. */
  enrolCredentialId?: string;
  /**
   * mfa-gauth: the user's confirmed devices when the code page was served, each with its secret as
   * stored (encrypted under the mfa-gauth key): the code POST checks a code against them without
   * reading the devices first (GauthCredentials.verify).
   */
  gauthDevices?: GauthCarriedDevice[];
  /**
   * mfa-webauthn: the challenge of the ceremony the page was served with, and which ceremony
   * (a user without a credential registers one). Bound to this login by the token, used once.
   */
  webauthnChallenge?: string;
  webauthnCeremony?: 'registration' | 'authentication';
}

/** The token's claim back into a PendingMfa; null when anything is missing or of the wrong type. */
export function parsePendingMfa(raw: Record<string, unknown> | undefined): PendingMfa | null {
  if (!raw) return null;
  const str = (v: unknown) => typeof v === 'string';
  const bool = (v: unknown) => typeof v === 'boolean';
  const { provider, username, attributes, handler, warning, rememberMe, publicWorkstation, warn, method, failures, stepUpSession, enrolCredentialId } = raw;
  const { webauthnChallenge, webauthnCeremony, gauthDevices } = raw;
  if (typeof provider !== 'string' || !isMfaProviderId(provider) || typeof username !== 'string' || !username) return null;
  if (!isAttributes(attributes) || !bool(rememberMe) || !bool(publicWorkstation) || !bool(warn)) return null;
  if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 0) return null;
  if ((handler !== undefined && !str(handler)) || (stepUpSession !== undefined && !str(stepUpSession))) return null;
  if (enrolCredentialId !== undefined && !str(enrolCredentialId)) return null;
  if (method !== undefined && method !== 'POST') return null;
  if (webauthnChallenge !== undefined && !str(webauthnChallenge)) return null;
  if (webauthnCeremony !== undefined && webauthnCeremony !== 'registration' && webauthnCeremony !== 'authentication') return null;
  if (warning !== undefined && (typeof warning !== 'object' || warning === null)) return null;
  if (gauthDevices !== undefined && !isCarriedDevices(gauthDevices)) return null;
  return {
    provider,
    username,
    attributes,
    handler: handler as string | undefined,
    warning: warning as PasswordWarning | undefined,
    rememberMe: rememberMe as boolean,
    publicWorkstation: publicWorkstation as boolean,
    warn: warn as boolean,
    method,
    failures,
    stepUpSession: stepUpSession as string | undefined,
    enrolCredentialId: enrolCredentialId as string | undefined,
    ...(webauthnChallenge !== undefined ? { webauthnChallenge: webauthnChallenge as string, webauthnCeremony } : {}),
    ...(gauthDevices !== undefined ? { gauthDevices } : {}),
  };
}

function isCarriedDevices(v: unknown): v is GauthCarriedDevice[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'object' && d !== null && typeof d.id === 'string' && typeof d.secret === 'string');
}

function isAttributes(v: unknown): v is Attributes {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) &&
    Object.values(v).every((values) => Array.isArray(values) && values.every((x) => typeof x === 'string'))
  );
}

import { ConfigurationError } from './env.validation';
import type { MfaProviderId } from './mfa-config';

/**
 * `cas.authn.mfa.trusted.*`: trusted devices ("remember this browser"), with CAS's names.
 *
 * - Per provider, off by default as in CAS 6/7: `cas.authn.mfa.gauth.core.trusted-device-enabled`
 *   (GoogleAuthenticatorMultifactorCoreProperties). A provider not listed here never skips its code.
 * - `core.device-registration-enabled` (CAS 7, default true): ask the user (the checkbox on the code
 *   page). false: every right code trusts the browser without asking, CAS's "execute it automatically".
 * - `expiration` and `time-unit` (CAS 5.3 to 6.1, `cas.authn.mfa.trusted.expiration=30`,
 *   `time-unit=DAYS`): how long a trusted browser is trusted. CAS 6.2+ lets the user choose on a
 *   registration page instead; here the checkbox offers this one period, which the administrator sets.
 * - `core.authentication-context-attribute` (CAS 7, default `isFromTrustedMultifactorAuthentication`):
 *   the attribute a session created through a trusted browser carries.
 */
export interface MfaTrustedConfig {
  /** The providers whose code a trusted browser skips (`cas.authn.mfa.<provider>.core.trusted-device-enabled`). */
  providers: MfaProviderId[];
  deviceRegistrationEnabled: boolean;
  /** `expiration` × `time-unit`, in seconds. */
  expirationSeconds: number;
  /** The period as the checkbox says it ("30 days"). */
  expirationLabel: string;
  authenticationContextAttribute: string;
}

/** Java's TimeUnit names, as CAS 5.3 to 6.1 took them; shorter units make no sense for a browser. */
const UNITS: Record<string, { seconds: number; singular: string }> = {
  MINUTES: { seconds: 60, singular: 'minute' },
  HOURS: { seconds: 3600, singular: 'hour' },
  DAYS: { seconds: 86_400, singular: 'day' },
};
/** A year at most: a browser trusted longer outlives most laptops and every phone contract. */
const MAX_SECONDS = 366 * 86_400;

/** Where each provider's switch is, by CAS id (relaxed binding of `cas.authn.mfa.<name>.core.trusted-device-enabled`). */
const PROVIDER_SWITCHES: Record<MfaProviderId, string> = {
  'mfa-gauth': 'CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED',
  'mfa-webauthn': 'CAS_AUTHN_MFA_WEB_AUTHN_CORE_TRUSTED_DEVICE_ENABLED',
};

const PREFIX = 'CAS_AUTHN_MFA_TRUSTED_';

/** The trusted-device settings of the environment; every bad value is named in one ConfigurationError. */
export function loadMfaTrustedConfig(env: Record<string, string | undefined>): MfaTrustedConfig {
  const errors: string[] = [];
  const get = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    errors.push(`${name}: must be true or false`);
    return fallback;
  };

  const providers = (Object.keys(PROVIDER_SWITCHES) as MfaProviderId[]).filter((id) => bool(PROVIDER_SWITCHES[id], false));
  const deviceRegistrationEnabled = bool(`${PREFIX}CORE_DEVICE_REGISTRATION_ENABLED`, true);

  const unitName = (get(`${PREFIX}TIME_UNIT`) ?? 'DAYS').toUpperCase();
  const unit = UNITS[unitName];
  if (!unit) errors.push(`${PREFIX}TIME_UNIT: must be one of ${Object.keys(UNITS).join(', ')}`);
  const rawExpiration = get(`${PREFIX}EXPIRATION`) ?? '30';
  let expiration = 30;
  if (!/^\d{1,9}$/.test(rawExpiration) || Number(rawExpiration) < 1) errors.push(`${PREFIX}EXPIRATION: must be a whole number of 1 or more`);
  else expiration = Number(rawExpiration);
  const expirationSeconds = expiration * (unit?.seconds ?? 86_400);
  if (expirationSeconds > MAX_SECONDS) errors.push(`${PREFIX}EXPIRATION: at most 366 days in ${PREFIX}TIME_UNIT`);

  const authenticationContextAttribute = get(`${PREFIX}CORE_AUTHENTICATION_CONTEXT_ATTRIBUTE`) ?? 'isFromTrustedMultifactorAuthentication';
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/.test(authenticationContextAttribute)) {
    errors.push(`${PREFIX}CORE_AUTHENTICATION_CONTEXT_ATTRIBUTE: an attribute name (a letter, then letters, digits, '_', '.', '-'; at most 100)`);
  }

  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  const singular = unit?.singular ?? 'day';
  return {
    providers,
    deviceRegistrationEnabled,
    expirationSeconds,
    expirationLabel: `${expiration} ${singular}${expiration === 1 ? '' : 's'}`,
    authenticationContextAttribute,
  };
}

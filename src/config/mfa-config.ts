import { ConfigurationError } from './env.validation';

/**
 * `cas.authn.mfa.gauth.*`: the TOTP provider `mfa-gauth` (RFC 6238 authenticator apps), with
 * CAS's names and defaults (GoogleAuthenticatorMultifactorProperties).
 */
export interface GauthConfig {
  /** `core.issuer`: the issuer of the otpauth URI, what the authenticator app shows as the account's provider. */
  issuer: string;
  /** `core.label`: the label's prefix in the otpauth URI (`label:username`). */
  label: string;
  /**
   * `core.window-size`: how many time steps a code is checked against, the current one in the
   * middle (3: the step before, now, the step after), as CAS's GoogleAuthenticator library counts.
   */
  windowSize: number;
  /** `core.time-step-size`: seconds a code lasts (the otpauth `period`). */
  timeStepSize: number;
  /** `core.code-digits`: 6, 7 or 8 (the otpauth `digits`). */
  codeDigits: number;
  /** `core.multiple-device-registration-enabled`: several confirmed devices per user. */
  multipleDeviceRegistrationEnabled: boolean;
  /**
   * `crypto.encryption.key`: the key (base64url, 32 bytes or more) that encrypts the TOTP secrets
   * at rest. Unset: generated into CAS_DATA_DIR in development mode, otherwise mfa-gauth is
   * unavailable (GauthKeys). Never logged.
   */
  encryptionKey?: string;
}

/** The multi-factor providers this server has, by CAS id. */
export const MFA_PROVIDER_IDS = ['mfa-gauth', 'mfa-webauthn'] as const;
export type MfaProviderId = (typeof MFA_PROVIDER_IDS)[number];

export function isMfaProviderId(value: string): value is MfaProviderId {
  return (MFA_PROVIDER_IDS as readonly string[]).includes(value);
}

/**
 * CAS's failure modes (RegisteredServiceMultifactorPolicyFailureModes): what a login does when the
 * provider it needs cannot run. CLOSED: no login; OPEN: on without the factor, nothing of it
 * released; PHANTOM: on, the provider recorded and released as if satisfied; NONE: availability
 * is not checked (the provider's own failure shows); UNDEFINED: the next level decides.
 */
export const FAILURE_MODES = ['UNDEFINED', 'OPEN', 'CLOSED', 'PHANTOM', 'NONE'] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

/** The triggers of `cas.authn.mfa.*` that the service module's requiredMultifactor reads. */
export interface MfaTriggerConfig {
  /** `triggers.global.global-provider-id`. */
  globalProviderId?: MfaProviderId;
  /** `core.global-failure-mode` (CAS default CLOSED); never UNDEFINED. */
  globalFailureMode: Exclude<FailureMode, 'UNDEFINED'>;
  principal: {
    /** `triggers.principal.global-principal-attribute-name-triggers`: comma-separated attribute names. */
    attributeNameTriggers: string[];
    /** `triggers.principal.global-principal-attribute-value-regex`: matched against a whole value (Java's String.matches). */
    attributeValueRegex?: RegExp;
  };
}

export interface MfaConfig {
  gauth: GauthConfig;
  triggers: MfaTriggerConfig;
  /**
   * `triggers.global.global-provider-id`: every login needs this provider's factor, whatever the
   * service. An id this server does not have stops the boot (fail closed: a typo must not turn
   * MFA off).
   */
  globalProviderId?: MfaProviderId;
}

const CORE = 'CAS_AUTHN_MFA_GAUTH_CORE_';
const KEY = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
const GLOBAL_PROVIDER = 'CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID';
const GLOBAL_FAILURE_MODE = 'CAS_AUTHN_MFA_CORE_GLOBAL_FAILURE_MODE';
const PRINCIPAL_NAMES = 'CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_NAME_TRIGGERS';
const PRINCIPAL_REGEX = 'CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_VALUE_REGEX';

/** The MFA settings of the environment; every bad value is named in one ConfigurationError. */
export function loadMfaConfig(env: Record<string, string | undefined>): MfaConfig {
  const errors: string[] = [];
  const get = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      errors.push(`${name}: must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const text = (name: string, fallback: string): string => {
    const raw = get(name) ?? fallback;
    // The otpauth label is `label:account`: a colon in either part would move the split.
    if (raw.includes(':')) errors.push(`${name}: must not contain ':'`);
    if (raw.length > 100) errors.push(`${name}: at most 100 characters`);
    return raw;
  };

  const issuer = text(`${CORE}ISSUER`, 'CASIssuer');
  const label = text(`${CORE}LABEL`, 'CASLabel');
  const windowSize = int(`${CORE}WINDOW_SIZE`, 3, 1, 21);
  const timeStepSize = int(`${CORE}TIME_STEP_SIZE`, 30, 5, 300);
  const codeDigits = int(`${CORE}CODE_DIGITS`, 6, 6, 8);
  let multipleDeviceRegistrationEnabled = false;
  const multiple = get(`${CORE}MULTIPLE_DEVICE_REGISTRATION_ENABLED`)?.toLowerCase();
  if (multiple === 'true') multipleDeviceRegistrationEnabled = true;
  else if (multiple !== undefined && multiple !== 'false') errors.push(`${CORE}MULTIPLE_DEVICE_REGISTRATION_ENABLED: must be true or false`);

  const encryptionKey = get(KEY);
  // The value is never repeated in the message: it is a secret.
  if (encryptionKey !== undefined && !isKey(encryptionKey)) {
    errors.push(`${KEY}: must be base64url of 32 bytes or more (openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')`);
  }

  const globalProvider = get(GLOBAL_PROVIDER);
  let globalProviderId: MfaProviderId | undefined;
  if (globalProvider !== undefined) {
    if (isMfaProviderId(globalProvider)) globalProviderId = globalProvider;
    else errors.push(`${GLOBAL_PROVIDER}: unknown multi-factor provider '${globalProvider.slice(0, 50)}' (known: ${MFA_PROVIDER_IDS.join(', ')})`);
  }

  const failureMode = get(GLOBAL_FAILURE_MODE)?.toUpperCase() ?? 'CLOSED';
  let globalFailureMode: MfaTriggerConfig['globalFailureMode'] = 'CLOSED';
  // UNDEFINED is "let the next level decide", and there is none above the global setting.
  if (failureMode !== 'UNDEFINED' && (FAILURE_MODES as readonly string[]).includes(failureMode)) globalFailureMode = failureMode as typeof globalFailureMode;
  else errors.push(`${GLOBAL_FAILURE_MODE}: OPEN, CLOSED, PHANTOM or NONE`);

  const attributeNameTriggers = (get(PRINCIPAL_NAMES) ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  const regex = get(PRINCIPAL_REGEX);
  let attributeValueRegex: RegExp | undefined;
  if (regex !== undefined) {
    try {
      // Java's String.matches: the whole value, letter case as written.
      attributeValueRegex = new RegExp(`^(?:${regex})$`);
    } catch (e) {
      errors.push(`${PRINCIPAL_REGEX}: invalid regular expression (${(e as Error).message})`);
    }
  }

  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return {
    gauth: { issuer, label, windowSize, timeStepSize, codeDigits, multipleDeviceRegistrationEnabled, encryptionKey },
    globalProviderId,
    triggers: { globalProviderId, globalFailureMode, principal: { attributeNameTriggers, attributeValueRegex } },
  };
}

/** base64url (or base64 with padding) of at least 32 bytes: an AES-256 key. */
function isKey(value: string): boolean {
  return /^[A-Za-z0-9_\-+/]+={0,2}$/.test(value) && gauthKeyBytes(value).length >= 32;
}

/** The key's bytes (base64 or base64url); the first 32 are the AES-256 key, as the TGC's. */
export function gauthKeyBytes(value: string): Buffer {
  return Buffer.from(value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
}

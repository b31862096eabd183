import { ConfigurationError } from './env.validation';

/** WebAuthn's user verification requirement (PIN or biometrics on the authenticator). */
export type UserVerification = 'required' | 'preferred' | 'discouraged';
/** What registration asks of the authenticator's attestation (CAS: DIRECT, INDIRECT, NONE). */
export type AttestationConveyance = 'direct' | 'indirect' | 'none';

/**
 * `cas.authn.mfa.web-authn.core.*`: the WebAuthn provider `mfa-webauthn` (security keys and
 * passkeys), with CAS's names and defaults (WebAuthnMultifactorAuthenticationCoreProperties).
 */
export interface WebAuthnConfig {
  /** `enabled`: false takes the provider away (a login that needs it gets the unavailable page). */
  enabled: boolean;
  /** `relying-party-name`: the name the browser and the authenticator show. */
  relyingPartyName: string;
  /**
   * `relying-party-id`: the domain credentials are scoped to; by default the host of
   * CAS_SERVER_PREFIX. Must be that host or a registrable suffix of it (the browser refuses
   * anything else), and cannot change later without every credential becoming useless.
   */
  relyingPartyId: string;
  /** `allowed-origins` (comma separated): the origins a response may come from; by default the prefix's. */
  allowedOrigins: string[];
  /**
   * `allow-primary-authentication`: the login form offers "Sign in with a passkey" (a
   * discoverable credential, no username or password); success satisfies mfa-webauthn too.
   */
  allowPrimaryAuthentication: boolean;
  /**
   * `user-verification`: whether the authenticator must verify its user (PIN, fingerprint) at
   * registration and at the second factor: required, preferred (the default) or discouraged. Not
   * a CAS core setting (CAS leaves it to its library's default, preferred). A passkey used as the
   * first factor is always asked for user verification: it then stands for the password too.
   */
  userVerification: UserVerification;
  /**
   * `validate-signature-counter`: a signature counter that does not grow (a cloned
   * authenticator) is refused and the credential flagged. Authenticators that keep no counter
   * (always 0, as many passkeys) pass.
   */
  validateSignatureCounter: boolean;
  /** `attestation-conveyance-preference`: DIRECT (CAS's default), INDIRECT or NONE. */
  attestationConveyancePreference: AttestationConveyance;
  /** `multiple-device-registration-enabled`: a user may register more than one credential. */
  multipleDeviceRegistrationEnabled: boolean;
  /** `display-name-attribute`: the principal attribute shown as the credential's user name at registration. */
  displayNameAttribute: string;
}

const CORE = 'CAS_AUTHN_MFA_WEB_AUTHN_CORE_';

/**
 * The WebAuthn settings of the environment; `serverPrefix` is CAS_SERVER_PREFIX (already
 * validated), which gives the relying party id and the allowed origin unless set.
 */
export function loadWebAuthnConfig(env: Record<string, string | undefined>, serverPrefix: string): WebAuthnConfig {
  const errors: string[] = [];
  const get = (name: string) => {
    const raw = env[`${CORE}${name}`];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    errors.push(`${CORE}${name}: must be true or false`);
    return fallback;
  };
  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    errors.push(`${CORE}${name}: must be one of ${values.join(', ')}`);
    return fallback;
  };

  const prefix = new URL(serverPrefix);
  const relyingPartyName = get('RELYING_PARTY_NAME') ?? 'CAS';
  if (relyingPartyName.length > 100) errors.push(`${CORE}RELYING_PARTY_NAME: at most 100 characters`);
  const configuredId = get('RELYING_PARTY_ID');
  const relyingPartyId = (configuredId ?? prefix.hostname).toLowerCase();
  // The browser only accepts the page's host or a registrable suffix of it: anything else makes
  // every ceremony fail at the user's first click, so a configured id that cannot work stops the
  // boot. A prefix on an IP address (http://127.0.0.1:8080) has no domain for WebAuthn at all;
  // its default id is left as the address, the boot goes on, and the pages say the browser refused.
  if (configuredId !== undefined && !isDomainSuffix(prefix.hostname.toLowerCase(), relyingPartyId)) {
    errors.push(`${CORE}RELYING_PARTY_ID: '${relyingPartyId.slice(0, 100)}' is neither ${prefix.hostname} nor a parent domain of it`);
  }
  const allowedOrigins: string[] = [];
  for (const raw of (get('ALLOWED_ORIGINS') ?? prefix.origin).split(',').map((o) => o.trim()).filter(Boolean)) {
    let origin: URL | null = null;
    try {
      origin = new URL(raw);
    } catch {
      origin = null;
    }
    if (!origin || (origin.protocol !== 'https:' && origin.protocol !== 'http:') || origin.origin !== raw.replace(/\/$/, '')) {
      errors.push(`${CORE}ALLOWED_ORIGINS: '${raw.slice(0, 100)}' is not an origin (scheme://host[:port], no path)`);
    } else {
      allowedOrigins.push(origin.origin);
    }
  }
  const displayNameAttribute = get('DISPLAY_NAME_ATTRIBUTE') ?? 'displayName';

  const config: WebAuthnConfig = {
    enabled: bool('ENABLED', true),
    relyingPartyName,
    relyingPartyId,
    allowedOrigins,
    allowPrimaryAuthentication: bool('ALLOW_PRIMARY_AUTHENTICATION', false),
    userVerification: oneOf('USER_VERIFICATION', ['required', 'preferred', 'discouraged'] as const, 'preferred'),
    validateSignatureCounter: bool('VALIDATE_SIGNATURE_COUNTER', true),
    attestationConveyancePreference: oneOf('ATTESTATION_CONVEYANCE_PREFERENCE', ['direct', 'indirect', 'none'] as const, 'direct'),
    multipleDeviceRegistrationEnabled: bool('MULTIPLE_DEVICE_REGISTRATION_ENABLED', false),
    displayNameAttribute,
  };
  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return config;
}

/** `host` is `domain` or lies under it (label-wise: `evil-example.org` is not under `example.org`). */
function isDomainSuffix(host: string, domain: string): boolean {
  if (!/^[a-z0-9.-]+$/.test(domain) || domain.startsWith('.') || domain.endsWith('.')) return false;
  return host === domain || host.endsWith(`.${domain}`);
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AttributeRepositoryConfig, loadAttributeRepositoryConfig } from './attribute-repository-config';
import { ConfigurationError, EnvironmentVariables, validateEnvironment } from './env.validation';
import { type LdapAttributeRepositoryConfig, ldapAttributeRepositories, type LdapSourceConfig, ldapSources } from './ldap-config';
import { type GeoIpConfig, loadGeoIpConfig } from './geoip-config';
import { loadSessionEventsConfig, type SessionEventsConfig } from './session-events-config';
import { loadMfaConfig, type MfaConfig } from './mfa-config';
import { loadMfaTrustedConfig, type MfaTrustedConfig } from './mfa-trusted-config';
import { loadSessionLimitsConfig, type SessionLimitsConfig } from './session-limits-config';
import { loadWebAuthnConfig, type WebAuthnConfig } from './webauthn-config';

/**
 * Attribute lists of the static users: the shape of common/attributes.ts's `Attributes`, spelled
 * out because config is the floor every module stands on and imports none of them.
 */
type Attributes = Record<string, string[]>;

export interface StaticUser {
  username: string;
  password: string;
  attributes: Attributes;
}

/** Typed configuration, built once at boot; domain code never reads process.env. */
export interface CasConfig {
  port: number;
  /** Unset: an embedded Postgres is started under dataDir and its URL filled in by main.ts. */
  databaseUrl?: string;
  dataDir: string;
  server: {
    /** Public base URL; every absolute URL comes from here, never from the Host header. */
    prefix: string;
    /** Path part of the prefix (e.g. `/cas`): routes and the TGC path. */
    contextPath: string;
    secure: boolean;
  };
  /**
   * Whether this is evidently a local development server: CAS_SERVER_PREFIX on localhost,
   * 127.0.0.1 or [::1], no DATABASE_URL (the embedded Postgres) and NODE_ENV not `production`.
   * Only then do the open development registry and the demo user come on by default. `reasons`
   * says why it is on, or which conditions turned it off (for the boot log).
   */
  development: { enabled: boolean; reasons: string[] };
  serviceRegistryLocation: string;
  /**
   * The open development registry (dev/services), imported besides serviceRegistryLocation: only
   * in development mode with CAS_SERVICE_REGISTRY_JSON_LOCATION unset.
   */
  developmentRegistryLocation?: string;
  /** The boot import replaces services last changed through the API too. */
  serviceRegistryImportOverwrite: boolean;
  users: StaticUser[];
  /** True when the demo user is in use: development mode and CAS_AUTHN_ACCEPT_USERS unset. */
  usingDefaultUsers: boolean;
  /** The static list's handler in the authentication chain: `cas.authn.accept.name` and `.order`. */
  acceptUsersHandler: { name: string; order: number };
  /** `cas.authn.ldap[n]`: the directory sources of the authentication chain, by n (config/ldap-config.ts). */
  ldap: LdapSourceConfig[];
  /**
   * `cas.authn.attribute-repository.*`: where attributes come from besides the authenticating source
   * (JDBC: config/attribute-repository-config.ts; LDAP: config/ldap-config.ts).
   */
  attributeRepository: AttributeRepositoryConfig & { ldap: LdapAttributeRepositoryConfig[] };
  /** argon2id parameters for new password hashes (existing hashes carry their own). */
  argon2: { memoryKib: number; timeCost: number; parallelism: number };
  tgt: { maxTimeToLiveSeconds: number; timeToKillSeconds: number };
  st: { timeToKillSeconds: number; numberOfUses: number };
  /** `cas.ticket.pt.*`: proxy tickets, overridable per target service. */
  pt: { timeToKillSeconds: number; numberOfUses: number };
  /** pgtUrl callbacks: extra trusted CA certificates (PEM), from PROXY_CALLBACK_CA_FILE and NODE_EXTRA_CA_CERTS. */
  proxyCallback: { extraCaCertificates: string[] };
  rememberMe: { enabled: boolean; timeToKillSeconds: number; cookieMaxAgeSeconds: number };
  sso: { enabled: boolean };
  /** `cas.slo.disabled`: no back-channel logout requests at all. */
  slo: { disabled: boolean };
  /** The registry cleaner: `cas.ticket.registry.cleaner.schedule.*`, batch size, SLO for expired sessions, pause between batches. */
  cleaner: { enabled: boolean; startDelaySeconds: number; repeatIntervalSeconds: number; batchSize: number; sloOnExpiry: boolean; pauseRatio: number };
  /** Ended sessions' rows (tickets/session-history.ts) are kept this long, then purged by the cleaner. */
  sessionHistory: { retentionSeconds: number };
  /** Bearer tokens for /actuator (id → secret); empty: loopback clients only. */
  adminTokens: { id: string; secret: string }[];
  throttle: {
    enabled: boolean;
    rangeSeconds: number;
    /** Failed password checks per window from one client IP (`cas.authn.throttle.failure.threshold`). */
    ipThreshold: number;
    /** Per account, from browsers without a device cookie for it. */
    accountThreshold: number;
    /** Per device cookie (a browser that logged in to the account before). */
    deviceThreshold: number;
    httpStatus: number;
  };
  tgc: {
    name: string;
    /** Newest first: the first encrypts and signs, every one decrypts and verifies (key rotation). */
    encryptionKeys: string[];
    signingKeys: string[];
    /** Bind the cookie to the client IP and User-Agent it was issued to (`cas.tgc.pin-to-session`). */
    pinToSession: boolean;
    /** A client whose IP changed is still accepted when its new IP matches (`cas.tgc.allowed-ip-addresses-pattern`). */
    allowedIpAddressesPattern?: RegExp;
  };
  /** Peers whose X-Forwarded-For is believed (Fastify trustProxy); none by default. */
  trustedProxies: string[];
  logout: { followServiceRedirects: boolean };
  view: { cas2V3ForwardCompatible: boolean };
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** LOG_FORMAT: Nest's human-readable lines (text), or one JSON object per line for log shippers (json). */
  logFormat: 'text' | 'json';
  /** ACCESS_LOG_ENABLED: one log line per answered request (context `Access`), off by default as in Spring Boot's servers. */
  accessLog: boolean;
  /** `cas.authn.mfa.*`: the multi-factor providers (config/mfa-config.ts). */
  mfa: MfaConfig;
  /** `cas.authn.mfa.trusted.*`: browsers trusted to skip the second factor (config/mfa-trusted-config.ts). */
  mfaTrusted: MfaTrustedConfig;
  /** `cas.authn.mfa.web-authn.core.*`: the WebAuthn provider mfa-webauthn (config/webauthn-config.ts). */
  webAuthn: WebAuthnConfig;
  /** `cas.authn.policy.unique-principal.*` and SESSION_LIMIT_ACTION: sessions a user may hold (config/session-limits-config.ts). */
  sessionLimits: SessionLimitsConfig;
  /** `GEOIP_DATABASE`: the MaxMind DB file giving sessions a location, opened at boot (config/geoip-config.ts). */
  geoIp: GeoIpConfig;
  /** `SESSION_EVENTS_WEBHOOKS`, `SESSION_EVENTS_SIGNING_KEY`: receivers of the sessions' Security Event Tokens and their signing key (config/session-events-config.ts). */
  sessionEvents: SessionEventsConfig;
}

export const CAS_CONFIG = Symbol('CAS_CONFIG');

const DEFAULT_USERS = 'casuser::Mellon';
/** Relative to the working directory, as `./services`; never copied into the Docker image. */
export const DEVELOPMENT_REGISTRY_LOCATION = 'dev/services';
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const DEFAULT_ATTRIBUTES: Record<string, Attributes> = {
  casuser: {
    mail: ['casuser@example.org'],
    displayName: ['CAS Demo User'],
    memberOf: ['staff', 'faculty'],
  },
};

export function loadCasConfig(env: Record<string, string | undefined> = process.env): CasConfig {
  const v: EnvironmentVariables = validateEnvironment(env);
  const prefix = v.CAS_SERVER_PREFIX.replace(/\/+$/, '');
  const url = new URL(prefix);
  const attributes = parseAttributes(v.AUTHN_ACCEPT_USERS_ATTRIBUTES);
  const development = developmentMode(url, v);
  const users = v.CAS_AUTHN_ACCEPT_USERS ?? (development.enabled ? DEFAULT_USERS : undefined);
  const ldap = ldapSources(env);
  const clash = ldap.sources.find((s) => s.name === v.CAS_AUTHN_ACCEPT_NAME);
  if (clash) ldap.errors.push(`CAS_AUTHN_LDAP_${clash.index}_NAME: '${clash.name}' is already the name of the static list (CAS_AUTHN_ACCEPT_NAME)`);
  const ldapRepositories = ldapAttributeRepositories(env);
  ldap.errors.push(...ldapRepositories.errors);
  if (ldap.errors.length) throw new ConfigurationError(`Invalid configuration:\n${ldap.errors.map((e) => `  ${e}`).join('\n')}`);
  return {
    port: v.PORT,
    databaseUrl: v.DATABASE_URL,
    dataDir: resolve(v.CAS_DATA_DIR),
    server: { prefix, contextPath: url.pathname === '/' ? '' : url.pathname, secure: url.protocol === 'https:' },
    development,
    serviceRegistryLocation: resolve(v.CAS_SERVICE_REGISTRY_JSON_LOCATION ?? './services'),
    developmentRegistryLocation:
      development.enabled && v.CAS_SERVICE_REGISTRY_JSON_LOCATION === undefined ? resolve(DEVELOPMENT_REGISTRY_LOCATION) : undefined,
    serviceRegistryImportOverwrite: v.SERVICE_REGISTRY_IMPORT_OVERWRITE,
    users: users === undefined ? [] : parseUsers(users, attributes ?? DEFAULT_ATTRIBUTES),
    usingDefaultUsers: development.enabled && v.CAS_AUTHN_ACCEPT_USERS === undefined,
    ldap: ldap.sources,
    acceptUsersHandler: { name: v.CAS_AUTHN_ACCEPT_NAME, order: v.CAS_AUTHN_ACCEPT_ORDER },
    attributeRepository: { ...loadAttributeRepositoryConfig(env), ldap: ldapRepositories.repositories },
    argon2: { memoryKib: v.ARGON2_MEMORY_KIB, timeCost: v.ARGON2_TIME_COST, parallelism: v.ARGON2_PARALLELISM },
    tgt: {
      maxTimeToLiveSeconds: v.CAS_TICKET_TGT_PRIMARY_MAX_TIME_TO_LIVE_IN_SECONDS,
      timeToKillSeconds: v.CAS_TICKET_TGT_PRIMARY_TIME_TO_KILL_IN_SECONDS,
    },
    st: { timeToKillSeconds: v.CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS, numberOfUses: v.CAS_TICKET_ST_NUMBER_OF_USES },
    pt: { timeToKillSeconds: v.CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS, numberOfUses: v.CAS_TICKET_PT_NUMBER_OF_USES },
    proxyCallback: { extraCaCertificates: [...nodeExtraCaCerts(v.NODE_EXTRA_CA_CERTS), ...callbackCaFile(v.PROXY_CALLBACK_CA_FILE)] },
    rememberMe: {
      // Long-term SSO: with SSO off no session is ever reused, so a 14-day session and cookie
      // would only linger; the form does not offer it and a posted rememberMe is ignored.
      enabled: v.CAS_TICKET_TGT_REMEMBER_ME_ENABLED && v.CAS_SSO_SSO_ENABLED,
      timeToKillSeconds: v.CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS,
      cookieMaxAgeSeconds: v.CAS_TGC_REMEMBER_ME_MAX_AGE,
    },
    sso: { enabled: v.CAS_SSO_SSO_ENABLED },
    slo: { disabled: v.CAS_SLO_DISABLED },
    cleaner: {
      enabled: v.CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED,
      startDelaySeconds: v.CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY,
      repeatIntervalSeconds: v.CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL,
      batchSize: v.TICKET_REGISTRY_CLEANER_BATCH_SIZE,
      sloOnExpiry: v.TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY,
      pauseRatio: v.TICKET_REGISTRY_CLEANER_PAUSE_RATIO,
    },
    sessionHistory: { retentionSeconds: v.SESSION_HISTORY_RETENTION },
    adminTokens: list(v.CAS_ADMIN_TOKENS).map((pair) => {
      const i = pair.indexOf(':');
      return { id: pair.slice(0, i), secret: pair.slice(i + 1) };
    }),
    throttle: {
      enabled: v.AUTHN_THROTTLE_ENABLED,
      rangeSeconds: v.CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS,
      ipThreshold: v.CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD,
      accountThreshold: v.AUTHN_THROTTLE_ACCOUNT_THRESHOLD,
      deviceThreshold: v.AUTHN_THROTTLE_DEVICE_THRESHOLD,
      httpStatus: v.AUTHN_THROTTLE_HTTP_STATUS,
    },
    tgc: {
      name: 'TGC',
      encryptionKeys: list(v.CAS_TGC_CRYPTO_ENCRYPTION_KEY),
      signingKeys: list(v.CAS_TGC_CRYPTO_SIGNING_KEY),
      pinToSession: v.CAS_TGC_PIN_TO_SESSION,
      allowedIpAddressesPattern:
        v.CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN === undefined ? undefined : new RegExp(`^(?:${v.CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN})$`),
    },
    trustedProxies: list(v.TRUSTED_PROXIES),
    logout: { followServiceRedirects: v.CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS },
    view: { cas2V3ForwardCompatible: v.CAS_VIEW_CAS2_V3_FORWARD_COMPATIBLE },
    logLevel: v.LOG_LEVEL as CasConfig['logLevel'],
    logFormat: v.LOG_FORMAT as CasConfig['logFormat'],
    accessLog: v.ACCESS_LOG_ENABLED,
    mfa: mfaConfig(env, development.enabled),
    mfaTrusted: loadMfaTrustedConfig(env),
    webAuthn: loadWebAuthnConfig(env, prefix),
    sessionLimits: loadSessionLimitsConfig(env),
    geoIp: loadGeoIpConfig(env),
    sessionEvents: loadSessionEventsConfig(env, development.enabled),
  };
}

/**
 * `cas.authn.mfa.*`. A global trigger that asks every login for mfa-gauth while its secrets key is
 * missing outside development (where none is generated) would end every login on the
 * "unavailable" page: the boot stops instead, naming the variable.
 */
function mfaConfig(env: Record<string, string | undefined>, development: boolean): MfaConfig {
  const mfa = loadMfaConfig(env);
  if (mfa.globalProviderId === 'mfa-gauth' && mfa.gauth.encryptionKey === undefined && !development) {
    throw new ConfigurationError(
      'Invalid configuration:\n  CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID: mfa-gauth needs CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY ' +
        '(the same on every node; it is generated only in development mode)',
    );
  }
  return mfa;
}

/**
 * Development mode needs all three signs of a developer's machine; any one missing (a public
 * prefix, a real database, NODE_ENV=production) means the server may be reachable by others, and
 * an open registry there is an open redirect and a blind SSRF (issue 10).
 */
function developmentMode(prefix: URL, v: EnvironmentVariables): CasConfig['development'] {
  const local = LOCAL_HOSTS.has(prefix.hostname);
  const conditions: [boolean, string, string][] = [
    [local, `CAS_SERVER_PREFIX is on ${prefix.hostname}`, `CAS_SERVER_PREFIX host ${prefix.hostname} is not localhost, 127.0.0.1 or [::1]`],
    [v.DATABASE_URL === undefined, 'DATABASE_URL is unset (embedded Postgres)', 'DATABASE_URL is set'],
    [v.NODE_ENV !== 'production', 'NODE_ENV is not production', 'NODE_ENV is production'],
  ];
  const enabled = conditions.every(([ok]) => ok);
  return { enabled, reasons: conditions.filter(([ok]) => ok === enabled).map(([ok, yes, no]) => (ok ? yes : no)) };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/** The certificates of PROXY_CALLBACK_CA_FILE; a missing file or one without a certificate stops the boot. */
function callbackCaFile(path: string | undefined): string[] {
  if (path === undefined) return [];
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (e) {
    throw new ConfigurationError(`Invalid configuration:\n  PROXY_CALLBACK_CA_FILE: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const certs = text.match(PEM_CERTIFICATE) ?? [];
  if (!certs.length) throw new ConfigurationError(`Invalid configuration:\n  PROXY_CALLBACK_CA_FILE: no PEM certificate in ${path}`);
  return certs;
}

/** Node warns about an unreadable NODE_EXTRA_CA_CERTS itself and carries on; so do we. */
function nodeExtraCaCerts(path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    return readFileSync(path, 'utf8').match(PEM_CERTIFICATE) ?? [];
  } catch {
    return [];
  }
}

function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** CAS's `cas.authn.accept.users` format: `user::password,user2::password2`. */
function parseUsers(spec: string, attributes: Record<string, Attributes>): StaticUser[] {
  return spec.split(',').map((pair) => {
    const i = pair.indexOf('::');
    const username = pair.slice(0, i).trim();
    return { username, password: pair.slice(i + 2), attributes: attributes[username] ?? {} };
  });
}

/** `{"user": {"attr": ["v1", "v2"] | "v"}}`; single values become one-element lists. */
function parseAttributes(json: string | undefined): Record<string, Attributes> | undefined {
  if (json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigurationError('Invalid configuration:\n  AUTHN_ACCEPT_USERS_ATTRIBUTES: must be valid JSON');
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigurationError('Invalid configuration:\n  AUTHN_ACCEPT_USERS_ATTRIBUTES: must be a JSON object keyed by username');
  }
  const out: Record<string, Attributes> = {};
  for (const [user, attrs] of Object.entries(parsed)) {
    if (!isPlainObject(attrs)) {
      throw new ConfigurationError(`Invalid configuration:\n  AUTHN_ACCEPT_USERS_ATTRIBUTES: attributes of '${user}' must be an object`);
    }
    out[user] = Object.fromEntries(
      Object.entries(attrs).map(([name, val]) => [name, (Array.isArray(val) ? val : [val]).map(String)]),
    );
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

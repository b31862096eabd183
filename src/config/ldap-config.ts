import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FilterParser } from 'ldapts';

// Directory sources, read from CAS's indexed properties in relaxed binding:
// `cas.authn.ldap[0].ldap-url` is CAS_AUTHN_LDAP_0_LDAP_URL. The variables of one source share the
// prefix `<PREFIX>_<n>_`; n need not be contiguous, sources are listed by n.

export type LdapAuthenticationType = 'AUTHENTICATED' | 'ANONYMOUS' | 'DIRECT' | 'AD';

/**
 * `password-policy.*` of a source: the shape of auth/ldap/password-policy.ts's
 * `PasswordPolicySettings`, spelled out because config imports no module above it.
 */
export interface LdapPasswordPolicyConfig {
  enabled: boolean;
  type: 'GENERIC' | 'AD';
  warningDays: number;
  passwordChangeUrl?: string;
}

/** How to reach a directory: what the authentication handler and the attribute repository share. */
export interface LdapConnectionConfig {
  /** Tried in this order (`ldap-url` is a space-separated list: failover). */
  urls: string[];
  useStartTls: boolean;
  /** PEM certificates of `trust-certificates`; undefined: Node's store. */
  trustCertificates?: string[];
  /** Undefined: anonymous (the service account of AUTHENTICATED and of attribute repositories). */
  bindDn?: string;
  bindCredential?: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  minPoolSize: number;
  maxPoolSize: number;
}

/** An attribute to read, and the name it is released under (`memberOf:groups`). */
export interface LdapAttributeMapping {
  attribute: string;
  name: string;
}

/** One `cas.authn.ldap[n]` source. */
export interface LdapSourceConfig extends LdapConnectionConfig {
  /** The n of the variables, for messages. */
  index: number;
  name: string;
  order: number;
  type: LdapAuthenticationType;
  baseDn?: string;
  subtreeSearch: boolean;
  /** The filter template, `{user}` (or CAS's `{0}`) standing for the name typed. */
  searchFilter: string;
  /** `uid=%s,ou=people,dc=example,dc=org` or `%s@example.org`: DIRECT and AD. */
  dnFormat?: string;
  /** The attribute whose value is the principal; undefined: the name typed. */
  principalAttributeId?: string;
  principalAttributeList: LdapAttributeMapping[];
  passwordPolicy: LdapPasswordPolicyConfig;
}

export const LDAP_AUTHN_PREFIX = 'CAS_AUTHN_LDAP';

/** CAS's defaults (`connect-timeout`/`response-timeout` PT5S, pool 3 to 10). */
const DEFAULTS = { connectTimeoutMs: 5000, responseTimeoutMs: 5000, minPoolSize: 3, maxPoolSize: 10 };
const TYPES: readonly LdapAuthenticationType[] = ['AUTHENTICATED', 'ANONYMOUS', 'DIRECT', 'AD'];
/** Default filters by type: OpenLDAP's uid, AD's sAMAccountName (CAS's documented examples). */
const DEFAULT_FILTERS: Record<LdapAuthenticationType, string> = {
  AUTHENTICATED: '(uid={user})',
  ANONYMOUS: '(uid={user})',
  DIRECT: '(uid={user})',
  AD: '(sAMAccountName={user})',
};
export const DEFAULT_LDAP_HANDLER_NAME = 'LdapAuthenticationHandler';

/**
 * The variables of one indexed source (`<PREFIX>_<n>_<KEY>`): reads each key once and at the end
 * names every key nobody read, so a misspelt setting stops the boot instead of being ignored.
 */
export class IndexedSource {
  private readonly read = new Set<string>();
  readonly errors: string[] = [];

  constructor(
    readonly prefix: string,
    readonly index: number,
    private readonly values: Map<string, string>,
  ) {}

  variable(key: string): string {
    return `${this.prefix}_${this.index}_${key}`;
  }

  string(key: string): string | undefined {
    this.read.add(key);
    const v = this.values.get(key)?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  /** Kept as written (a password may begin or end with a space). */
  secret(key: string): string | undefined {
    this.read.add(key);
    const v = this.values.get(key);
    return v === undefined || v === '' ? undefined : v;
  }

  required(key: string, why: string): string | undefined {
    const v = this.string(key);
    if (v === undefined) this.fail(key, `is required ${why}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.string(key)?.toLowerCase();
    if (v === undefined) return fallback;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(key, 'must be true or false');
    return fallback;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.string(key);
    if (v === undefined) return fallback;
    if (/^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max) return Number(v);
    this.fail(key, `must be an integer from ${min} to ${max}`);
    return fallback;
  }

  /** CAS's durations: ISO-8601 (`PT5S`, `PT0.5S`, `PT1M`) or a plain number of seconds (CAS's Beans.newDuration). */
  durationMs(key: string, fallback: number): number {
    const v = this.string(key);
    if (v === undefined) return fallback;
    const ms = parseDurationMs(v);
    if (ms !== undefined && ms > 0) return ms;
    this.fail(key, 'must be a duration such as PT5S or PT0.5S, or a number of seconds, greater than zero');
    return fallback;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(key)?.toUpperCase();
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.fail(key, `must be one of ${allowed.join(', ')}`);
    return fallback;
  }

  fail(key: string, message: string): void {
    this.errors.push(`${this.variable(key)}: ${message}`);
  }

  /** Every key of this source nobody read: unknown settings. */
  unknownKeys(): string[] {
    return [...this.values.keys()].filter((k) => !this.read.has(k)).map((k) => `${this.variable(k)}: is not a setting of ${this.prefix}_${this.index}`);
  }
}

/** The sources under `prefix` (`CAS_AUTHN_LDAP` → CAS_AUTHN_LDAP_0_*, CAS_AUTHN_LDAP_1_*, …), by n. */
export function indexedSources(env: Record<string, string | undefined>, prefix: string): IndexedSource[] {
  const pattern = new RegExp(`^${prefix}_(\\d+)_([A-Z0-9_]+)$`);
  const byIndex = new Map<number, Map<string, string>>();
  for (const [name, value] of Object.entries(env)) {
    const m = pattern.exec(name);
    if (!m || value === undefined || value === '') continue;
    const n = Number(m[1]);
    if (!byIndex.has(n)) byIndex.set(n, new Map());
    byIndex.get(n)!.set(m[2], value);
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([n, values]) => new IndexedSource(prefix, n, values));
}

/**
 * The connection settings CAS's LDAP sources share (`ldap-url`, `use-start-tls`,
 * `trust-certificates`, `bind-dn`, `bind-credential`, timeouts, pool sizes). `bindRequired`: the
 * source searches as a service account.
 */
export function ldapConnection(src: IndexedSource, bindRequired: boolean): LdapConnectionConfig {
  const urls = (src.required('LDAP_URL', '(ldap:// or ldaps:// URLs, space-separated)') ?? '').split(/\s+/).filter(Boolean);
  for (const url of urls) {
    if (!/^ldaps?:\/\/[^/?#\s]+\/?$/i.test(url)) src.fail('LDAP_URL', `'${url}' is not an ldap:// or ldaps:// URL of a host (and port)`);
  }
  const useStartTls = src.bool('USE_START_TLS', false);
  if (useStartTls && urls.some((u) => /^ldaps:/i.test(u))) src.fail('USE_START_TLS', 'cannot be used with an ldaps:// URL (the connection is already TLS)');
  const bindDn = src.string('BIND_DN');
  const bindCredential = src.secret('BIND_CREDENTIAL');
  if (bindRequired && bindDn === undefined) src.fail('BIND_DN', 'is required (the service account that searches)');
  if (bindDn !== undefined && bindCredential === undefined) src.fail('BIND_CREDENTIAL', `is required with ${src.variable('BIND_DN')}`);
  if (bindDn === undefined && bindCredential !== undefined) src.fail('BIND_DN', `is required with ${src.variable('BIND_CREDENTIAL')}`);
  const minPoolSize = src.int('MIN_POOL_SIZE', DEFAULTS.minPoolSize, 0, 1000);
  const maxPoolSize = src.int('MAX_POOL_SIZE', DEFAULTS.maxPoolSize, 1, 1000);
  if (minPoolSize > maxPoolSize) src.fail('MIN_POOL_SIZE', `must not exceed ${src.variable('MAX_POOL_SIZE')} (${maxPoolSize})`);
  return {
    urls,
    useStartTls,
    trustCertificates: trustCertificates(src),
    bindDn,
    bindCredential,
    connectTimeoutMs: src.durationMs('CONNECT_TIMEOUT', DEFAULTS.connectTimeoutMs),
    responseTimeoutMs: src.durationMs('RESPONSE_TIMEOUT', DEFAULTS.responseTimeoutMs),
    minPoolSize,
    maxPoolSize,
  };
}

/** The `cas.authn.ldap[n]` sources; one ConfigurationError-ready list of messages for everything wrong. */
export function ldapSources(env: Record<string, string | undefined>): { sources: LdapSourceConfig[]; errors: string[] } {
  const sources: LdapSourceConfig[] = [];
  const errors: string[] = [];
  const indexed = indexedSources(env, LDAP_AUTHN_PREFIX);
  for (const src of indexed) {
    const type = src.oneOf('TYPE', TYPES, 'AUTHENTICATED');
    const connection = ldapConnection(src, type === 'AUTHENTICATED');
    if (type !== 'AUTHENTICATED' && connection.bindDn !== undefined) src.fail('BIND_DN', `is only used by type AUTHENTICATED (this source is ${type})`);
    const searches = type === 'AUTHENTICATED' || type === 'ANONYMOUS';
    const baseDn = searches || type === 'AD' ? src.required('BASE_DN', `for type ${type} (where users are searched)`) : src.string('BASE_DN');
    const dnFormat = type === 'DIRECT' || type === 'AD' ? src.required('DN_FORMAT', `for type ${type} (e.g. uid=%s,ou=people,dc=example,dc=org or %s@example.org)`) : src.string('DN_FORMAT');
    if (dnFormat !== undefined && dnFormat.split('%s').length !== 2) src.fail('DN_FORMAT', 'must contain %s exactly once');
    const searchFilter = src.string('SEARCH_FILTER') ?? DEFAULT_FILTERS[type];
    if (!/\{(user|0)\}/.test(searchFilter)) src.fail('SEARCH_FILTER', 'must contain {user} (or {0}) where the username goes');
    else if (!parsesAsFilter(searchFilter)) src.fail('SEARCH_FILTER', `'${searchFilter}' is not an LDAP filter (RFC 4515)`);
    const order = src.int('ORDER', 0, -2147483648, 2147483647);
    const name = src.string('NAME') ?? (src === indexed[0] ? DEFAULT_LDAP_HANDLER_NAME : `${DEFAULT_LDAP_HANDLER_NAME}-${src.index}`);
    if (!/^[\x21-\x7e]([\x20-\x7e]{0,98}[\x21-\x7e])?$/.test(name)) src.fail('NAME', 'must be 1 to 100 printable ASCII characters, not starting or ending with a space');
    const principalAttributeList = attributeMappings(src, 'PRINCIPAL_ATTRIBUTE_LIST');
    const principalAttributeId = src.string('PRINCIPAL_ATTRIBUTE_ID');
    if (principalAttributeId !== undefined && !ATTRIBUTE.test(principalAttributeId)) src.fail('PRINCIPAL_ATTRIBUTE_ID', 'must be an attribute name');
    const passwordPolicy: LdapPasswordPolicyConfig = {
      enabled: src.bool('PASSWORD_POLICY_ENABLED', false),
      type: src.oneOf('PASSWORD_POLICY_TYPE', ['GENERIC', 'AD'] as const, type === 'AD' ? 'AD' : 'GENERIC'),
      warningDays: src.int('PASSWORD_POLICY_WARNING_DAYS', 30, 0, 3650),
      passwordChangeUrl: src.string('PASSWORD_POLICY_PASSWORD_CHANGE_URL'),
    };
    if (passwordPolicy.passwordChangeUrl !== undefined && !/^https?:\/\/\S+$/.test(passwordPolicy.passwordChangeUrl)) {
      src.fail('PASSWORD_POLICY_PASSWORD_CHANGE_URL', 'must be an http(s) URL');
    }
    const subtreeSearch = src.bool('SUBTREE_SEARCH', true);
    errors.push(...src.errors, ...src.unknownKeys());
    sources.push({
      index: src.index,
      name,
      order,
      type,
      ...connection,
      baseDn,
      subtreeSearch,
      searchFilter,
      dnFormat,
      principalAttributeId,
      principalAttributeList,
      passwordPolicy,
    });
  }
  // Each handler's name is what the session records (authenticationMethod): two alike would be one.
  const seen = new Map<string, number>();
  for (const s of sources) {
    const other = seen.get(s.name);
    if (other !== undefined) errors.push(`${LDAP_AUTHN_PREFIX}_${s.index}_NAME: '${s.name}' is already the name of ${LDAP_AUTHN_PREFIX}_${other}`);
    seen.set(s.name, s.index);
  }
  return { sources, errors };
}

/** The handler parses the template with ldapts too (auth/ldap/ldap-escaping.ts): a bad one stops the boot here. */
function parsesAsFilter(template: string): boolean {
  try {
    FilterParser.parseString(template);
    return true;
  } catch {
    return false;
  }
}

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)+$/;

/** CAS's `cn,mail,memberOf:groups`: attributes to read, each optionally released under another name. */
export function attributeMappings(src: IndexedSource, key: string): LdapAttributeMapping[] {
  const v = src.string(key);
  if (v === undefined) return [];
  const out: LdapAttributeMapping[] = [];
  for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [attribute, name = attribute, ...rest] = item.split(':').map((s) => s.trim());
    if (rest.length || !ATTRIBUTE.test(attribute) || !name) {
      src.fail(key, `'${item}' is not attribute or attribute:name`);
      continue;
    }
    out.push({ attribute, name });
  }
  return out;
}

function trustCertificates(src: IndexedSource): string[] | undefined {
  const path = src.string('TRUST_CERTIFICATES');
  if (path === undefined) return undefined;
  // CAS takes Spring resource syntax: `file:/etc/cas/ca.pem` or a plain path.
  const file = resolve(path.replace(/^file:(\/\/)?/, ''));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    src.fail('TRUST_CERTIFICATES', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g) ?? [];
  if (!certs.length) src.fail('TRUST_CERTIFICATES', `no PEM certificate in ${path}`);
  return certs;
}

/** ISO-8601 `PnDTnHnMn.nS` (Java's Duration.parse) or plain seconds, in milliseconds; undefined when neither. */
export function parseDurationMs(text: string): number | undefined {
  const v = text.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(v);
  if (!m || v.length < 3 || /T$/i.test(v)) return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
  return Math.round((((d * 24 + h) * 60 + min) * 60 + s) * 1000);
}

/** One `cas.authn.attribute-repository.ldap[n]` repository: attributes about a user from a directory. */
export interface LdapAttributeRepositoryConfig extends LdapConnectionConfig {
  index: number;
  /** CAS's repository `id`, in the log and in resolveAttributes. */
  id: string;
  order: number;
  baseDn: string;
  subtreeSearch: boolean;
  /** `{user}` (or `{0}`) stands for the principal. */
  searchFilter: string;
  /** `cn,mail,memberOf:groups`: read, each under its release name. */
  attributes: LdapAttributeMapping[];
}

export const LDAP_ATTRIBUTE_REPOSITORY_PREFIX = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP';

/**
 * `cas.authn.attribute-repository.ldap[n].*` (CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_<n>_*): the
 * connection keys of an authentication source (ldap-url, use-start-tls, trust-certificates,
 * bind-dn, bind-credential, timeouts, pool sizes), base-dn, subtree-search, search-filter, id,
 * order, and `attributes`. CAS's `attributes` is a map (`attributes.cn=commonName`), whose keys
 * relaxed binding upper-cases; here it is the principal-attribute-list form `cn:commonName,mail`.
 */
export function ldapAttributeRepositories(env: Record<string, string | undefined>): { repositories: LdapAttributeRepositoryConfig[]; errors: string[] } {
  const repositories: LdapAttributeRepositoryConfig[] = [];
  const errors: string[] = [];
  const indexed = indexedSources(env, LDAP_ATTRIBUTE_REPOSITORY_PREFIX);
  for (const src of indexed) {
    const connection = ldapConnection(src, false);
    const baseDn = src.required('BASE_DN', '(where users are searched)') ?? '';
    const searchFilter = src.string('SEARCH_FILTER') ?? '(uid={user})';
    if (!/\{(user|0)\}/.test(searchFilter)) src.fail('SEARCH_FILTER', 'must contain {user} (or {0}) where the username goes');
    else if (!parsesAsFilter(searchFilter)) src.fail('SEARCH_FILTER', `'${searchFilter}' is not an LDAP filter (RFC 4515)`);
    const attributes = attributeMappings(src, 'ATTRIBUTES');
    if (!attributes.length) src.fail('ATTRIBUTES', 'is required (the attributes to read, e.g. cn,mail,memberOf:groups)');
    const id = src.string('ID') ?? (src === indexed[0] ? 'LdapAttributeRepository' : `LdapAttributeRepository-${src.index}`);
    const order = src.int('ORDER', 0, -2147483648, 2147483647);
    const subtreeSearch = src.bool('SUBTREE_SEARCH', true);
    errors.push(...src.errors, ...src.unknownKeys());
    repositories.push({ index: src.index, id, order, ...connection, baseDn, subtreeSearch, searchFilter, attributes });
  }
  return { repositories, errors };
}

/**
 * A registered service in Apereo CAS's JSON format (`@class`, `serviceId`, `name`, `id`, …).
 * The whole definition is kept; the fields this server acts on are lifted into typed properties.
 */
export interface RegisteredService {
  id: number;
  name: string;
  serviceId: string;
  evaluationOrder: number;
  enabled: boolean;
  ssoEnabled: boolean;
  /** accessStrategy rules on principal attributes; an empty map lets everyone in. */
  access: AccessRules;
  logoutType: 'BACK_CHANNEL' | 'FRONT_CHANNEL' | 'NONE';
  logoutUrl?: string;
  attributeRelease: AttributeReleasePolicy;
  /** `ticketGrantingTicketExpirationPolicy.maxTimeToLiveInSeconds`: hard lifetime of sessions created for it. */
  tgtMaxTimeToLiveSeconds?: number;
  /** `serviceTicketExpirationPolicy`: uses and lifetime of its STs, each falling back to the global setting. */
  stPolicy?: { numberOfUses?: number; timeToLiveSeconds?: number };
  /** `proxyTicketExpirationPolicy`: uses and lifetime of the PTs issued for it (as target service). */
  ptPolicy?: { numberOfUses?: number; timeToLiveSeconds?: number };
  /** `proxyPolicy`: which pgtUrl callbacks may obtain a PGT from its tickets; CAS's default refuses all. */
  proxyPolicy: ProxyPolicy;
  definition: Record<string, unknown>;
}

export interface AccessRules {
  /** Attribute name -> value patterns (regular expressions, full match); one value must match per attribute. */
  requiredAttributes: Record<string, string[]>;
  /** true: every listed attribute must be satisfied; false: any one suffices. */
  requireAll: boolean;
  caseInsensitive: boolean;
  /** Where to send the browser when access is denied, instead of the error page. */
  unauthorizedRedirectUrl?: string;
}

/**
 * RefuseRegisteredServiceProxyPolicy, or RegexMatchingRegisteredServiceProxyPolicy whose `pattern`
 * must match the whole pgtUrl, ignoring case (as `serviceId` does; stricter than a partial match,
 * so a pattern cannot be satisfied by a URL that merely contains an allowed host).
 */
export type ProxyPolicy = { kind: 'refuse' } | { kind: 'regex'; pattern: RegExp };

export type AttributeReleasePolicy =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'allowed'; names: string[] };

export class InvalidServiceDefinition extends Error {}

const SERVICE_CLASSES = new Set([
  'org.apereo.cas.services.CasRegisteredService',
  'org.apereo.cas.services.RegexRegisteredService',
]);

/** Fields this server understands today; others are kept in `definition` and reported once at import. */
export const SUPPORTED_FIELDS = new Set([
  '@class', 'id', 'name', 'serviceId', 'description', 'evaluationOrder', 'logoutType', 'logoutUrl',
  'accessStrategy', 'attributeReleasePolicy', 'ticketGrantingTicketExpirationPolicy', 'serviceTicketExpirationPolicy',
  'proxyPolicy', 'proxyTicketExpirationPolicy',
]);

/** Validates one CAS JSON service definition; throws InvalidServiceDefinition naming the field at fault. */
export function parseServiceDefinition(json: unknown): RegisteredService {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidServiceDefinition('not a JSON object');
  const d = json as Record<string, unknown>;
  const cls = d['@class'];
  if (typeof cls !== 'string' || !SERVICE_CLASSES.has(cls)) {
    throw new InvalidServiceDefinition(`@class: expected one of ${[...SERVICE_CLASSES].join(', ')}`);
  }
  if (typeof d.id !== 'number' || !Number.isSafeInteger(d.id) || d.id < 0) throw new InvalidServiceDefinition('id: must be a non-negative integer');
  if (typeof d.name !== 'string' || !d.name.trim() || d.name.length > 255) throw new InvalidServiceDefinition('name: required, at most 255 characters');
  if (typeof d.serviceId !== 'string' || !d.serviceId) throw new InvalidServiceDefinition('serviceId: required regular expression');
  compileServicePattern(d.serviceId);
  const evaluationOrder = d.evaluationOrder ?? 0;
  if (typeof evaluationOrder !== 'number' || !Number.isInteger(evaluationOrder)) throw new InvalidServiceDefinition('evaluationOrder: must be an integer');
  const logoutType = d.logoutType ?? 'BACK_CHANNEL';
  if (logoutType !== 'BACK_CHANNEL' && logoutType !== 'FRONT_CHANNEL' && logoutType !== 'NONE') {
    throw new InvalidServiceDefinition('logoutType: BACK_CHANNEL, FRONT_CHANNEL or NONE');
  }
  if (d.logoutUrl !== undefined && typeof d.logoutUrl !== 'string') throw new InvalidServiceDefinition('logoutUrl: must be a string');
  const access = (d.accessStrategy ?? {}) as Record<string, unknown>;
  if (typeof access !== 'object') throw new InvalidServiceDefinition('accessStrategy: must be an object');
  return {
    id: d.id,
    name: d.name,
    serviceId: d.serviceId,
    evaluationOrder,
    enabled: flag(access.enabled, 'accessStrategy.enabled'),
    ssoEnabled: flag(access.ssoEnabled, 'accessStrategy.ssoEnabled'),
    access: parseAccessRules(access),
    logoutType,
    logoutUrl: d.logoutUrl as string | undefined,
    attributeRelease: parseReleasePolicy(d.attributeReleasePolicy),
    tgtMaxTimeToLiveSeconds: parseTgtPolicy(d.ticketGrantingTicketExpirationPolicy),
    stPolicy: parseTicketPolicy(d.serviceTicketExpirationPolicy, 'serviceTicketExpirationPolicy'),
    ptPolicy: parseTicketPolicy(d.proxyTicketExpirationPolicy, 'proxyTicketExpirationPolicy'),
    proxyPolicy: parseProxyPolicy(d.proxyPolicy),
    definition: d,
  };
}

/** DefaultRegisteredServiceTicketGrantingTicketExpirationPolicy: `maxTimeToLiveInSeconds` > 0 applies. */
function parseTgtPolicy(p: unknown): number | undefined {
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition('ticketGrantingTicketExpirationPolicy: must be an object');
  const v = numeric((p as Record<string, unknown>).maxTimeToLiveInSeconds, 'ticketGrantingTicketExpirationPolicy.maxTimeToLiveInSeconds');
  return v !== undefined && v > 0 ? v : undefined;
}

/**
 * DefaultRegisteredServiceServiceTicketExpirationPolicy and its proxy-ticket twin
 * DefaultRegisteredServiceProxyTicketExpirationPolicy: `numberOfUses`, `timeToLive` (seconds, often a string).
 */
function parseTicketPolicy(p: unknown, field: string): RegisteredService['stPolicy'] {
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition(`${field}: must be an object`);
  const o = p as Record<string, unknown>;
  const numberOfUses = numeric(o.numberOfUses, `${field}.numberOfUses`);
  const timeToLiveSeconds = numeric(o.timeToLive, `${field}.timeToLive`);
  if (numberOfUses !== undefined && numberOfUses < 1) throw new InvalidServiceDefinition(`${field}.numberOfUses: at least 1`);
  if (timeToLiveSeconds !== undefined && (timeToLiveSeconds < 1 || timeToLiveSeconds > 300)) {
    throw new InvalidServiceDefinition(`${field}.timeToLive: 1 to 300 seconds`);
  }
  return { numberOfUses, timeToLiveSeconds };
}

const PROXY_POLICIES = {
  refuse: 'org.apereo.cas.services.RefuseRegisteredServiceProxyPolicy',
  regex: 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy',
};

/** An unknown policy class is refused rather than ignored: ignoring it could only fail open or hide a typo. */
function parseProxyPolicy(p: unknown): ProxyPolicy {
  if (p === undefined || p === null) return { kind: 'refuse' };
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition('proxyPolicy: must be an object');
  const o = p as Record<string, unknown>;
  const cls = o['@class'];
  if (cls === PROXY_POLICIES.refuse) return { kind: 'refuse' };
  if (cls !== PROXY_POLICIES.regex) {
    throw new InvalidServiceDefinition(`proxyPolicy.@class: expected ${PROXY_POLICIES.refuse} or ${PROXY_POLICIES.regex}`);
  }
  if (typeof o.pattern !== 'string' || !o.pattern) throw new InvalidServiceDefinition('proxyPolicy.pattern: required regular expression');
  try {
    return { kind: 'regex', pattern: compileServicePattern(o.pattern) };
  } catch {
    throw new InvalidServiceDefinition('proxyPolicy.pattern: invalid regular expression');
  }
}

/** Whether the policy lets this callback URL obtain a PGT (https is checked separately, by the caller). */
export function proxyCallbackAllowed(policy: ProxyPolicy, pgtUrl: string): boolean {
  return policy.kind === 'regex' && policy.pattern.test(pgtUrl);
}

/**
 * A boolean given as JSON true/false or the strings "true"/"false" (Jackson accepts both); absent
 * gives `absent`. Anything else is refused rather than guessed: a misread `enabled` would fail open.
 */
function flag(v: unknown, field: string, absent = true): boolean {
  if (v === undefined || v === null) return absent;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new InvalidServiceDefinition(`${field}: must be true or false`);
}

/** An integer given as a JSON number or a decimal string (Jackson accepts both). */
function numeric(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new InvalidServiceDefinition(`${field}: must be an integer`);
  return n;
}

function parseAccessRules(a: Record<string, unknown>): AccessRules {
  const required: Record<string, string[]> = {};
  const map = a.requiredAttributes;
  if (map !== undefined && map !== null) {
    if (typeof map !== 'object' || Array.isArray(map)) throw new InvalidServiceDefinition('accessStrategy.requiredAttributes: must be a map');
    for (const [name, values] of Object.entries(map as Record<string, unknown>)) {
      if (name === '@class') continue;
      required[name] = javaCollection(values, `accessStrategy.requiredAttributes.${name}`);
      for (const v of required[name]) {
        try {
          new RegExp(v);
        } catch {
          throw new InvalidServiceDefinition(`accessStrategy.requiredAttributes.${name}: invalid pattern '${v}'`);
        }
      }
    }
  }
  const redirect = a.unauthorizedRedirectUrl;
  if (redirect !== undefined && (typeof redirect !== 'string' || !/^https?:\/\/[\x21-\x7e]+$/.test(redirect))) {
    throw new InvalidServiceDefinition('accessStrategy.unauthorizedRedirectUrl: must be an http(s) URL');
  }
  return {
    requiredAttributes: required,
    requireAll: flag(a.requireAllAttributes, 'accessStrategy.requireAllAttributes'),
    caseInsensitive: flag(a.caseInsensitive, 'accessStrategy.caseInsensitive', false),
    unauthorizedRedirectUrl: redirect as string | undefined,
  };
}

/**
 * CAS's default release policy (none given) is ReturnAllowedAttributeReleasePolicy with no
 * attributes: nothing but the protocol attributes is released.
 */
function parseReleasePolicy(p: unknown): AttributeReleasePolicy {
  if (p === undefined || p === null) return { kind: 'allowed', names: [] };
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition('attributeReleasePolicy: must be an object');
  const policy = p as Record<string, unknown>;
  const cls = String(policy['@class'] ?? '');
  if (cls.endsWith('.ReturnAllAttributeReleasePolicy')) return { kind: 'all' };
  if (cls.endsWith('.DenyAllAttributeReleasePolicy')) return { kind: 'none' };
  if (cls.endsWith('.ReturnAllowedAttributeReleasePolicy')) {
    return { kind: 'allowed', names: javaCollection(policy.allowedAttributes, 'attributeReleasePolicy.allowedAttributes') };
  }
  throw new InvalidServiceDefinition(`attributeReleasePolicy.@class: unsupported '${cls}'`);
}

/** Jackson writes collections either as a plain array or as `["java.util.ArrayList", [ … ]]`. */
function javaCollection(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[0].startsWith('java.util.') && Array.isArray(v[1])) {
    return v[1].map(String);
  }
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return [v];
  throw new InvalidServiceDefinition(`${field}: must be a list`);
}

/**
 * `serviceId` is a Java regex that must match the whole URL (CAS 7 full-match strategy), ignoring
 * case as CAS compiles it (RegexUtils.createPattern uses CASE_INSENSITIVE). A leading `(?i)`,
 * common in CAS definitions and redundant then, is dropped: JavaScript has no inline flags.
 */
export function compileServicePattern(serviceId: string): RegExp {
  const source = serviceId.startsWith('(?i)') ? serviceId.slice(4) : serviceId;
  try {
    return new RegExp(`^(?:${source})$`, 'i');
  } catch (e) {
    throw new InvalidServiceDefinition(`serviceId: invalid regular expression (${(e as Error).message})`);
  }
}

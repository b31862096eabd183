import { nulPath } from '../common/text';
import { FAILURE_MODES, type FailureMode, MFA_PROVIDER_IDS } from '../config/mfa-config';
import { compileWholeMatch, type MultifactorPolicy } from './multifactor-policy';

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
  /** `multifactorPolicy`: the providers a login to it needs, bypass rules, failure mode (multifactor-policy.ts). */
  multifactorPolicy?: MultifactorPolicy;
  /** The `maximumAllowedSessions` property: live sessions a user may hold after logging in to it (replaces the global maximum). */
  maximumAllowedSessions?: number;
  definition: Record<string, unknown>;
}

export interface AccessRules {
  /** Attribute name -> value patterns (regular expressions, full match); one value must match per attribute. */
  requiredAttributes: Record<string, string[]>;
  /** Attribute name -> value patterns: a principal value in which one of them is found denies access. */
  rejectedAttributes: Record<string, string[]>;
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

/**
 * Every top-level field of a CAS service definition, by what this server does with it. The rule is
 * fail closed: a field that can narrow who gets in, what is released, or how a user must
 * authenticate, and that this server does not implement, makes the whole definition invalid (the
 * import reports the file, the API answers 400, naming the field), because ignoring it would let
 * in people the operator meant to keep out. A field that only describes or decorates is kept in
 * `definition` and warned about once. A field in none of these lists is refused too: it may be a
 * typo of a rule (`acessStrategy`) or a CAS feature with security meaning this list does not know.
 */
export const SERVICE_FIELDS = {
  /** Read and enforced (each one's parser refuses the values it does not implement). */
  implemented: new Set([
    '@class', 'id', 'name', 'serviceId', 'description', 'evaluationOrder', 'logoutType', 'logoutUrl',
    'accessStrategy', 'attributeReleasePolicy', 'ticketGrantingTicketExpirationPolicy', 'serviceTicketExpirationPolicy',
    'proxyPolicy', 'proxyTicketExpirationPolicy', 'multifactorPolicy',
    // Only CAS's defaults, which are what this server does: the full-match serviceId strategy and
    // the principal id as username.
    'matchingStrategy', 'usernameAttributeProvider',
  ]),
  /** Presentation and bookkeeping only: nothing about access, release or authentication. */
  ignored: new Set([
    'theme', 'informationUrl', 'privacyUrl', 'logo', 'contacts', 'properties', 'locale', 'friendlyName',
    'templateName', 'responseType', 'redirectUrl', 'webflowInterruptPolicy',
  ]),
  /**
   * Security rules this server does not implement: accepted only when inert (absent, null, empty,
   * or CAS's default that enforces nothing), refused otherwise.
   */
  refusedUnlessInert: new Map<string, Record<string, unknown>>([
    ['authenticationPolicy', {}],
    ['requiredHandlers', {}],
    ['environments', {}],
    ['supportedProtocols', {}],
    ['singleSignOnParticipationPolicy', {}],
    ['publicKey', {}],
    ['expirationPolicy', {}],
    ['passwordlessPolicy', {}],
    ['surrogatePolicy', {}],
    // CAS's DefaultRegisteredServiceAcceptableUsagePolicy is `enabled: true` with no terms of its own.
    ['acceptableUsagePolicy', { enabled: true }],
  ]),
};

/** Top-level fields kept but not acted on, for the import's warning. */
export function ignoredFields(definition: Record<string, unknown>): string[] {
  return Object.keys(definition).filter((k) => SERVICE_FIELDS.ignored.has(k) && (k !== 'properties' || hasIgnoredProperty(definition.properties)));
}

/** `properties` holding `maximumAllowedSessions` and nothing else is acted on: no warning then. */
function hasIgnoredProperty(properties: unknown): boolean {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return true;
  const keys = Object.keys(properties).filter((k) => k !== '@class');
  return !(keys.length > 0 && keys.every((k) => k === 'maximumAllowedSessions'));
}

/** Validates one CAS JSON service definition; throws InvalidServiceDefinition naming the field at fault. */
export function parseServiceDefinition(json: unknown): RegisteredService {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidServiceDefinition('not a JSON object');
  // The registry stores definitions as jsonb, which cannot hold a NUL (\u0000): refused here, for
  // the API, the console and the JSON files alike, rather than failing in Postgres.
  const nul = nulPath(json);
  if (nul) throw new InvalidServiceDefinition(`${nul}: must not contain a NUL character`);
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
  refuseUnimplementedFields(d);
  const access = parseAccessStrategyObject(d.accessStrategy);
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
    multifactorPolicy: parseMultifactorPolicy(d.multifactorPolicy),
    maximumAllowedSessions: parseMaximumAllowedSessions(d.properties),
    definition: d,
  };
}

/**
 * `properties.maximumAllowedSessions`, a DefaultRegisteredServiceProperty as CAS writes it
 * (`{"@class": "…DefaultRegisteredServiceProperty", "values": ["java.util.HashSet", ["2"]]}`):
 * one whole number, at least 1. The other properties stay decoration; this one limits who gets
 * in, so a value it cannot read makes the definition invalid rather than being ignored.
 */
function parseMaximumAllowedSessions(properties: unknown): number | undefined {
  const field = 'properties.maximumAllowedSessions';
  if (properties === undefined || properties === null || typeof properties !== 'object' || Array.isArray(properties)) return undefined;
  const p = (properties as Record<string, unknown>).maximumAllowedSessions;
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition(`${field}: must be an object with "values"`);
  const values = javaCollection((p as Record<string, unknown>).values, `${field}.values`);
  if (values.length !== 1) throw new InvalidServiceDefinition(`${field}.values: exactly one value`);
  const n = numeric(values[0], `${field}.values`);
  if (n === undefined || n < 1 || n > 100_000) throw new InvalidServiceDefinition(`${field}.values: a whole number from 1 to 100000`);
  return n;
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

const MULTIFACTOR_POLICY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy';

/**
 * The fields of DefaultRegisteredServiceMultifactorPolicy. Every one is about how a user must
 * authenticate, so anything not implemented is refused unless inert: `script` (a Groovy trigger;
 * no script engine here) and `bypassForRequestIpAddress` (a bypass by client address) among them.
 */
const MULTIFACTOR_POLICY_FIELDS = new Set([
  '@class', 'multifactorAuthenticationProviders', 'failureMode', 'bypassEnabled', 'bypassPrincipalAttributeName',
  'bypassPrincipalAttributeValue', 'bypassIfMissingPrincipalAttribute', 'forceExecution', 'bypassTrustedDeviceEnabled',
  'principalAttributeNameTrigger', 'principalAttributeValueToMatch',
]);

/**
 * `multifactorPolicy`. A provider id this server does not have is refused (fail closed: a typo or
 * a provider not installed must not turn MFA off for the service, and CAS itself cannot honour
 * it either). Patterns that do not compile are refused, not read as "never matches".
 */
function parseMultifactorPolicy(p: unknown, knownProviders: readonly string[] = MFA_PROVIDER_IDS): MultifactorPolicy | undefined {
  if (p === undefined || p === null) return undefined;
  const field = 'multifactorPolicy';
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidServiceDefinition(`${field}: must be an object`);
  const o = p as Record<string, unknown>;
  if (o['@class'] !== undefined && o['@class'] !== MULTIFACTOR_POLICY_CLASS) {
    throw new InvalidServiceDefinition(`${field}.@class: '${String(o['@class'])}' is not implemented here; only ${MULTIFACTOR_POLICY_CLASS}`);
  }
  for (const key of Object.keys(o)) {
    if (MULTIFACTOR_POLICY_FIELDS.has(key)) continue;
    const active = activeField(o[key], `${field}.${key}`);
    if (active) throw new InvalidServiceDefinition(`${active}: not implemented by this server; refused rather than ignored`);
  }
  const providers = [...new Set(javaCollection(o.multifactorAuthenticationProviders, `${field}.multifactorAuthenticationProviders`))];
  for (const id of providers) {
    if (!knownProviders.includes(id)) {
      throw new InvalidServiceDefinition(`${field}.multifactorAuthenticationProviders: unknown multi-factor provider '${id.slice(0, 50)}' (known: ${knownProviders.join(', ')})`);
    }
  }
  const failureMode = o.failureMode ?? 'UNDEFINED';
  if (typeof failureMode !== 'string' || !(FAILURE_MODES as readonly string[]).includes(failureMode)) {
    throw new InvalidServiceDefinition(`${field}.failureMode: ${FAILURE_MODES.join(', ')}`);
  }
  const text = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null || (typeof v === 'string' && !v.trim())) return undefined;
    if (typeof v !== 'string') throw new InvalidServiceDefinition(`${field}.${key}: must be a string`);
    return v.trim();
  };
  const pattern = (key: string, source: string, ignoreCase: boolean): RegExp => {
    try {
      return compileWholeMatch(source, ignoreCase);
    } catch {
      throw new InvalidServiceDefinition(`${field}.${key}: invalid regular expression '${source.slice(0, 100)}'`);
    }
  };
  const bypassValue = text('bypassPrincipalAttributeValue');
  const triggerNames = text('principalAttributeNameTrigger');
  const triggerValue = text('principalAttributeValueToMatch');
  return {
    providers,
    failureMode: failureMode as FailureMode,
    bypassEnabled: flag(o.bypassEnabled, `${field}.bypassEnabled`, false),
    bypassPrincipalAttributeName: text('bypassPrincipalAttributeName'),
    // CAS splits the value on commas (commaDelimitedListToSet) and matches each as a pattern, ignoring case.
    bypassPrincipalAttributeValue: bypassValue?.split(',').map((v) => v.trim()).filter(Boolean).map((v) => pattern('bypassPrincipalAttributeValue', v, true)),
    bypassIfMissingPrincipalAttribute: flag(o.bypassIfMissingPrincipalAttribute, `${field}.bypassIfMissingPrincipalAttribute`, false),
    forceExecution: flag(o.forceExecution, `${field}.forceExecution`, false),
    bypassTrustedDeviceEnabled: flag(o.bypassTrustedDeviceEnabled, `${field}.bypassTrustedDeviceEnabled`, false),
    principalAttributeNameTrigger: triggerNames?.split(',').map((n) => n.trim()).filter(Boolean),
    principalAttributeValueToMatch: triggerValue === undefined ? undefined : pattern('principalAttributeValueToMatch', triggerValue, true),
  };
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

const ACCESS_STRATEGY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy';

/**
 * The fields of DefaultRegisteredServiceAccessStrategy, by what this server does with them. Every
 * field of an access strategy is about who gets in, so anything not listed is refused.
 */
export const ACCESS_STRATEGY_FIELDS = {
  implemented: new Set([
    '@class', 'enabled', 'ssoEnabled', 'requireAllAttributes', 'requiredAttributes', 'rejectedAttributes', 'caseInsensitive',
    'unauthorizedRedirectUrl',
    // Only orders strategies inside a chain, and chains are refused.
    'order',
  ]),
  /**
   * Not implemented: accepted only when inert. There is no delegated authentication here, so a
   * policy that allows no provider (CAS's default, `permitUndefined: true` with an empty list)
   * changes nothing; one that names providers or demands exclusivity is refused. Activation
   * criteria and time windows would switch the rules on or off: refused.
   */
  refusedUnlessInert: new Map<string, Record<string, unknown>>([
    ['delegatedAuthenticationPolicy', { permitUndefined: true }],
    ['activationCriteria', {}],
    ['startingDateTime', {}],
    ['endingDateTime', {}],
    ['zoneId', {}],
  ]),
};

/**
 * The access strategy object: DefaultRegisteredServiceAccessStrategy, or no `@class` (the same
 * default). Any other class (TimeBased…, RemoteEndpoint…, Grouper…, Groovy…, Chaining…, ABAC
 * variants) is refused: this server would enforce only part of its rules.
 */
function parseAccessStrategyObject(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidServiceDefinition('accessStrategy: must be an object');
  const a = v as Record<string, unknown>;
  const cls = a['@class'];
  if (cls !== undefined && cls !== ACCESS_STRATEGY_CLASS) {
    throw new InvalidServiceDefinition(`accessStrategy.@class: '${String(cls)}' is not implemented here; only ${ACCESS_STRATEGY_CLASS}`);
  }
  for (const key of Object.keys(a)) {
    if (ACCESS_STRATEGY_FIELDS.implemented.has(key)) continue;
    const defaults = ACCESS_STRATEGY_FIELDS.refusedUnlessInert.get(key);
    const active = defaults ? activeField(a[key], `accessStrategy.${key}`, defaults) : `accessStrategy.${key}`;
    if (active) throw new InvalidServiceDefinition(`${active}: not implemented by this server; refused rather than ignored`);
  }
  return a;
}

/** Top-level fields: see SERVICE_FIELDS. */
function refuseUnimplementedFields(d: Record<string, unknown>): void {
  for (const key of Object.keys(d)) {
    if (SERVICE_FIELDS.implemented.has(key) || SERVICE_FIELDS.ignored.has(key)) continue;
    const defaults = SERVICE_FIELDS.refusedUnlessInert.get(key);
    if (!defaults) throw new InvalidServiceDefinition(`${key}: unknown field; refused rather than ignored (it may be a rule this server does not enforce)`);
    const active = activeField(d[key], key, defaults);
    if (active) throw new InvalidServiceDefinition(`${active}: not implemented by this server; refused rather than ignored`);
  }
  const matching = d.matchingStrategy;
  if (matching !== undefined && matching !== null) {
    const cls = typeof matching === 'object' && !Array.isArray(matching) ? (matching as Record<string, unknown>)['@class'] : undefined;
    if (cls !== 'org.apereo.cas.services.FullRegexRegisteredServiceMatchingStrategy') {
      throw new InvalidServiceDefinition('matchingStrategy.@class: only org.apereo.cas.services.FullRegexRegisteredServiceMatchingStrategy (serviceId matches the whole URL)');
    }
  }
  const username = d.usernameAttributeProvider;
  if (username !== undefined && username !== null) {
    const cls = typeof username === 'object' && !Array.isArray(username) ? (username as Record<string, unknown>)['@class'] : undefined;
    if (cls !== 'org.apereo.cas.services.DefaultRegisteredServiceUsernameProvider') {
      throw new InvalidServiceDefinition('usernameAttributeProvider.@class: only org.apereo.cas.services.DefaultRegisteredServiceUsernameProvider (the principal id)');
    }
    const active = activeField(username, 'usernameAttributeProvider', { canonicalizationMode: 'NONE' });
    if (active) throw new InvalidServiceDefinition(`${active}: not implemented by this server; refused rather than ignored`);
  }
}

/**
 * The path of the first part of `v` that would do something, or null when it is inert: absent,
 * null, false, 0, '', an empty list (Jackson's `["java.util.X", []]` too), an object whose fields
 * are all inert or equal to the given CAS defaults. The field's own `@class` does not count (CAS
 * writes its default class with nothing in it); a class nested deeper does (a criteria or policy
 * object can act by its class alone), unless it is a plain Java collection.
 */
function activeField(v: unknown, path: string, defaults: Record<string, unknown> = {}, nested = false): string | null {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return null;
  if (Array.isArray(v)) {
    const items = v.length === 2 && typeof v[0] === 'string' && v[0].startsWith('java.util.') && Array.isArray(v[1]) ? v[1] : v;
    return items.length === 0 ? null : path;
  }
  if (typeof v === 'object') {
    for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
      if (k === '@class' && (!nested || String(value).startsWith('java.util.'))) continue;
      if (k in defaults && value === defaults[k]) continue;
      const active = k === '@class' ? `${path}.@class` : activeField(value, `${path}.${k}`, {}, true);
      if (active) return active;
    }
    return null;
  }
  return path;
}

/** `requiredAttributes` / `rejectedAttributes`: attribute name -> value patterns. */
function attributePatterns(map: unknown, field: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (map === undefined || map === null) return out;
  if (typeof map !== 'object' || Array.isArray(map)) throw new InvalidServiceDefinition(`${field}: must be a map`);
  for (const [name, values] of Object.entries(map as Record<string, unknown>)) {
    if (name === '@class') continue;
    out[name] = javaCollection(values, `${field}.${name}`);
    for (const v of out[name]) {
      // CAS runs `groovy { … }` values as inline scripts; as a pattern it would match nothing, so a
      // rejected rule would never reject. There is no script engine here: refuse.
      if (/^\s*groovy\s*\{/i.test(v)) throw new InvalidServiceDefinition(`${field}.${name}: Groovy scripts are not implemented here`);
      try {
        new RegExp(v);
      } catch {
        throw new InvalidServiceDefinition(`${field}.${name}: invalid pattern '${v}'`);
      }
    }
  }
  return out;
}

function parseAccessRules(a: Record<string, unknown>): AccessRules {
  const redirect = a.unauthorizedRedirectUrl;
  if (redirect !== undefined && (typeof redirect !== 'string' || !/^https?:\/\/[\x21-\x7e]+$/.test(redirect))) {
    throw new InvalidServiceDefinition('accessStrategy.unauthorizedRedirectUrl: must be an http(s) URL');
  }
  return {
    requiredAttributes: attributePatterns(a.requiredAttributes, 'accessStrategy.requiredAttributes'),
    rejectedAttributes: attributePatterns(a.rejectedAttributes, 'accessStrategy.rejectedAttributes'),
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
  let parsed: AttributeReleasePolicy;
  if (cls.endsWith('.ReturnAllAttributeReleasePolicy')) parsed = { kind: 'all' };
  else if (cls.endsWith('.DenyAllAttributeReleasePolicy')) parsed = { kind: 'none' };
  else if (cls.endsWith('.ReturnAllowedAttributeReleasePolicy')) {
    parsed = { kind: 'allowed', names: javaCollection(policy.allowedAttributes, 'attributeReleasePolicy.allowedAttributes') };
  } else throw new InvalidServiceDefinition(`attributeReleasePolicy.@class: unsupported '${cls}'`);
  // true is CAS's default; false would withhold authenticationDate & co., which this server always sends.
  if (policy.authorizedToReleaseAuthenticationAttributes === false || policy.authorizedToReleaseAuthenticationAttributes === 'false') {
    throw new InvalidServiceDefinition('attributeReleasePolicy.authorizedToReleaseAuthenticationAttributes: false is not implemented by this server; refused rather than ignored');
  }
  for (const key of Object.keys(policy)) {
    if (key === 'authorizedToReleaseAuthenticationAttributes' || RELEASE_POLICY_FIELDS.implemented.has(key) || RELEASE_POLICY_FIELDS.ignored.has(key)) continue;
    const defaults = RELEASE_POLICY_FIELDS.refusedUnlessInert.get(key);
    const active = defaults ? activeField(policy[key], `attributeReleasePolicy.${key}`, defaults) : `attributeReleasePolicy.${key}`;
    if (active) throw new InvalidServiceDefinition(`${active}: not implemented by this server; refused rather than ignored`);
  }
  return parsed;
}

/**
 * Fields of the release policies this server implements. Ignored: ones that could only release
 * less than CAS would (this server never releases the credential or the PGT as attributes) or
 * that tune caching. Refused unless inert: ones that would make CAS release less than this server
 * does (filters, consent, conditional activation, withholding the authentication attributes).
 */
const RELEASE_POLICY_FIELDS = {
  implemented: new Set(['@class', 'allowedAttributes']),
  ignored: new Set([
    'authorizedToReleaseCredentialPassword', 'authorizedToReleaseProxyGrantingTicket', 'excludeDefaultAttributes',
    'principalAttributesRepository', 'order', 'principalIdAttribute', 'canonicalizationMode',
  ]),
  refusedUnlessInert: new Map<string, Record<string, unknown>>([
    ['attributeFilter', {}],
    // DefaultRegisteredServiceConsentPolicy's neutral status.
    ['consentPolicy', { status: 'UNDEFINED' }],
    ['activationCriteria', {}],
  ]),
};

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

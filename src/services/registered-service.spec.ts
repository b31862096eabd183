import { compileServicePattern, ignoredFields, InvalidServiceDefinition, parseServiceDefinition, proxyCallbackAllowed } from './registered-service';

const base = { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'App', serviceId: '^https://app\\.example\\.org/.*' };

/** The example of the CAS reference digest (4.1), as CAS 7 writes it. */
const CAS7_EXAMPLE = {
  '@class': 'org.apereo.cas.services.CasRegisteredService',
  serviceId: '^https://app\\.example\\.org/.*',
  name: 'App',
  id: 1001,
  description: 'Example app',
  evaluationOrder: 10,
  logoutType: 'BACK_CHANNEL',
  logoutUrl: 'https://app.example.org/cas/logout',
  attributeReleasePolicy: {
    '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy',
    allowedAttributes: ['java.util.ArrayList', ['mail', 'cn']],
  },
  accessStrategy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
    enabled: true,
    ssoEnabled: true,
    unauthorizedRedirectUrl: 'https://example.org/denied',
    requireAllAttributes: true,
    caseInsensitive: false,
    requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['staff']] },
    rejectedAttributes: { '@class': 'java.util.HashMap' },
  },
  ticketGrantingTicketExpirationPolicy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceTicketGrantingTicketExpirationPolicy',
    maxTimeToLiveInSeconds: 3600,
  },
  serviceTicketExpirationPolicy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceServiceTicketExpirationPolicy',
    numberOfUses: 1,
    timeToLive: '10',
  },
  proxyPolicy: { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern: '^https://app\\.example\\.org/proxyCallback' },
};

/** A CAS 5.x/6.x JSON registry file (RegexRegisteredService, HashSet wrappers, fields we only keep). */
const CAS5_EXAMPLE = {
  '@class': 'org.apereo.cas.services.RegexRegisteredService',
  serviceId: '^(https|imaps)://portal\\.example\\.edu/.*',
  name: 'Portal',
  id: 10000001,
  description: 'Portal, CAS 5 style',
  evaluationOrder: 3,
  logoutType: 'FRONT_CHANNEL',
  theme: 'portal',
  proxyPolicy: { '@class': 'org.apereo.cas.services.RefuseRegisteredServiceProxyPolicy' },
  usernameAttributeProvider: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceUsernameProvider' },
  attributeReleasePolicy: {
    '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy',
    allowedAttributes: ['java.util.HashSet', ['eduPersonAffiliation', 'mail']],
  },
  accessStrategy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
    enabled: true,
    ssoEnabled: false,
    requiredAttributes: { '@class': 'java.util.HashMap', eduPersonAffiliation: ['java.util.HashSet', ['staff', 'faculty']] },
  },
};

describe('parseServiceDefinition', () => {
  it('reads the CAS 7 (CasRegisteredService) reference example', () => {
    const s = parseServiceDefinition(CAS7_EXAMPLE);
    expect(s).toEqual({
      id: 1001,
      name: 'App',
      serviceId: '^https://app\\.example\\.org/.*',
      evaluationOrder: 10,
      enabled: true,
      ssoEnabled: true,
      access: { requiredAttributes: { memberOf: ['staff'] }, rejectedAttributes: {}, requireAll: true, caseInsensitive: false, unauthorizedRedirectUrl: 'https://example.org/denied' },
      logoutType: 'BACK_CHANNEL',
      logoutUrl: 'https://app.example.org/cas/logout',
      attributeRelease: { kind: 'allowed', names: ['mail', 'cn'] },
      tgtMaxTimeToLiveSeconds: 3600,
      stPolicy: { numberOfUses: 1, timeToLiveSeconds: 10 },
      proxyPolicy: { kind: 'regex', pattern: /^(?:^https:\/\/app\.example\.org\/proxyCallback)$/i },
      definition: CAS7_EXAMPLE,
    });
    // The whole definition is kept, untouched, fields not acted on included.
    expect(s.definition).toBe(CAS7_EXAMPLE);
  });

  it('reads a CAS 5/6 RegexRegisteredService file', () => {
    const s = parseServiceDefinition(CAS5_EXAMPLE);
    expect(s).toMatchObject({
      id: 10000001,
      name: 'Portal',
      evaluationOrder: 3,
      enabled: true,
      ssoEnabled: false,
      logoutType: 'FRONT_CHANNEL',
      attributeRelease: { kind: 'allowed', names: ['eduPersonAffiliation', 'mail'] },
      access: { requiredAttributes: { eduPersonAffiliation: ['staff', 'faculty'] }, requireAll: true, caseInsensitive: false },
    });
    expect(s.tgtMaxTimeToLiveSeconds).toBeUndefined();
    expect(s.stPolicy).toBeUndefined();
    expect(s.definition.theme).toBe('portal');
  });

  it('applies CAS defaults to a minimal definition', () => {
    const s = parseServiceDefinition(base);
    expect(s).toEqual({
      id: 1,
      name: 'App',
      serviceId: base.serviceId,
      evaluationOrder: 0,
      enabled: true,
      ssoEnabled: true,
      access: { requiredAttributes: {}, rejectedAttributes: {}, requireAll: true, caseInsensitive: false, unauthorizedRedirectUrl: undefined },
      logoutType: 'BACK_CHANNEL',
      logoutUrl: undefined,
      // CAS's default release policy: ReturnAllowedAttributeReleasePolicy with nothing allowed.
      attributeRelease: { kind: 'allowed', names: [] },
      tgtMaxTimeToLiveSeconds: undefined,
      stPolicy: undefined,
      ptPolicy: undefined,
      // CAS's default: RefuseRegisteredServiceProxyPolicy.
      proxyPolicy: { kind: 'refuse' },
      definition: base,
    });
    expect(parseServiceDefinition({ ...base, attributeReleasePolicy: null, accessStrategy: null }).attributeRelease).toEqual({ kind: 'allowed', names: [] });
  });

  describe('proxy policies', () => {
    const regex = (pattern: unknown) => ({ '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern });

    it('refuses by default and with RefuseRegisteredServiceProxyPolicy (CAS 5 files too)', () => {
      expect(parseServiceDefinition(base).proxyPolicy).toEqual({ kind: 'refuse' });
      expect(parseServiceDefinition(CAS5_EXAMPLE).proxyPolicy).toEqual({ kind: 'refuse' });
      expect(proxyCallbackAllowed({ kind: 'refuse' }, 'https://app.example.org/cb')).toBe(false);
    });

    it('allows a pgtUrl only when the pattern matches all of it, ignoring case', () => {
      const { proxyPolicy } = parseServiceDefinition({ ...base, proxyPolicy: regex('^https://app\\.example\\.org/cb(\\?.*)?') });
      expect(proxyCallbackAllowed(proxyPolicy, 'https://app.example.org/cb')).toBe(true);
      expect(proxyCallbackAllowed(proxyPolicy, 'https://APP.example.org/cb?x=1')).toBe(true);
      expect(proxyCallbackAllowed(proxyPolicy, 'https://app.example.org/cb/../../elsewhere')).toBe(false);
      // A partial match would let these through.
      const loose = parseServiceDefinition({ ...base, proxyPolicy: regex('https://app\\.example\\.org') }).proxyPolicy;
      expect(proxyCallbackAllowed(loose, 'https://app.example.org.evil.org/cb')).toBe(false);
      expect(proxyCallbackAllowed(loose, 'https://evil.org/?https://app.example.org')).toBe(false);
    });

    it('refuses a definition with an unknown policy class, no pattern or a bad one', () => {
      for (const proxyPolicy of [{ '@class': 'org.example.AllowAll' }, regex(undefined), regex(''), regex('(')]) {
        expect(() => parseServiceDefinition({ ...base, proxyPolicy })).toThrow(InvalidServiceDefinition);
      }
      expect(() => parseServiceDefinition({ ...base, proxyPolicy: 'yes' })).toThrow(/proxyPolicy: must be an object/);
    });

    it('reads proxyTicketExpirationPolicy like serviceTicketExpirationPolicy', () => {
      const pt = { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProxyTicketExpirationPolicy', numberOfUses: '2', timeToLive: '30' };
      expect(parseServiceDefinition({ ...base, proxyTicketExpirationPolicy: pt }).ptPolicy).toEqual({ numberOfUses: 2, timeToLiveSeconds: 30 });
      expect(() => parseServiceDefinition({ ...base, proxyTicketExpirationPolicy: { timeToLive: 301 } })).toThrow(/proxyTicketExpirationPolicy.timeToLive/);
    });
  });

  describe('attribute release policies', () => {
    const release = (policy: Record<string, unknown>) => parseServiceDefinition({ ...base, attributeReleasePolicy: policy }).attributeRelease;
    const allowed = (allowedAttributes: unknown) =>
      release({ '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy', allowedAttributes });

    it('ReturnAllowed: Jackson collection wrappers and plain arrays', () => {
      expect(allowed(['java.util.ArrayList', ['mail', 'cn']])).toEqual({ kind: 'allowed', names: ['mail', 'cn'] });
      expect(allowed(['java.util.HashSet', ['mail']])).toEqual({ kind: 'allowed', names: ['mail'] });
      expect(allowed(['mail', 'cn'])).toEqual({ kind: 'allowed', names: ['mail', 'cn'] });
      expect(allowed(['mail'])).toEqual({ kind: 'allowed', names: ['mail'] });
      expect(allowed(undefined)).toEqual({ kind: 'allowed', names: [] });
      expect(allowed(['java.util.ArrayList', []])).toEqual({ kind: 'allowed', names: [] });
    });

    it('ReturnAll and DenyAll', () => {
      expect(release({ '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' })).toEqual({ kind: 'all' });
      expect(release({ '@class': 'org.apereo.cas.services.DenyAllAttributeReleasePolicy' })).toEqual({ kind: 'none' });
    });

    it('refuses a policy it does not implement instead of releasing something else', () => {
      expect(() => release({ '@class': 'org.apereo.cas.services.ReturnMappedAttributeReleasePolicy', allowedAttributes: { '@class': 'java.util.TreeMap', mail: 'email' } })).toThrow(
        /^attributeReleasePolicy\.@class/,
      );
      expect(() => allowed({ mail: true })).toThrow(/^attributeReleasePolicy\.allowedAttributes/);
    });
  });

  it.each<[string, unknown, string]>([
    ['unknown @class', { ...base, '@class': 'org.example.Other' }, '@class'],
    ['missing @class', { ...base, '@class': undefined }, '@class'],
    ['missing id', { ...base, id: undefined }, 'id'],
    ['non-numeric id', { ...base, id: 'x' }, 'id'],
    ['negative id (CAS -1 = unassigned)', { ...base, id: -1 }, 'id'],
    ['empty name', { ...base, name: '' }, 'name'],
    ['name over 255 characters', { ...base, name: 'n'.repeat(256) }, 'name'],
    ['missing serviceId', { ...base, serviceId: undefined }, 'serviceId'],
    ['bad regex in serviceId', { ...base, serviceId: '^(unclosed' }, 'serviceId'],
    ['bad logoutType', { ...base, logoutType: 'SOMETIMES' }, 'logoutType'],
    ['fractional evaluationOrder', { ...base, evaluationOrder: 1.5 }, 'evaluationOrder'],
    ['non-string logoutUrl', { ...base, logoutUrl: 42 }, 'logoutUrl'],
    ['unknown release policy', { ...base, attributeReleasePolicy: { '@class': 'org.apereo.cas.services.Unknown' } }, 'attributeReleasePolicy'],
    ['bad required-attribute pattern', { ...base, accessStrategy: { requiredAttributes: { memberOf: ['(staff'] } } }, 'accessStrategy.requiredAttributes.memberOf'],
    ['non-http unauthorizedRedirectUrl', { ...base, accessStrategy: { unauthorizedRedirectUrl: 'javascript:x' } }, 'accessStrategy.unauthorizedRedirectUrl'],
    ['ST numberOfUses below 1', { ...base, serviceTicketExpirationPolicy: { numberOfUses: 0 } }, 'serviceTicketExpirationPolicy.numberOfUses'],
    ['ST timeToLive over 300 s', { ...base, serviceTicketExpirationPolicy: { timeToLive: '301' } }, 'serviceTicketExpirationPolicy.timeToLive'],
    ['non-integer TGT max time to live', { ...base, ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 'PT1H' } }, 'ticketGrantingTicketExpirationPolicy.maxTimeToLiveInSeconds'],
    ['not an object', 'not an object', 'JSON object'],
    ['an array', [base], 'JSON object'],
  ])('names the field at fault: %s', (_what, def, field) => {
    let error: unknown;
    try {
      parseServiceDefinition(def);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidServiceDefinition);
    expect((error as Error).message).toContain(field);
  });

  it('names the field first in the message, so an import log line points at it', () => {
    expect(() => parseServiceDefinition({ ...base, id: undefined })).toThrow(/^id: /);
    expect(() => parseServiceDefinition({ ...base, serviceId: '^(unclosed' })).toThrow(/^serviceId: invalid regular expression/);
    expect(() => parseServiceDefinition({ ...base, logoutType: 'SOMETIMES' })).toThrow(/^logoutType: /);
    expect(() => parseServiceDefinition({ ...base, '@class': 'org.example.Other' })).toThrow(/^@class: /);
  });

  it('refuses a NUL anywhere in a definition, naming where (jsonb cannot store one: the API, the console and the files alike)', () => {
    expect(() => parseServiceDefinition({ ...base, name: 'a\u0000b' })).toThrow(new InvalidServiceDefinition('name: must not contain a NUL character'));
    expect(() => parseServiceDefinition({ ...base, description: 'x', properties: { note: { values: ['ok', 'n\u0000'] } } })).toThrow(
      new InvalidServiceDefinition('properties.note.values[1]: must not contain a NUL character'),
    );
  });

  it('never leaves a service enabled that its definition says is disabled ("enabled": "false", as Jackson coerces it)', () => {
    const enabled = (value: unknown) => parseServiceDefinition({ ...base, accessStrategy: { enabled: value } }).enabled;
    expect(enabled(false)).toBe(false);
    expect(enabled(true)).toBe(true);
    // Jackson reads the string "false" as false, and so does this server: the service is disabled.
    expect(enabled('false')).toBe(false);
    expect(enabled('true')).toBe(true);
    // Anything else is refused rather than guessed.
    expect(() => enabled('no')).toThrow(/^accessStrategy\.enabled: /);
  });
});

describe('properties.maximumAllowedSessions (session limit per service)', () => {
  const withProperty = (values: unknown, others: Record<string, unknown> = {}) => ({
    ...base,
    properties: {
      '@class': 'java.util.HashMap',
      ...others,
      maximumAllowedSessions: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProperty', values },
    },
  });

  it('reads the DefaultRegisteredServiceProperty as CAS writes it; absent without one, other properties stay decoration', () => {
    expect(parseServiceDefinition(withProperty(['java.util.HashSet', ['2']])).maximumAllowedSessions).toBe(2);
    expect(parseServiceDefinition(withProperty(['1'])).maximumAllowedSessions).toBe(1);
    expect(parseServiceDefinition(base).maximumAllowedSessions).toBeUndefined();
    // Acted on, so the import does not warn about `properties` for it; another property still warns.
    expect(ignoredFields(withProperty(['2']))).toEqual([]);
    expect(ignoredFields(withProperty(['2'], { theme: { values: ['dark'] } }))).toEqual(['properties']);
    const other = { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProperty', values: ['java.util.HashSet', ['x']] };
    expect(parseServiceDefinition({ ...base, properties: { '@class': 'java.util.HashMap', httpHeaderEnableXFrameOptions: other } }).maximumAllowedSessions).toBeUndefined();
  });

  it('refuses a value it cannot read rather than ignoring a limit', () => {
    for (const values of [['java.util.HashSet', ['0']], ['java.util.HashSet', ['two']], ['java.util.HashSet', ['1', '2']], ['java.util.HashSet', []]]) {
      expect(() => parseServiceDefinition(withProperty(values))).toThrow(/^properties\.maximumAllowedSessions\.values: /);
    }
    expect(() => parseServiceDefinition({ ...base, properties: { maximumAllowedSessions: '2' } })).toThrow(/^properties\.maximumAllowedSessions: must be an object/);
  });
});

describe('compileServicePattern', () => {
  it('must match the whole URL (CAS full-match strategy)', () => {
    const p = compileServicePattern('^https://a\\.org');
    expect(p.test('https://a.org')).toBe(true);
    expect(p.test('https://a.org.evil.org')).toBe(false);
    expect(p.test('https://a.org/x')).toBe(false);
    expect(p.test('xhttps://a.org')).toBe(false);
    // Unanchored patterns are anchored too.
    expect(compileServicePattern('https://a\\.org/.*').test('https://evil.org/?https://a.org/')).toBe(false);
    expect(compileServicePattern('https://a\\.org/.*').test('https://a.org/')).toBe(true);
  });

  it('lets the regex itself allow more, and only what it allows', () => {
    const p = compileServicePattern('^https://a\\.org(/.*)?');
    expect(p.test('https://a.org')).toBe(true);
    expect(p.test('https://a.org/x?y=1')).toBe(true);
    expect(p.test('https://a.org.evil.org')).toBe(false);
    expect(p.test('https://a.org@evil.org')).toBe(false);
  });

  it('anchors every alternative of a top-level alternation', () => {
    const p = compileServicePattern('^https://a\\.org/.*|^https://b\\.org');
    expect(p.test('https://a.org/x')).toBe(true);
    expect(p.test('https://b.org')).toBe(true);
    expect(p.test('https://b.org.evil.org')).toBe(false);
    expect(p.test('https://evil.org/https://a.org/')).toBe(false);
  });

  it('accepts patterns that already end with $', () => {
    expect(compileServicePattern('^https://a\\.org/.*$').test('https://a.org/x')).toBe(true);
    expect(compileServicePattern('^https://a\\.org/$').test('https://a.org/x')).toBe(false);
  });

  it('turns a leading (?i) into a case-insensitive match', () => {
    const p = compileServicePattern('(?i)^https://A\\.org/.*');
    expect(p.flags).toContain('i');
    expect(p.test('https://a.ORG/x')).toBe(true);
    expect(p.test('HTTPS://A.ORG/X')).toBe(true);
    expect(p.test('https://a.org.evil.org/x')).toBe(false);
  });

  it('matches case-insensitively without (?i) too, as CAS does (RegexUtils.createPattern uses CASE_INSENSITIVE)', () => {
    expect(compileServicePattern('^https://app\\.example\\.org/.*').test('https://APP.example.org/x')).toBe(true);
    expect(compileServicePattern('^https://app\\.example\\.org/.*').test('https://app.example.org.evil/x')).toBe(false);
  });

  it('reports a bad regular expression as an InvalidServiceDefinition naming serviceId', () => {
    expect(() => compileServicePattern('^(unclosed')).toThrow(InvalidServiceDefinition);
    expect(() => compileServicePattern('[z-a]')).toThrow(/^serviceId: invalid regular expression/);
  });
});

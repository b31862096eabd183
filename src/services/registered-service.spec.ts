import { compileServicePattern, parseServiceDefinition } from './registered-service';

const base = { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'App', serviceId: '^https://app\\.example\\.org/.*' };

describe('parseServiceDefinition', () => {
  it('reads a CAS 7 definition with CAS defaults', () => {
    const s = parseServiceDefinition(base);
    expect(s).toMatchObject({ id: 1, name: 'App', evaluationOrder: 0, enabled: true, ssoEnabled: true, logoutType: 'BACK_CHANNEL' });
    expect(s.attributeRelease).toEqual({ kind: 'allowed', names: [] });
    expect(s.definition).toBe(base);
  });

  it('reads CAS 5/6 RegexRegisteredService and the release policies', () => {
    const regex = { ...base, '@class': 'org.apereo.cas.services.RegexRegisteredService' };
    expect(parseServiceDefinition(regex).id).toBe(1);
    const allowed = (allowedAttributes: unknown) =>
      parseServiceDefinition({ ...base, attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy', allowedAttributes } })
        .attributeRelease;
    expect(allowed(['java.util.ArrayList', ['mail', 'cn']])).toEqual({ kind: 'allowed', names: ['mail', 'cn'] });
    expect(allowed(['mail'])).toEqual({ kind: 'allowed', names: ['mail'] });
    const kind = (cls: string) => parseServiceDefinition({ ...base, attributeReleasePolicy: { '@class': `org.apereo.cas.services.${cls}` } }).attributeRelease;
    expect(kind('ReturnAllAttributeReleasePolicy')).toEqual({ kind: 'all' });
    expect(kind('DenyAllAttributeReleasePolicy')).toEqual({ kind: 'none' });
  });

  it('reads the access strategy', () => {
    const s = parseServiceDefinition({
      ...base,
      accessStrategy: {
        '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
        enabled: false,
        ssoEnabled: false,
        requireAllAttributes: false,
        requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['staff']] },
        unauthorizedRedirectUrl: 'https://example.org/denied',
      },
    });
    expect(s).toMatchObject({ enabled: false, ssoEnabled: false });
    expect(s.access).toEqual({ requiredAttributes: { memberOf: ['staff'] }, requireAll: false, caseInsensitive: false, unauthorizedRedirectUrl: 'https://example.org/denied' });
  });

  it.each([
    [{ ...base, '@class': 'org.example.Other' }, '@class'],
    [{ ...base, id: undefined }, 'id'],
    [{ ...base, id: 'x' }, 'id'],
    [{ ...base, name: '' }, 'name'],
    [{ ...base, serviceId: '^(unclosed' }, 'serviceId'],
    [{ ...base, logoutType: 'SOMETIMES' }, 'logoutType'],
    [{ ...base, evaluationOrder: 1.5 }, 'evaluationOrder'],
    [{ ...base, attributeReleasePolicy: { '@class': 'org.apereo.cas.services.Unknown' } }, 'attributeReleasePolicy'],
    [{ ...base, accessStrategy: { unauthorizedRedirectUrl: 'javascript:x' } }, 'unauthorizedRedirectUrl'],
    ['not an object', 'JSON object'],
  ])('names the field at fault (%#)', (def, field) => {
    expect(() => parseServiceDefinition(def)).toThrow(field);
  });
});

describe('compileServicePattern', () => {
  it('must match the whole URL', () => {
    const p = compileServicePattern('^https://a\\.org');
    expect(p.test('https://a.org')).toBe(true);
    expect(p.test('https://a.org.evil.org')).toBe(false);
    expect(p.test('https://a.org/x')).toBe(false);
    expect(compileServicePattern('https://a\\.org/.*').test('https://evil.org/?https://a.org/')).toBe(false);
  });

  it('turns a leading (?i) into a case-insensitive match', () => {
    expect(compileServicePattern('(?i)^https://A\\.org/.*').test('https://a.ORG/x')).toBe(true);
    expect(compileServicePattern('^https://A\\.org/.*').test('https://a.org/x')).toBe(false);
  });
});

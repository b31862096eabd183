import type { MfaTriggerConfig } from '../config/mfa-config';
import { type MultifactorPolicy, requiredMultifactor, satisfiedBy } from './multifactor-policy';
import { InvalidServiceDefinition, parseServiceDefinition } from './registered-service';

const POLICY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy';
const base = { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 7, name: 'Payroll', serviceId: '^https://payroll\\.example\\.org/.*' };
const withPolicy = (multifactorPolicy: unknown) => parseServiceDefinition({ ...base, multifactorPolicy });
const policyOf = (p: Record<string, unknown>): MultifactorPolicy => withPolicy({ '@class': POLICY_CLASS, ...p }).multifactorPolicy!;

describe('multifactorPolicy in a CAS service definition', () => {
  it("reads CAS's export: the LinkedHashSet of providers and every field this server implements", () => {
    const p = policyOf({
      multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
      failureMode: 'OPEN',
      bypassEnabled: false,
      bypassPrincipalAttributeName: 'memberOf',
      bypassPrincipalAttributeValue: 'internal,ops-.*',
      bypassIfMissingPrincipalAttribute: true,
      forceExecution: 'true',
      bypassTrustedDeviceEnabled: true,
    });
    expect(p).toMatchObject({
      providers: ['mfa-gauth'],
      failureMode: 'OPEN',
      bypassEnabled: false,
      bypassPrincipalAttributeName: 'memberOf',
      bypassIfMissingPrincipalAttribute: true,
      forceExecution: true,
      bypassTrustedDeviceEnabled: true,
    });
    expect(p.bypassPrincipalAttributeValue?.map(String)).toEqual(['/^(?:internal)$/i', '/^(?:ops-.*)$/i']);
  });

  it('accepts a plain array of providers and no @class; defaults are CAS defaults', () => {
    expect(withPolicy({ multifactorAuthenticationProviders: ['mfa-gauth'] }).multifactorPolicy).toMatchObject({
      providers: ['mfa-gauth'], failureMode: 'UNDEFINED', bypassEnabled: false, forceExecution: false, bypassTrustedDeviceEnabled: false, bypassIfMissingPrincipalAttribute: false,
    });
  });

  it("CAS's inert export (no provider, UNDEFINED) is still accepted", () => {
    expect(policyOf({ multifactorAuthenticationProviders: ['java.util.LinkedHashSet', []], failureMode: 'UNDEFINED' }).providers).toEqual([]);
  });

  it('the definition is kept whole: the JSON export carries the policy as it came', () => {
    const policy = { '@class': POLICY_CLASS, multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']], failureMode: 'CLOSED' };
    expect(withPolicy(policy).definition.multifactorPolicy).toEqual(policy);
  });

  it.each([
    [{ multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-duo']] }, /multifactorPolicy\.multifactorAuthenticationProviders: unknown multi-factor provider 'mfa-duo' \(known: mfa-gauth/],
    [{ multifactorAuthenticationProviders: ['mfa-gauth', 'mfa-gauht'] }, /unknown multi-factor provider 'mfa-gauht'/],
    [{ script: 'groovy { return "mfa-gauth" }' }, /multifactorPolicy\.script: not implemented/],
    [{ bypassForRequestIpAddress: '10\\..*' }, /multifactorPolicy\.bypassForRequestIpAddress: not implemented/],
    [{ someFutureField: true }, /multifactorPolicy\.someFutureField: not implemented/],
    [{ failureMode: 'AJAR' }, /multifactorPolicy\.failureMode: UNDEFINED, OPEN, CLOSED, PHANTOM, NONE/],
    [{ bypassEnabled: 'yes' }, /multifactorPolicy\.bypassEnabled: must be true or false/],
    [{ bypassPrincipalAttributeName: 'memberOf', bypassPrincipalAttributeValue: 'staff(' }, /multifactorPolicy\.bypassPrincipalAttributeValue: invalid regular expression/],
    [{ '@class': 'org.apereo.cas.services.GroovyRegisteredServiceMultifactorPolicy' }, /multifactorPolicy\.@class: .* is not implemented here/],
  ])('refuses %j (fail closed, naming the field)', (policy, message) => {
    expect(() => withPolicy(policy)).toThrow(InvalidServiceDefinition);
    expect(() => withPolicy(policy)).toThrow(message);
  });

  it('an empty script is inert and accepted', () => {
    expect(policyOf({ multifactorAuthenticationProviders: ['mfa-gauth'], script: '' }).providers).toEqual(['mfa-gauth']);
  });
});

describe('requiredMultifactor', () => {
  const none: MfaTriggerConfig = { globalFailureMode: 'CLOSED', principal: { attributeNameTriggers: [] } };
  const KNOWN = ['mfa-gauth'];
  const gauth = (extra: Record<string, unknown> = {}) => policyOf({ multifactorAuthenticationProviders: ['mfa-gauth'], ...extra });
  const need = (input: Partial<Parameters<typeof requiredMultifactor>[0]>) =>
    requiredMultifactor({ triggers: none, knownProviders: KNOWN, attributes: {}, ...input });

  it('nothing triggers: null', () => {
    expect(need({})).toBeNull();
    expect(need({ policy: policyOf({ failureMode: 'CLOSED' }) })).toBeNull();
  });

  it("the service's providers, with the global failure mode when the service's is UNDEFINED", () => {
    expect(need({ policy: gauth() })).toEqual({ providers: ['mfa-gauth'], failureMode: 'CLOSED', forceExecution: false, trigger: 'service' });
    expect(need({ policy: gauth(), triggers: { ...none, globalFailureMode: 'OPEN' } })?.failureMode).toBe('OPEN');
    expect(need({ policy: gauth({ failureMode: 'PHANTOM', forceExecution: true }), triggers: { ...none, globalFailureMode: 'OPEN' } })).toMatchObject({ failureMode: 'PHANTOM', forceExecution: true });
  });

  it("CAS's order: global, then authn_method, then the principal attribute, then the service", () => {
    const triggers: MfaTriggerConfig = { ...none, globalProviderId: 'mfa-gauth', principal: { attributeNameTriggers: ['mfa'] } };
    expect(need({ triggers, requested: 'mfa-gauth', policy: gauth() })?.trigger).toBe('global');
    expect(need({ requested: 'mfa-gauth', policy: gauth() })?.trigger).toBe('authn_method');
    const byAttribute = { ...none, principal: { attributeNameTriggers: ['mfa'] } };
    expect(need({ triggers: byAttribute, policy: gauth(), attributes: { mfa: ['mfa-gauth'] } })?.trigger).toBe('principal-attribute');
    expect(need({ triggers: byAttribute, policy: gauth(), attributes: { mfa: ['none'] } })?.trigger).toBe('service');
  });

  it('principal attribute trigger without a regex: a value equal to a provider id triggers that provider', () => {
    const triggers = { ...none, principal: { attributeNameTriggers: ['mfaProvider', 'other'] } };
    expect(need({ triggers, attributes: { mfaProvider: ['mfa-gauth'] } })?.providers).toEqual(['mfa-gauth']);
    expect(need({ triggers, attributes: { other: ['x', 'mfa-gauth'] } })?.providers).toEqual(['mfa-gauth']);
    expect(need({ triggers, attributes: { mfaProvider: ['staff'] } })).toBeNull();
    expect(need({ triggers, attributes: { unrelated: ['mfa-gauth'] } })).toBeNull();
  });

  it('principal attribute trigger with a regex and one provider: a whole-value match triggers it (as Java String.matches)', () => {
    const triggers = { ...none, principal: { attributeNameTriggers: ['memberOf'], attributeValueRegex: /^(?:staff|faculty)$/ } };
    expect(need({ triggers, attributes: { memberOf: ['student', 'staff'] } })?.providers).toEqual(['mfa-gauth']);
    expect(need({ triggers, attributes: { memberOf: ['staffroom'] } })).toBeNull();
    expect(need({ triggers, attributes: { memberOf: ['Staff'] } })).toBeNull();
    // With a second provider CAS would ignore the regex; here a match accepts any provider (fail closed).
    expect(need({ triggers, knownProviders: ['mfa-gauth', 'mfa-webauthn'], attributes: { memberOf: ['staff'] } })?.providers).toEqual(['mfa-gauth', 'mfa-webauthn']);
  });

  it("the service's principal-attribute trigger: its providers only for principals with a matching value", () => {
    const policy = gauth({ principalAttributeNameTrigger: 'memberOf,eduPersonAffiliation', principalAttributeValueToMatch: 'faculty|allMfaMembers' });
    expect(need({ policy, attributes: { eduPersonAffiliation: ['Faculty'] } })?.trigger).toBe('service-principal-attribute');
    expect(need({ policy, attributes: { memberOf: ['students'] } })).toBeNull();
    expect(need({ policy })).toBeNull();
  });

  it('bypass: bypassEnabled, or a matching principal attribute value, or a missing attribute with bypassIfMissingPrincipalAttribute; whatever triggered', () => {
    const triggers = { ...none, globalProviderId: 'mfa-gauth' as const };
    expect(need({ triggers, policy: policyOf({ bypassEnabled: true }) })).toBeNull();
    const byValue = gauth({ bypassPrincipalAttributeName: 'memberOf', bypassPrincipalAttributeValue: 'internal,ops' });
    expect(need({ policy: byValue, attributes: { memberOf: ['OPS'] } })).toBeNull();
    expect(need({ policy: byValue, attributes: { memberOf: ['operations'] } })).not.toBeNull();
    expect(need({ policy: byValue, attributes: {} })).not.toBeNull();
    const ifMissing = gauth({ bypassPrincipalAttributeName: 'memberOf', bypassPrincipalAttributeValue: 'internal', bypassIfMissingPrincipalAttribute: true });
    expect(need({ policy: ifMissing, attributes: {} })).toBeNull();
    expect(need({ policy: ifMissing, attributes: { memberOf: ['external'] } })).not.toBeNull();
    // A name without values bypasses nobody (CAS needs both).
    expect(need({ policy: gauth({ bypassPrincipalAttributeName: 'memberOf', bypassIfMissingPrincipalAttribute: true }) })).not.toBeNull();
  });

  it('satisfiedBy: any one acceptable provider in the session', () => {
    const r = { providers: ['mfa-webauthn', 'mfa-gauth'], failureMode: 'CLOSED' as const, forceExecution: false, trigger: 'service' as const };
    expect(satisfiedBy(r, { 'mfa-gauth': new Date() })).toBe(true);
    expect(satisfiedBy(r, {})).toBe(false);
  });
});

import { Attributes } from '../common/attributes';
import { attributesAllowed } from './access-strategy';
import { ignoredFields, InvalidServiceDefinition, parseServiceDefinition } from './registered-service';
import { messageOf } from '../../test/helpers/thrown';

// Issue 10, item 10: a rule this server does not implement must not be silently dropped. Each case
// below was accepted before (the field ignored, so the service let everyone in); now the definition
// is refused with a message that starts with the field at fault.

const base = { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'App', serviceId: '^https://app\\.example\\.org/.*' };
const DEFAULT_STRATEGY = 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy';
const strategy = (fields: Record<string, unknown>) => ({ ...base, accessStrategy: { '@class': DEFAULT_STRATEGY, ...fields } });

/** The message of the InvalidServiceDefinition thrown, or a failure when it parses. */
const refusal = (def: unknown): string => messageOf(InvalidServiceDefinition, () => parseServiceDefinition(def));

describe('service definitions fail closed', () => {
  describe('access strategy class', () => {
    it('accepts DefaultRegisteredServiceAccessStrategy, and no @class (the same default)', () => {
      expect(parseServiceDefinition(strategy({ enabled: true })).enabled).toBe(true);
      expect(parseServiceDefinition({ ...base, accessStrategy: { ssoEnabled: false } }).ssoEnabled).toBe(false);
    });

    it.each([
      'org.apereo.cas.services.TimeBasedRegisteredServiceAccessStrategy',
      'org.apereo.cas.services.RemoteEndpointServiceAccessStrategy',
      'org.apereo.cas.grouper.services.GrouperRegisteredServiceAccessStrategy',
      'org.apereo.cas.services.ChainingRegisteredServiceAccessStrategy',
      'org.apereo.cas.services.GroovyRegisteredServiceAccessStrategy',
      'org.apereo.cas.services.HttpRequestRegisteredServiceAccessStrategy',
      'org.example.Anything',
    ])('refuses %s', (cls) => {
      expect(refusal({ ...base, accessStrategy: { '@class': cls, enabled: true } })).toMatch(/^accessStrategy\.@class: /);
    });
  });

  describe('access strategy fields', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['a time window', { startingDateTime: '2030-01-01T00:00:00Z' }, 'accessStrategy.startingDateTime'],
      ['an end of the time window', { endingDateTime: '2020-01-01T00:00:00Z' }, 'accessStrategy.endingDateTime'],
      [
        'a delegated authentication policy naming providers',
        { delegatedAuthenticationPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceDelegatedAuthenticationPolicy', allowedProviders: ['java.util.ArrayList', ['Google']] } },
        'accessStrategy.delegatedAuthenticationPolicy.allowedProviders',
      ],
      ['an exclusive delegated policy', { delegatedAuthenticationPolicy: { exclusive: true } }, 'accessStrategy.delegatedAuthenticationPolicy.exclusive'],
      ['activation criteria', { activationCriteria: { '@class': 'org.apereo.cas.services.AttributeBasedRegisteredServiceAccessStrategyActivationCriteria', requiredAttributes: { cn: ['x'] } } }, 'accessStrategy.activationCriteria.requiredAttributes.cn'],
      ['a misspelt rule', { requiredAtributes: { memberOf: ['admins'] } }, 'accessStrategy.requiredAtributes'],
      ['a Groovy rejected value', { rejectedAttributes: { role: ['groovy { return true }'] } }, 'accessStrategy.rejectedAttributes.role'],
      ['a Groovy required value', { requiredAttributes: { role: ['groovy { return true }'] } }, 'accessStrategy.requiredAttributes.role'],
      ['a bad rejected pattern', { rejectedAttributes: { role: ['(deny'] } }, 'accessStrategy.rejectedAttributes.role'],
    ])('refuses %s, naming the field', (_what, fields, field) => {
      expect(refusal(strategy(fields))).toMatch(new RegExp(`^${field.replace(/[.@]/g, '\\$&')}: `));
    });

    it("accepts CAS's inert defaults of fields it does not implement, as CAS exports them", () => {
      const s = parseServiceDefinition(
        strategy({
          order: 0,
          delegatedAuthenticationPolicy: {
            '@class': 'org.apereo.cas.services.DefaultRegisteredServiceDelegatedAuthenticationPolicy',
            allowedProviders: ['java.util.ArrayList', []],
            permitUndefined: true,
            exclusive: false,
          },
          startingDateTime: null,
          rejectedAttributes: { '@class': 'java.util.HashMap' },
        }),
      );
      expect(s.access.rejectedAttributes).toEqual({});
    });

    it('reads rejectedAttributes like requiredAttributes (Jackson wrappers, plain lists, one string)', () => {
      const s = parseServiceDefinition(
        strategy({ rejectedAttributes: { '@class': 'java.util.HashMap', role: ['java.util.HashSet', ['deny.+']], status: 'locked', memberOf: ['a', 'b'] } }),
      );
      expect(s.access.rejectedAttributes).toEqual({ role: ['deny.+'], status: ['locked'], memberOf: ['a', 'b'] });
    });
  });

  describe('top-level fields', () => {
    it.each<[string, Record<string, unknown>, string]>([
      [
        'a multifactor policy with a provider',
        { multifactorPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy', multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-duo']] } },
        'multifactorPolicy.multifactorAuthenticationProviders',
      ],
      [
        'an authentication policy with required handlers',
        { authenticationPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAuthenticationPolicy', requiredAuthenticationHandlers: ['java.util.TreeSet', ['LdapHandler']] } },
        'authenticationPolicy.requiredAuthenticationHandlers',
      ],
      ['a partial-match strategy', { matchingStrategy: { '@class': 'org.apereo.cas.services.PartialRegexRegisteredServiceMatchingStrategy' } }, 'matchingStrategy.@class'],
      ['a literal-match strategy', { matchingStrategy: { '@class': 'org.apereo.cas.services.LiteralRegisteredServiceMatchingStrategy' } }, 'matchingStrategy.@class'],
      ['an anonymous username', { usernameAttributeProvider: { '@class': 'org.apereo.cas.services.AnonymousRegisteredServiceUsernameAttributeProvider' } }, 'usernameAttributeProvider.@class'],
      ['an encrypted username', { usernameAttributeProvider: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceUsernameProvider', encryptUsername: true } }, 'usernameAttributeProvider.encryptUsername'],
      ['an expiration date', { expirationPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceExpirationPolicy', expirationDate: '2020-01-01' } }, 'expirationPolicy.expirationDate'],
      ['required handlers', { requiredHandlers: ['java.util.HashSet', ['LdapHandler']] }, 'requiredHandlers'],
      ['environments', { environments: ['java.util.HashSet', ['prod']] }, 'environments'],
      ['supported protocols', { supportedProtocols: ['java.util.HashSet', ['CAS30']] }, 'supportedProtocols'],
      ['a public key', { publicKey: { '@class': 'org.apereo.cas.services.RegisteredServicePublicKeyImpl', location: 'classpath:pub.key' } }, 'publicKey.location'],
      ['an unknown field', { acessStrategy: { enabled: false } }, 'acessStrategy'],
      ['an attribute filter', { attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy', attributeFilter: { '@class': 'org.apereo.cas.services.support.RegisteredServiceRegexAttributeFilter', pattern: '^x$' } } }, 'attributeReleasePolicy.attributeFilter.pattern'],
      ['consent required', { attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy', consentPolicy: { status: 'TRUE' } } }, 'attributeReleasePolicy.consentPolicy.status'],
    ])('refuses %s, naming the field', (_what, fields, field) => {
      expect(refusal({ ...base, ...fields })).toMatch(new RegExp(`^${field.replace(/[.@]/g, '\\$&')}: `));
    });

    it('accepts the defaults of refused features, and keeps (and lists) presentation-only fields', () => {
      const def = {
        ...base,
        theme: 'x',
        informationUrl: 'https://app.example.org/info',
        privacyUrl: 'https://app.example.org/privacy',
        logo: 'https://app.example.org/logo.png',
        contacts: ['java.util.ArrayList', [{ '@class': 'org.apereo.cas.services.DefaultRegisteredServiceContact', name: 'Ops' }]],
        properties: { '@class': 'java.util.HashMap' },
        matchingStrategy: { '@class': 'org.apereo.cas.services.FullRegexRegisteredServiceMatchingStrategy' },
        usernameAttributeProvider: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceUsernameProvider', canonicalizationMode: 'NONE', encryptUsername: false },
        multifactorPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy', multifactorAuthenticationProviders: ['java.util.LinkedHashSet', []], failureMode: 'UNDEFINED', bypassEnabled: false },
        requiredHandlers: ['java.util.HashSet', []],
        expirationPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceExpirationPolicy', deleteWhenExpired: false, notifyWhenDeleted: false },
      };
      expect(parseServiceDefinition(def).definition).toBe(def);
      expect(ignoredFields(def).sort()).toEqual(['contacts', 'informationUrl', 'logo', 'privacyUrl', 'properties', 'theme']);
    });
  });
});

describe('attributesAllowed with rejectedAttributes', () => {
  const rules = (fields: Record<string, unknown>) => parseServiceDefinition(strategy(fields)).access;
  const user = (attributes: Attributes) => attributes;

  it('denies a principal with a value in which a rejected pattern is found, whatever else it has', () => {
    const r = rules({ rejectedAttributes: { role: ['deny.+'] } });
    expect(attributesAllowed(r, user({ role: ['staff'] }))).toBe(true);
    expect(attributesAllowed(r, user({}))).toBe(true);
    expect(attributesAllowed(r, user({ role: ['staff', 'deny-all'] }))).toBe(false);
    // CAS uses a regex find for attribute values: a value containing a match is rejected too.
    expect(attributesAllowed(r, user({ role: ['x-deny-y'] }))).toBe(false);
  });

  it('wins over required attributes, and honours caseInsensitive', () => {
    const r = rules({ requiredAttributes: { memberOf: ['staff'] }, rejectedAttributes: { status: ['LOCKED'] }, caseInsensitive: true });
    expect(attributesAllowed(r, user({ memberOf: ['staff'] }))).toBe(true);
    expect(attributesAllowed(r, user({ memberOf: ['staff'], status: ['locked'] }))).toBe(false);
    expect(attributesAllowed(rules({ rejectedAttributes: { status: ['LOCKED'] } }), user({ status: ['locked'] }))).toBe(true);
  });

  it('rejects on any one rejected attribute, even with requireAllAttributes (fails closed)', () => {
    const r = rules({ requireAllAttributes: true, rejectedAttributes: { role: ['banned'], status: ['locked'] } });
    expect(attributesAllowed(r, user({ role: ['banned'], status: ['active'] }))).toBe(false);
  });
});

import { buildService, fieldOf, formOf, newServiceForm, readForm, type ServiceForm } from './service-form';

const stored = {
  '@class': 'org.apereo.cas.services.CasRegisteredService',
  id: 7,
  name: 'Payroll',
  serviceId: '^https://payroll\\.example\\.org/.*',
  evaluationOrder: 3,
  theme: 'blue',
  accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['payroll']] } },
  multifactorPolicy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
    multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
    failureMode: 'CLOSED',
    bypassEnabled: true,
  },
};

const edited = (changes: Partial<ServiceForm>): ServiceForm => ({ ...formOf(stored), ...changes });

describe('the console service form', () => {
  it('shows a stored definition field by field, and whole in the JSON', () => {
    const f = formOf(stored);
    expect(f).toMatchObject({ id: '7', name: 'Payroll', evaluationOrder: '3', logoutType: 'BACK_CHANNEL', enabled: true, ssoEnabled: true, mfaProviders: ['mfa-gauth'], failureMode: 'CLOSED' });
    expect(JSON.parse(f.json)).toEqual(stored);
  });

  it('saves the form unchanged as the same definition (no defaults added)', () => {
    const built = buildService(formOf(stored), 7);
    expect(built.ok && built.service.definition).toEqual(stored);
  });

  it('lays the fields over the JSON, keeping what no field holds', () => {
    const built = buildService(edited({ name: 'Payroll 2', enabled: false, mfaProviders: [], failureMode: 'UNDEFINED', logoutUrl: 'https://payroll.example.org/slo' }), 7);
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    expect(built.service).toMatchObject({ name: 'Payroll 2', enabled: false, ssoEnabled: true, logoutUrl: 'https://payroll.example.org/slo' });
    expect(built.service.definition.theme).toBe('blue');
    expect(built.service.access.requiredAttributes).toEqual({ memberOf: ['payroll'] });
    expect(built.service.definition.multifactorPolicy).toEqual({
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
      multifactorAuthenticationProviders: ['java.util.LinkedHashSet', []],
      bypassEnabled: true,
    });
  });

  it('the id being edited cannot be changed by the JSON', () => {
    const built = buildService(edited({ json: JSON.stringify({ ...stored, id: 99 }) }), 7);
    expect(built.ok && built.service.id).toBe(7);
  });

  it("names the field at fault with the registry's own message", () => {
    const error = (f: Partial<ServiceForm>, id?: number) => {
      const b = buildService({ ...newServiceForm(), id: '40', name: 'New', serviceId: '^https://new\\.example\\.org/.*', ...f }, id);
      return b.ok ? null : b.errors;
    };
    expect(error({})).toBeNull();
    expect(error({ serviceId: '^https://(unclosed' })).toEqual({ serviceId: expect.stringMatching(/^serviceId: invalid regular expression/) });
    expect(error({ id: 'x' })).toEqual({ id: 'id: must be a non-negative integer' });
    expect(error({ id: '' })).toEqual({ id: 'id: must be a non-negative integer' });
    expect(error({ name: ' ' })).toEqual({ name: 'name: required, at most 255 characters' });
    expect(error({ evaluationOrder: '1.5' })).toEqual({ evaluationOrder: 'evaluationOrder: must be an integer' });
    expect(error({ logoutType: 'SOMETIMES' })).toEqual({ logoutType: 'logoutType: BACK_CHANNEL, FRONT_CHANNEL or NONE' });
    expect(error({ mfaProviders: ['mfa-duo'] })).toEqual({ mfaProviders: expect.stringContaining("unknown multi-factor provider 'mfa-duo'") });
    expect(error({ failureMode: 'SOMETIMES' })).toEqual({ failureMode: expect.stringMatching(/^multifactorPolicy\.failureMode:/) });
    expect(error({ json: '{"@class": "org.apereo.cas.services.CasRegisteredService", "acessStrategy": {}}' })).toEqual({ json: expect.stringMatching(/^acessStrategy: unknown field/) });
    expect(error({ json: '{ nope' })).toEqual({ json: expect.stringMatching(/^not valid JSON/) });
    expect(error({ json: '[1]' })).toEqual({ json: 'the definition must be a JSON object ({ … })' });
  });

  it('maps a message to its input by path, the JSON otherwise', () => {
    expect(fieldOf('accessStrategy.enabled: must be true or false')).toBe('enabled');
    expect(fieldOf('accessStrategy.requiredAttributes.x: invalid pattern')).toBe('json');
    expect(fieldOf('not a JSON object')).toBe('json');
  });

  it('reads a posted form: repeated fields as lists, unchecked boxes as false', () => {
    expect(readForm({ name: 'A', mfaProviders: ['mfa-gauth', 'mfa-webauthn'], enabled: 'true' })).toMatchObject({
      name: 'A', mfaProviders: ['mfa-gauth', 'mfa-webauthn'], enabled: true, ssoEnabled: false, failureMode: 'UNDEFINED', json: '',
    });
    expect(readForm(undefined)).toMatchObject({ name: '', mfaProviders: [] });
    expect(readForm({ mfaProviders: 'mfa-gauth', name: ['a', 'b'] })).toMatchObject({ mfaProviders: ['mfa-gauth'], name: 'a' });
  });
});

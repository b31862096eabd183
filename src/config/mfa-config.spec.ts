import { randomBytes } from 'node:crypto';
import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { loadMfaConfig } from './mfa-config';
import { messageOf } from '../../test/helpers/thrown';

const C = 'CAS_AUTHN_MFA_GAUTH_CORE_';
const KEY = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
const errorOf = (env: Record<string, string>): string => messageOf(ConfigurationError, () => loadMfaConfig(env));

describe('mfa-gauth settings', () => {
  it("CAS's defaults: CASIssuer, CASLabel, window 3, 30 s steps, 6 digits, one device, no key; loadCasConfig carries them", () => {
    const defaults = {
      issuer: 'CASIssuer',
      label: 'CASLabel',
      windowSize: 3,
      timeStepSize: 30,
      codeDigits: 6,
      multipleDeviceRegistrationEnabled: false,
      encryptionKey: undefined,
    };
    expect(loadMfaConfig({}).gauth).toEqual(defaults);
    expect(loadCasConfig({}).mfa.gauth).toEqual(defaults);
  });

  it('reads every setting by its relaxed-binding name', () => {
    const key = randomBytes(32).toString('base64url');
    expect(
      loadMfaConfig({
        [`${C}ISSUER`]: 'Example University',
        [`${C}LABEL`]: 'cas.example.org',
        [`${C}WINDOW_SIZE`]: '5',
        [`${C}TIME_STEP_SIZE`]: '60',
        [`${C}CODE_DIGITS`]: '8',
        [`${C}MULTIPLE_DEVICE_REGISTRATION_ENABLED`]: 'TRUE',
        [KEY]: key,
      }).gauth,
    ).toEqual({
      issuer: 'Example University',
      label: 'cas.example.org',
      windowSize: 5,
      timeStepSize: 60,
      codeDigits: 8,
      multipleDeviceRegistrationEnabled: true,
      encryptionKey: key,
    });
  });

  it('accepts the key as base64 with padding too', () => {
    const key = randomBytes(32).toString('base64');
    expect(loadMfaConfig({ [KEY]: key }).gauth.encryptionKey).toBe(key);
  });

  it.each([
    [`${C}WINDOW_SIZE`, 'three'],
    [`${C}WINDOW_SIZE`, '0'],
    [`${C}TIME_STEP_SIZE`, '-30'],
    [`${C}CODE_DIGITS`, '5'],
    [`${C}CODE_DIGITS`, '9'],
    [`${C}MULTIPLE_DEVICE_REGISTRATION_ENABLED`, 'yes'],
    [`${C}ISSUER`, 'Example:Univ'],
    [`${C}LABEL`, 'a:b'],
  ])('%s=%s stops the boot naming the variable', (name, value) => {
    expect(errorOf({ [name]: value })).toContain(`${name}:`);
  });

  it('a key too short or not base64url stops the boot without repeating the key', () => {
    const short = randomBytes(16).toString('base64url');
    const message = errorOf({ [KEY]: short });
    expect(message).toContain(`${KEY}:`);
    expect(message).not.toContain(short);
    expect(errorOf({ [KEY]: 'not a key!' })).toContain(`${KEY}:`);
  });

  it('names every bad variable at once', () => {
    const message = errorOf({ [`${C}WINDOW_SIZE`]: 'x', [`${C}CODE_DIGITS`]: '12' });
    expect(message).toContain(`${C}WINDOW_SIZE:`);
    expect(message).toContain(`${C}CODE_DIGITS:`);
  });
});

describe('multi-factor triggers and failure mode settings', () => {
  const NAMES = 'CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_NAME_TRIGGERS';
  const REGEX = 'CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_VALUE_REGEX';
  const MODE = 'CAS_AUTHN_MFA_CORE_GLOBAL_FAILURE_MODE';

  it("CAS's defaults: no trigger, global failure mode CLOSED", () => {
    expect(loadMfaConfig({}).triggers).toEqual({ globalProviderId: undefined, globalFailureMode: 'CLOSED', principal: { attributeNameTriggers: [], attributeValueRegex: undefined } });
  });

  it('reads the principal attribute trigger (comma-separated names, a whole-value regex) and the global failure mode', () => {
    const t = loadMfaConfig({ [NAMES]: 'memberOf, eduPersonAffiliation', [REGEX]: 'staff|faculty', [MODE]: 'phantom', CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID: 'mfa-gauth' }).triggers;
    expect(t.principal.attributeNameTriggers).toEqual(['memberOf', 'eduPersonAffiliation']);
    expect(t.principal.attributeValueRegex?.test('staff')).toBe(true);
    expect(t.principal.attributeValueRegex?.test('staffroom')).toBe(false);
    expect(t.globalFailureMode).toBe('PHANTOM');
    expect(t.globalProviderId).toBe('mfa-gauth');
  });

  it.each([
    [REGEX, 'staff('],
    [MODE, 'AJAR'],
    [MODE, 'UNDEFINED'],
  ])('%s=%s stops the boot naming the variable', (name, value) => {
    expect(errorOf({ [name]: value })).toContain(`${name}:`);
  });
});

import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { loadMfaTrustedConfig } from './mfa-trusted-config';
import { messageOf } from '../../test/helpers/thrown';

const T = 'CAS_AUTHN_MFA_TRUSTED_';
const errorOf = (env: Record<string, string>): string => messageOf(ConfigurationError, () => loadMfaTrustedConfig(env));

describe('trusted-device settings (cas.authn.mfa.trusted.*)', () => {
  it("CAS's defaults: no provider trusts devices, the user is asked, 30 days, isFromTrustedMultifactorAuthentication; loadCasConfig carries them", () => {
    const defaults = {
      providers: [],
      deviceRegistrationEnabled: true,
      expirationSeconds: 30 * 86_400,
      expirationLabel: '30 days',
      authenticationContextAttribute: 'isFromTrustedMultifactorAuthentication',
    };
    expect(loadMfaTrustedConfig({})).toEqual(defaults);
    expect(loadCasConfig({}).mfaTrusted).toEqual(defaults);
  });

  it('reads every setting by its relaxed-binding name', () => {
    expect(
      loadMfaTrustedConfig({
        CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'TRUE',
        [`${T}CORE_DEVICE_REGISTRATION_ENABLED`]: 'false',
        [`${T}EXPIRATION`]: '12',
        [`${T}TIME_UNIT`]: 'hours',
        [`${T}CORE_AUTHENTICATION_CONTEXT_ATTRIBUTE`]: 'trustedDevice',
      }),
    ).toEqual({
      providers: ['mfa-gauth'],
      deviceRegistrationEnabled: false,
      expirationSeconds: 12 * 3600,
      expirationLabel: '12 hours',
      authenticationContextAttribute: 'trustedDevice',
    });
    expect(loadMfaTrustedConfig({ [`${T}EXPIRATION`]: '1' }).expirationLabel).toBe('1 day');
  });

  it('names every bad value in one error', () => {
    const message = errorOf({
      CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'yes',
      [`${T}EXPIRATION`]: '0',
      [`${T}TIME_UNIT`]: 'WEEKS',
      [`${T}CORE_AUTHENTICATION_CONTEXT_ATTRIBUTE`]: 'a b',
    });
    expect(message).toContain('CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: must be true or false');
    expect(message).toContain(`${T}EXPIRATION: must be a whole number of 1 or more`);
    expect(message).toContain(`${T}TIME_UNIT: must be one of MINUTES, HOURS, DAYS`);
    expect(message).toContain(`${T}CORE_AUTHENTICATION_CONTEXT_ATTRIBUTE`);
    expect(errorOf({ [`${T}EXPIRATION`]: '367' })).toContain('at most 366 days');
  });
});

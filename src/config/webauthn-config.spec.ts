import { ConfigurationError } from './env.validation';
import { loadWebAuthnConfig } from './webauthn-config';

const P = 'CAS_AUTHN_MFA_WEB_AUTHN_CORE_';

describe('loadWebAuthnConfig (cas.authn.mfa.web-authn.core.*)', () => {
  it("defaults as CAS's, the relying party and the origin from the server prefix", () => {
    const c = loadWebAuthnConfig({}, 'https://sso.example.org:8443/cas');
    expect(c).toEqual({
      enabled: true,
      relyingPartyName: 'CAS',
      relyingPartyId: 'sso.example.org',
      allowedOrigins: ['https://sso.example.org:8443'],
      allowPrimaryAuthentication: false,
      userVerification: 'preferred',
      validateSignatureCounter: true,
      attestationConveyancePreference: 'direct',
      multipleDeviceRegistrationEnabled: false,
      displayNameAttribute: 'displayName',
    });
  });

  it('reads every setting by its relaxed-binding name', () => {
    const c = loadWebAuthnConfig(
      {
        [`${P}RELYING_PARTY_NAME`]: 'Example University',
        [`${P}RELYING_PARTY_ID`]: 'Example.org',
        [`${P}ALLOWED_ORIGINS`]: 'https://sso.example.org, https://login.example.org',
        [`${P}ALLOW_PRIMARY_AUTHENTICATION`]: 'true',
        [`${P}USER_VERIFICATION`]: 'REQUIRED',
        [`${P}VALIDATE_SIGNATURE_COUNTER`]: 'false',
        [`${P}ATTESTATION_CONVEYANCE_PREFERENCE`]: 'NONE',
        [`${P}MULTIPLE_DEVICE_REGISTRATION_ENABLED`]: 'true',
        [`${P}DISPLAY_NAME_ATTRIBUTE`]: 'cn',
        [`${P}ENABLED`]: 'false',
      },
      'https://sso.example.org/cas',
    );
    expect(c).toMatchObject({
      relyingPartyName: 'Example University',
      relyingPartyId: 'example.org',
      allowedOrigins: ['https://sso.example.org', 'https://login.example.org'],
      allowPrimaryAuthentication: true,
      userVerification: 'required',
      validateSignatureCounter: false,
      attestationConveyancePreference: 'none',
      multipleDeviceRegistrationEnabled: true,
      displayNameAttribute: 'cn',
      enabled: false,
    });
  });

  it('stops the boot on a relying party id the browser would refuse, naming every bad variable', () => {
    const load = () =>
      loadWebAuthnConfig(
        {
          [`${P}RELYING_PARTY_ID`]: 'ample.org',
          [`${P}ALLOWED_ORIGINS`]: 'https://sso.example.org/cas',
          [`${P}USER_VERIFICATION`]: 'always',
          [`${P}ALLOW_PRIMARY_AUTHENTICATION`]: 'yes',
        },
        'https://sso.example.org/cas',
      );
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/RELYING_PARTY_ID: 'ample.org' is neither sso.example.org nor a parent domain/);
    expect(load).toThrow(/ALLOWED_ORIGINS: 'https:\/\/sso.example.org\/cas' is not an origin/);
    expect(load).toThrow(/USER_VERIFICATION: must be one of required, preferred, discouraged/);
    expect(load).toThrow(/ALLOW_PRIMARY_AUTHENTICATION: must be true or false/);
  });

  it('boots on a prefix on an IP address (no WebAuthn there, but no reason to stop the server)', () => {
    expect(loadWebAuthnConfig({}, 'http://127.0.0.1:8080/cas').relyingPartyId).toBe('127.0.0.1');
    expect(loadWebAuthnConfig({}, 'http://[::1]:8080/cas').relyingPartyId).toBe('[::1]');
  });

  it('accepts localhost, the relying party id of a development server', () => {
    expect(loadWebAuthnConfig({}, 'http://localhost:8080/cas').relyingPartyId).toBe('localhost');
  });
});

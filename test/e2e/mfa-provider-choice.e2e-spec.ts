import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { Browser, executionOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { serviceFor, TEST_SERVICES } from '../helpers/test-services';

const USERS = ['alice', 'bob'].map((u) => `${u}::Secret1`).join(',');
/** A service that accepts either provider, security keys listed first (CAS: any one satisfies). */
const EITHER = 'https://either.example.org/home';
const EITHER_SERVICE = serviceFor(30, 'either.example.org', {
  multifactorPolicy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
    multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-webauthn', 'mfa-gauth']],
  },
});

/**
 * Which provider a login is asked for when its service accepts several: the one the user has a
 * device for, else the first listed. Without this, a user with an authenticator app was sent to
 * register a security key for a service that would have taken the app's code.
 */
describe('mfa provider choice', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), CAS_AUTHN_ACCEPT_USERS: USERS },
      services: [...TEST_SERVICES, EITHER_SERVICE],
    });
    t.clock.freeze();
  });
  afterAll(() => t.close());

  async function passwordStep(username: string) {
    const b = new Browser(t.app);
    const form = await b.get(`/cas/login?service=${encodeURIComponent(EITHER)}`);
    return b.post('/cas/login', { username, password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
  }

  it('a user with a confirmed TOTP device is asked for its code, not sent to register a security key', async () => {
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('alice', 'phone');
    const code = authenticator.clone({ digits: 6, step: 30, epoch: t.clock.now().getTime() }).generate(e.secret);
    expect((await gauth.confirm(e.credentialId, code)).ok).toBe(true);

    const page = await passwordStep('alice');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="token"');
    expect(page.body).not.toContain('data-webauthn');
  });

  it('a user without any device enrols in the first provider listed (mfa-webauthn)', async () => {
    const page = await passwordStep('bob');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-webauthn="registration"');
    expect(page.body).not.toContain('name="token"');
  });
});

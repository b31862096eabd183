import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { HTTPResponse, Page } from 'puppeteer-core';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { BrowserRig, localService, startBrowserRig } from '../helpers/browser-rig';
import { TestApp } from '../helpers/test-app';

/**
 * Step-up in Debian's Chromium: a user logged in with the password to a plain application goes on
 * to an application whose CAS JSON definition has a multifactorPolicy. Only the code is asked (the
 * SSO session stands), then the browser lands on that application with a ticket whose validation
 * releases authnContextClass; the next visit asks nothing. Both applications are one tiny local
 * HTTP server, at two paths registered as two services.
 */
describe('step-up to an MFA service in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let t: TestApp;
  let casUrl: string;
  let plainUrl: string;
  let payrollUrl: string;
  let secret: string;

  beforeAll(async () => {
    rig = await startBrowserRig({
      services: (appPort) => [
        localService(appPort, 1, 'library'),
        localService(appPort, 2, 'payroll', {
          multifactorPolicy: {
            '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
            multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
            failureMode: 'CLOSED',
          },
        }),
      ],
      env: {
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    ({ t, casUrl } = rig);
    plainUrl = `${rig.appOrigin}/library`;
    payrollUrl = `${rig.appOrigin}/payroll`;
    t.clock.freeze();
    // casuser already has an authenticator app (enrolment is mfa-gauth-browser's subject).
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    secret = e.secret;
    expect((await gauth.confirm(e.credentialId, codeAt(t, secret))).ok).toBe(true);
    t.clock.advance(30);
  });

  afterAll(async () => {
    await rig?.close();
  });

  function codeAt(app: TestApp, key: string): string {
    return authenticator.clone({ digits: 6, step: 30, epoch: app.clock.now().getTime() }).generate(key);
  }

  const submit = (page: Page): Promise<HTTPResponse> => rig.clickAndWait(page);

  const loginUrl = (service: string) => `${casUrl}/login?service=${encodeURIComponent(service)}`;

  /** The ticket in the browser's URL, validated over HTTP (CAS 3 JSON). */
  const validated = (page: Page, service: string) => rig.validated(page, service);

  it('password at the plain service, then the MFA service asks for the code only, then tickets; the next visit asks nothing', async () => {
    const page = await rig.freshPage();

    // 1. The password, at the plain service: a ticket, no code.
    await page.goto(loginUrl(plainUrl), { waitUntil: 'load' });
    await page.type('#username', 'casuser');
    await page.type('#password', 'Mellon');
    await submit(page);
    const plain = await validated(page, plainUrl);
    expect(plain.user).toBe('casuser');
    expect(plain.attributes.authnContextClass).toBeUndefined();

    // 2. On to the MFA service: the code page only (the SSO session stands; no password field).
    const stepUp = await page.goto(loginUrl(payrollUrl), { waitUntil: 'load' });
    expect(stepUp!.status()).toBe(200);
    expect(await page.$('#token')).not.toBeNull();
    expect(await page.$('#password')).toBeNull();
    await rig.screenshotDesktopAndPhone(page, 'mfa-step-up-code-desktop', 'mfa-step-up-code-phone');

    // 3. The code: the MFA service with a ticket carrying the factor.
    await page.type('#token', codeAt(t, secret));
    await submit(page);
    const payroll = await validated(page, payrollUrl);
    expect(payroll.user).toBe('casuser');
    expect(payroll.attributes.authnContextClass).toEqual(['mfa-gauth']);

    // 4. The session has the factor now: straight back with a ticket.
    await page.goto(loginUrl(payrollUrl), { waitUntil: 'load' });
    expect((await validated(page, payrollUrl)).attributes.authnContextClass).toEqual(['mfa-gauth']);
    await page.browserContext().close();
  });
});

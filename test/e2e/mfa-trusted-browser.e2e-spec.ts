import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { HTTPResponse, Page } from 'puppeteer-core';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { BrowserRig, startBrowserRig } from '../helpers/browser-rig';
import { TestApp } from '../helpers/test-app';

/**
 * Trusted devices in Debian's Chromium: the code page's "Remember this browser" box ticked with a
 * right code; after logging out, the next login in that browser goes from the password straight
 * to the application, no code page; a fresh browser is still asked. The application is a tiny
 * local HTTP server registered as the only service.
 */
describe('mfa trusted device in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let t: TestApp;
  let casUrl: string;
  let serviceUrl: string;
  let secret: string;

  beforeAll(async () => {
    rig = await startBrowserRig({
      env: {
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'true',
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    ({ t, casUrl, serviceUrl } = rig);
    t.clock.freeze();
    // The device is enrolled beforehand: enrolment in the browser is mfa-gauth-browser.e2e-spec's.
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(e.secret))).ok).toBe(true);
    t.clock.advance(30);
    secret = e.secret;
  });

  afterAll(async () => {
    await rig?.close();
  });

  function codeAt(s: string): string {
    return authenticator.clone({ digits: 6, step: 30, epoch: t.clock.now().getTime() }).generate(s);
  }

  const freshPage = () => rig.freshPage();
  const submit = (page: Page): Promise<HTTPResponse> => rig.clickAndWait(page);
  const passwordStep = (page: Page) => rig.passwordStep(page, { query: '&authn_method=mfa-gauth' });

  const atService = (page: Page) => {
    const url = new URL(page.url());
    return `${url.origin}${url.pathname}` === serviceUrl && /^ST-/.test(url.searchParams.get('ticket') ?? '');
  };

  it('tick "Remember this browser", log out, log in again: no code page; a fresh browser is still asked', async () => {
    const page = await freshPage();
    const codePage = await passwordStep(page);
    expect(codePage.status()).toBe(200);
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('Two-step verification');
    const label = await page.$eval('input[name=trustDevice]', (e) => e.parentElement?.textContent?.trim());
    expect(label).toBe('Remember this browser for 30 days');
    await rig.screenshotDesktopAndPhone(page, 'mfa-trusted-code-page', 'mfa-trusted-code-page-phone');

    await page.type('#token', codeAt(secret));
    await page.click('input[name=trustDevice]');
    await submit(page);
    expect(atService(page)).toBe(true);
    const trusted = (await page.cookies(casUrl)).find((c) => c.name === 'MFATRUSTED');
    expect(trusted).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/cas' });

    await page.goto(`${casUrl}/logout`, { waitUntil: 'load' });
    expect((await page.cookies(casUrl)).some((c) => c.name === 'TGC')).toBe(false);
    t.clock.advance(3600);
    await passwordStep(page);
    expect(atService(page)).toBe(true);
    expect(await page.$('#token')).toBeNull();

    const other = await freshPage();
    await passwordStep(other);
    expect(await other.$('#token')).not.toBeNull();
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { HTTPResponse, Page } from 'puppeteer-core';
import { BrowserRig, DESKTOP, PHONE, startBrowserRig } from '../helpers/browser-rig';
import { TestApp } from '../helpers/test-app';

/** The code an authenticator app shows for `secret` at the server's (frozen) clock. */
function codeAt(t: TestApp, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: t.clock.now().getTime() }).generate(secret);
}

/**
 * mfa-gauth (TOTP) in Debian's Chromium: the real login form, enrolment by reading the key from
 * the page, a code computed here at the server's clock, the ticket at the service; then a fresh
 * browser asked for the code only, refusing a replayed code. The application is a tiny local
 * HTTP server registered as the only service; the browser really lands on it.
 */
describe('mfa-gauth in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let t: TestApp;
  let casUrl: string;

  beforeAll(async () => {
    rig = await startBrowserRig({
      env: {
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    ({ t, casUrl } = rig);
    // The server verifies codes against its injected clock: freeze it, compute codes at it.
    t.clock.freeze();
  });

  afterAll(async () => {
    await rig?.close();
  });

  /** Opens the login asking for mfa-gauth and posts the password: the page after it. */
  const passwordStep = (page: Page) => rig.passwordStep(page, { query: '&authn_method=mfa-gauth' });

  async function enterCode(page: Page, code: string): Promise<HTTPResponse> {
    await page.waitForSelector('#token');
    await page.type('#token', code);
    return rig.clickAndWait(page);
  }

  const validated = (page: Page) => rig.validated(page);
  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');

  it('enrols with the key read from the page, logs in with a computed code; the next login asks for the code only and refuses a replayed one', async () => {
    // 1. Password, then enrolment (no device yet).
    const page = await rig.freshPage();
    const enrolment = await passwordStep(page);
    expect(enrolment.status()).toBe(200);
    expect(await text(page, 'h1')).toBe('Set up two-step verification');
    const secret = await page.$eval('#secret', (e) => (e as unknown as { value: string }).value);
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await page.$$eval('.scratch-codes li', (l) => l.length)).toBe(5);
    expect(await page.$('.qr-code svg')).not.toBeNull();
    await rig.screenshotDesktopAndPhone(page, 'mfa-gauth-enrolment-desktop', 'mfa-gauth-enrolment-phone');

    // 2. The first code confirms the device and lands on the service with a ticket.
    const code = codeAt(t, secret);
    await enterCode(page, code);
    const first = await validated(page);
    expect(first.user).toBe('casuser');
    expect(first.attributes.authnContextClass).toEqual(['mfa-gauth']);

    // 3. A fresh browser (no SSO cookie): the code page only, no key shown again.
    const next = await rig.freshPage();
    const codePage = await passwordStep(next);
    expect(codePage.status()).toBe(200);
    expect(await text(next, 'h1')).toBe('Two-step verification');
    expect(await next.$('#secret')).toBeNull();
    expect(await next.$('#password')).toBeNull();
    await rig.screenshot(next, 'mfa-gauth-code');

    // 4. The same code again (same time step, already used): refused, with its message.
    const refused = await enterCode(next, code);
    expect(refused.status()).toBe(401);
    expect(await text(next, '.error[role=alert]')).toContain('already used');
    expect(new URL(next.url()).origin).toBe(new URL(casUrl).origin);
    await rig.screenshot(next, 'mfa-gauth-code-replayed');
    await next.setViewport(PHONE);
    await rig.screenshot(next, 'mfa-gauth-code-replayed-phone');
    await next.setViewport(DESKTOP);

    // 5. The next time step's code, on the same page: the service, with the factor.
    t.clock.advance(30);
    await enterCode(next, codeAt(t, secret));
    expect((await validated(next)).attributes.authnContextClass).toEqual(['mfa-gauth']);
  });
});

import type { CDPSession, HTTPResponse, Page } from 'puppeteer-core';
import { UsersService } from '../../src/auth/users.service';
import { BrowserRig, startBrowserRig } from '../helpers/browser-rig';
import { TestApp } from '../helpers/test-app';

/** What Chrome's virtual authenticator keeps of a credential (DevTools WebAuthn.Credential). */
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

/**
 * mfa-webauthn in Debian's Chromium with DevTools' virtual authenticator (a platform passkey with
 * user verification): registration right after the password, the next login with it, a
 * passkey-only login from the login form (allow-primary-authentication), and a cloned passkey (a
 * copy whose signature counter is behind) refused and flagged. WebAuthn needs a secure context:
 * the server is on http://localhost, so the relying party id is `localhost` (from the prefix).
 */
describe('mfa-webauthn in a real browser (chromium, virtual authenticator)', () => {
  let rig: BrowserRig;
  let t: TestApp;
  let casUrl: string;
  let serviceUrl: string;

  beforeAll(async () => {
    rig = await startBrowserRig({
      casHost: 'localhost',
      env: {
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
        CAS_AUTHN_MFA_WEB_AUTHN_CORE_ALLOW_PRIMARY_AUTHENTICATION: 'true',
      },
    });
    ({ t, casUrl, serviceUrl } = rig);
  });

  afterAll(async () => {
    await rig?.close();
  });

  /** A page in a fresh context (its own cookies) with its own virtual authenticator. */
  async function freshPage(): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
    const page = await rig.freshPage();
    const cdp = await page.createCDPSession();
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { page, cdp, authenticatorId };
  }

  const clickAndWait = (page: Page, selector: string): Promise<HTTPResponse> => rig.clickAndWait(page, selector);

  const WEBAUTHN_BUTTON = 'form[data-webauthn] button';

  /** The login (asking for mfa-webauthn unless `query` says otherwise), the password posted: the page after it. */
  const passwordStep = (page: Page, username = 'casuser', password = 'Mellon', query = '&authn_method=mfa-webauthn'): Promise<HTTPResponse> =>
    rig.passwordStep(page, { username, password, query });

  const validated = (page: Page) => rig.validated(page);
  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');

  /** Desktop and phone screenshots, named `<name>-desktop.png` and `<name>-phone.png`. */
  const shoot = (page: Page, name: string) => rig.screenshotDesktopAndPhone(page, `${name}-desktop`, `${name}-phone`);

  it('registers a passkey after the password, logs in with it again, then with it alone; a clone behind on its counter is refused and flagged', async () => {
    // 1. Password, then registration (no credential yet); the virtual authenticator answers.
    const a = await freshPage();
    await a.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}`, { waitUntil: 'load' });
    await a.page.waitForSelector(WEBAUTHN_BUTTON, { visible: true });
    await shoot(a.page, 'mfa-webauthn-login-form-passkey');
    const registration = await passwordStep(a.page);
    expect(registration.status()).toBe(200);
    expect(registration.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await text(a.page, 'h1')).toBe('Set up a security key or passkey');
    await a.page.waitForSelector(WEBAUTHN_BUTTON, { visible: true });
    await shoot(a.page, 'mfa-webauthn-registration');
    await clickAndWait(a.page, WEBAUTHN_BUTTON);
    const first = await validated(a.page);
    expect(first.user).toBe('casuser');
    expect(first.attributes.authnContextClass).toEqual(['mfa-webauthn']);
    const rows = await t.sql.query(`SELECT username, sign_count, device_type, flagged_at, transports FROM webauthn_credentials`);
    expect(rows.rows).toEqual([expect.objectContaining({ username: 'casuser', flagged_at: null })]);

    // 2. No SSO cookie: the password, then the passkey (an assertion, not a registration).
    await a.cdp.send('Network.clearBrowserCookies');
    const assertion = await passwordStep(a.page);
    expect(assertion.status()).toBe(200);
    expect(await text(a.page, 'h1')).toBe('Verify with your security key or passkey');
    await shoot(a.page, 'mfa-webauthn-authentication');
    await clickAndWait(a.page, WEBAUTHN_BUTTON);
    expect((await validated(a.page)).attributes.authnContextClass).toEqual(['mfa-webauthn']);

    // 3. Passkey only: "Sign in with a passkey" on the login form, no username, no password.
    await a.cdp.send('Network.clearBrowserCookies');
    await a.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}`, { waitUntil: 'load' });
    await clickAndWait(a.page, WEBAUTHN_BUTTON);
    const passwordless = await validated(a.page);
    expect(passwordless.user).toBe('casuser');
    expect(passwordless.attributes.authnContextClass).toEqual(['mfa-webauthn']);
    expect(passwordless.attributes.successfulAuthenticationHandlers).toEqual(['WebAuthnAuthenticationHandler']);

    // 4. A copy of the passkey in another browser, its counter behind the original's: refused, flagged.
    const { credentials } = (await a.cdp.send('WebAuthn.getCredentials', { authenticatorId: a.authenticatorId })) as { credentials: VirtualCredential[] };
    expect(credentials).toHaveLength(1);
    const stored = Number((await t.sql.query(`SELECT sign_count FROM webauthn_credentials`)).rows[0].sign_count);
    expect(stored).toBeGreaterThanOrEqual(3);
    const b = await freshPage();
    await b.cdp.send('WebAuthn.addCredential', { authenticatorId: b.authenticatorId, credential: { ...credentials[0], signCount: 0 } });
    await b.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}`, { waitUntil: 'load' });
    const cloned = await clickAndWait(b.page, WEBAUTHN_BUTTON);
    expect(cloned.status()).toBe(401);
    expect(new URL(b.page.url()).origin).toBe(new URL(casUrl).origin);
    expect(await text(b.page, '.error[role=alert]')).toContain('may have been copied');
    await shoot(b.page, 'mfa-webauthn-cloned');
    expect((await t.sql.query(`SELECT flagged_at FROM webauthn_credentials`)).rows[0].flagged_at).toBeInstanceOf(Date);

    // 5. Flagged: the original is refused too, until an administrator removes it.
    await a.cdp.send('Network.clearBrowserCookies');
    const refused = await passwordStep(a.page);
    expect(refused.status()).toBe(200);
    const after = await clickAndWait(a.page, WEBAUTHN_BUTTON);
    expect(after.status()).toBe(401);
    expect(await text(a.page, '.error[role=alert]')).toContain('may have been copied');
  });

  it("steps up a password-only SSO session with a new passkey (no password asked again); a disabled account's passkey logs nobody in", async () => {
    await t.app.get(UsersService).add('dora', 'Correct-Horse-9', { displayName: ['Dora Explorer'] });
    const d = await freshPage();
    // A password-only session first (no provider asked): the service gets its ticket at once.
    await passwordStep(d.page, 'dora', 'Correct-Horse-9', '');
    expect((await validated(d.page)).attributes.authnContextClass).toBeUndefined();
    // The same browser asked for mfa-webauthn: the key only (here its registration), then the ticket.
    const stepUp = await d.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}&authn_method=mfa-webauthn`, { waitUntil: 'load' });
    expect(stepUp!.status()).toBe(200);
    expect(await text(d.page, 'h1')).toBe('Set up a security key or passkey');
    expect(await d.page.$('#password')).toBeNull();
    await clickAndWait(d.page, WEBAUTHN_BUTTON);
    const stepped = await validated(d.page);
    expect(stepped.user).toBe('dora');
    expect(stepped.attributes.authnContextClass).toEqual(['mfa-webauthn']);

    // Passkey login works for dora, with her account's attributes; then the account is disabled.
    await d.cdp.send('Network.clearBrowserCookies');
    await d.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}`, { waitUntil: 'load' });
    await clickAndWait(d.page, WEBAUTHN_BUTTON);
    const passkey = await validated(d.page);
    expect(passkey.user).toBe('dora');
    expect(passkey.attributes.displayName).toEqual(['Dora Explorer']);
    await t.app.get(UsersService).disable('dora');
    await d.cdp.send('Network.clearBrowserCookies');
    await d.page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}`, { waitUntil: 'load' });
    const disabled = await clickAndWait(d.page, WEBAUTHN_BUTTON);
    expect(disabled.status()).toBe(401);
    expect(await text(d.page, 'h1')).toBe('This account has been disabled.');
    expect((await d.page.cookies()).map((c) => c.name)).not.toContain('TGC');
  });
});

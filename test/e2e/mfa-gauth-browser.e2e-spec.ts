import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { authenticator } from 'otplib';
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';
import { freePort } from '../../src/database/embedded-postgres';
import { launchChromium } from '../helpers/chromium';
import { startTestApp, TestApp } from '../helpers/test-app';

/** Where the screenshots of the MFA pages go (gitignored), to be looked at by a person. */
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
const DESKTOP = { width: 1280, height: 900 };
// Not isMobile: switching it reloads the page (a re-posted form); 390 CSS pixels wide is the phone's layout.
const PHONE = { width: 390, height: 844 };

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
  let t: TestApp;
  let casUrl: string;
  let browser: Browser;
  let application: Server;
  let serviceUrl: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    application = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>App</title><h1>App</h1>'));
    await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
    const appPort = (application.address() as AddressInfo).port;
    serviceUrl = `http://127.0.0.1:${appPort}/app`;
    const casPort = await freePort();
    casUrl = `http://127.0.0.1:${casPort}/cas`;
    t = await startTestApp({
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          serviceId: `^http://127\\.0\\.0\\.1:${appPort}/app(\\?.*)?$`,
          name: 'Local application',
          id: 1,
          evaluationOrder: 1,
          attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
        },
      ],
      env: {
        CAS_SERVER_PREFIX: casUrl,
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });
    expect((t.app.getHttpServer().address() as AddressInfo).port).toBe(casPort);
    // The server verifies codes against its injected clock: freeze it, compute codes at it.
    t.clock.freeze();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    application?.closeAllConnections();
    await new Promise((resolve) => (application ? application.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  /** A page in a fresh context: its own cookies, as a new browser. */
  async function freshPage(): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(DESKTOP);
    blocked.set(
      page,
      new Promise<never>((_resolve, reject) =>
        page.on('console', (m) => {
          if (m.type() === 'error' && m.text().includes('Content Security Policy')) reject(new Error(`the browser blocked: ${m.text()}`));
        }),
      ),
    );
    blocked.get(page)!.catch(() => undefined);
    return page;
  }

  /** Per page: rejects when Chromium refuses something under the page's CSP (else a navigation would just never come). */
  const blocked = new Map<Page, Promise<never>>();

  /** Clicks the form's submit button and waits for the page it leads to. */
  async function submit(page: Page): Promise<HTTPResponse> {
    const [res] = await Promise.race([Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]), blocked.get(page)!]);
    return res!;
  }

  /** Opens the login asking for mfa-gauth and posts the password: the page after it. */
  async function passwordStep(page: Page): Promise<HTTPResponse> {
    const form = await page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}&authn_method=mfa-gauth`, { waitUntil: 'load' });
    expect(form!.status()).toBe(200);
    await page.type('#username', 'casuser');
    await page.type('#password', 'Mellon');
    return submit(page);
  }

  async function enterCode(page: Page, code: string): Promise<HTTPResponse> {
    await page.waitForSelector('#token');
    await page.type('#token', code);
    return submit(page);
  }

  /** The ticket in the URL the browser was sent to, validated over HTTP (CAS 3 JSON). */
  async function validated(page: Page): Promise<{ user: string; attributes: Record<string, unknown> }> {
    const url = new URL(page.url());
    expect(`${url.origin}${url.pathname}`).toBe(serviceUrl);
    const ticket = url.searchParams.get('ticket');
    expect(ticket).toMatch(/^ST-/);
    const res = await fetch(`${casUrl}/p3/serviceValidate?format=JSON&service=${encodeURIComponent(serviceUrl)}&ticket=${encodeURIComponent(ticket!)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { serviceResponse: { authenticationSuccess: { user: string; attributes: Record<string, unknown> } } };
    return body.serviceResponse.authenticationSuccess;
  }

  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');

  it('enrols with the key read from the page, logs in with a computed code; the next login asks for the code only and refuses a replayed one', async () => {
    // 1. Password, then enrolment (no device yet).
    const page = await freshPage();
    const enrolment = await passwordStep(page);
    expect(enrolment.status()).toBe(200);
    expect(await text(page, 'h1')).toBe('Set up two-step verification');
    const secret = await page.$eval('#secret', (e) => (e as unknown as { value: string }).value);
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await page.$$eval('.scratch-codes li', (l) => l.length)).toBe(5);
    expect(await page.$('.qr-code svg')).not.toBeNull();
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-gauth-enrolment-desktop.png'), fullPage: true });
    await page.setViewport(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-gauth-enrolment-phone.png'), fullPage: true });
    // Nothing wider than the phone: no sideways scrolling.
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.setViewport(DESKTOP);

    // 2. The first code confirms the device and lands on the service with a ticket.
    const code = codeAt(t, secret);
    await enterCode(page, code);
    const first = await validated(page);
    expect(first.user).toBe('casuser');
    expect(first.attributes.authnContextClass).toEqual(['mfa-gauth']);

    // 3. A fresh browser (no SSO cookie): the code page only, no key shown again.
    const next = await freshPage();
    const codePage = await passwordStep(next);
    expect(codePage.status()).toBe(200);
    expect(await text(next, 'h1')).toBe('Two-step verification');
    expect(await next.$('#secret')).toBeNull();
    expect(await next.$('#password')).toBeNull();
    await next.screenshot({ path: join(SCREENSHOTS, 'mfa-gauth-code.png'), fullPage: true });

    // 4. The same code again (same time step, already used): refused, with its message.
    const refused = await enterCode(next, code);
    expect(refused.status()).toBe(401);
    expect(await text(next, '.error[role=alert]')).toContain('already used');
    expect(new URL(next.url()).origin).toBe(new URL(casUrl).origin);
    await next.screenshot({ path: join(SCREENSHOTS, 'mfa-gauth-code-replayed.png'), fullPage: true });
    await next.setViewport(PHONE);
    await next.screenshot({ path: join(SCREENSHOTS, 'mfa-gauth-code-replayed-phone.png'), fullPage: true });
    await next.setViewport(DESKTOP);

    // 5. The next time step's code, on the same page: the service, with the factor.
    t.clock.advance(30);
    await enterCode(next, codeAt(t, secret));
    expect((await validated(next)).attributes.authnContextClass).toEqual(['mfa-gauth']);
  });
});

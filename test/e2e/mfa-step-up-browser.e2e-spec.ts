import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { authenticator } from 'otplib';
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { freePort } from '../../src/database/embedded-postgres';
import { launchChromium } from '../helpers/chromium';
import { startTestApp, TestApp } from '../helpers/test-app';

/** Where the screenshots go (gitignored), to be looked at by a person. */
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/**
 * Step-up in Debian's Chromium: a user logged in with the password to a plain application goes on
 * to an application whose CAS JSON definition has a multifactorPolicy. Only the code is asked (the
 * SSO session stands), then the browser lands on that application with a ticket whose validation
 * releases authnContextClass; the next visit asks nothing. Both applications are one tiny local
 * HTTP server, at two paths registered as two services.
 */
describe('step-up to an MFA service in a real browser (chromium)', () => {
  let t: TestApp;
  let casUrl: string;
  let browser: Browser;
  let application: Server;
  let plainUrl: string;
  let payrollUrl: string;
  let secret: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    application = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>App</title><h1>App</h1>'));
    await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
    const appPort = (application.address() as AddressInfo).port;
    plainUrl = `http://127.0.0.1:${appPort}/library`;
    payrollUrl = `http://127.0.0.1:${appPort}/payroll`;
    const casPort = await freePort();
    casUrl = `http://127.0.0.1:${casPort}/cas`;
    const service = (id: number, path: string, extra: Record<string, unknown> = {}) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      serviceId: `^http://127\\.0\\.0\\.1:${appPort}/${path}(\\?.*)?$`,
      name: path,
      id,
      evaluationOrder: id,
      attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
      ...extra,
    });
    t = await startTestApp({
      services: [
        service(1, 'library'),
        service(2, 'payroll', {
          multifactorPolicy: {
            '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
            multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
            failureMode: 'CLOSED',
          },
        }),
      ],
      env: {
        CAS_SERVER_PREFIX: casUrl,
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });
    t.clock.freeze();
    // casuser already has an authenticator app (enrolment is mfa-gauth-browser's subject).
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    secret = e.secret;
    expect((await gauth.confirm(e.credentialId, codeAt(t, secret))).ok).toBe(true);
    t.clock.advance(30);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    application?.closeAllConnections();
    await new Promise((resolve) => (application ? application.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  function codeAt(app: TestApp, key: string): string {
    return authenticator.clone({ digits: 6, step: 30, epoch: app.clock.now().getTime() }).generate(key);
  }

  async function submit(page: Page): Promise<HTTPResponse> {
    const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
    return res!;
  }

  const loginUrl = (service: string) => `${casUrl}/login?service=${encodeURIComponent(service)}`;

  /** The ticket in the browser's URL, validated over HTTP (CAS 3 JSON). */
  async function validated(page: Page, service: string): Promise<{ user: string; attributes: Record<string, unknown> }> {
    const url = new URL(page.url());
    expect(`${url.origin}${url.pathname}`).toBe(service);
    const ticket = url.searchParams.get('ticket');
    expect(ticket).toMatch(/^ST-/);
    const res = await fetch(`${casUrl}/p3/serviceValidate?format=JSON&service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket!)}`);
    return ((await res.json()) as { serviceResponse: { authenticationSuccess: { user: string; attributes: Record<string, unknown> } } }).serviceResponse.authenticationSuccess;
  }

  it('password at the plain service, then the MFA service asks for the code only, then tickets; the next visit asks nothing', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(DESKTOP);

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
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-step-up-code-desktop.png'), fullPage: true });
    await page.setViewport(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-step-up-code-phone.png'), fullPage: true });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.setViewport(DESKTOP);

    // 3. The code: the MFA service with a ticket carrying the factor.
    await page.type('#token', codeAt(t, secret));
    await submit(page);
    const payroll = await validated(page, payrollUrl);
    expect(payroll.user).toBe('casuser');
    expect(payroll.attributes.authnContextClass).toEqual(['mfa-gauth']);

    // 4. The session has the factor now: straight back with a ticket.
    await page.goto(loginUrl(payrollUrl), { waitUntil: 'load' });
    expect((await validated(page, payrollUrl)).attributes.authnContextClass).toEqual(['mfa-gauth']);
    await context.close();
  });
});

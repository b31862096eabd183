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

/** Where the screenshots of the MFA pages go (gitignored), to be looked at by a person. */
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/**
 * Trusted devices in Debian's Chromium: the code page's "Remember this browser" box ticked with a
 * right code; after logging out, the next login in that browser goes from the password straight
 * to the application, no code page; a fresh browser is still asked. The application is a tiny
 * local HTTP server registered as the only service.
 */
describe('mfa trusted device in a real browser (chromium)', () => {
  let t: TestApp;
  let casUrl: string;
  let browser: Browser;
  let application: Server;
  let serviceUrl: string;
  let secret: string;

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
        CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'true',
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      },
    });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });
    t.clock.freeze();
    // The device is enrolled beforehand: enrolment in the browser is mfa-gauth-browser.e2e-spec's.
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(e.secret))).ok).toBe(true);
    t.clock.advance(30);
    secret = e.secret;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    application?.closeAllConnections();
    await new Promise((resolve) => (application ? application.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  function codeAt(s: string): string {
    return authenticator.clone({ digits: 6, step: 30, epoch: t.clock.now().getTime() }).generate(s);
  }

  async function freshPage(): Promise<Page> {
    const page = await (await browser.createBrowserContext()).newPage();
    await page.setViewport(DESKTOP);
    return page;
  }

  async function submit(page: Page): Promise<HTTPResponse> {
    const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
    return res!;
  }

  async function passwordStep(page: Page): Promise<HTTPResponse> {
    const form = await page.goto(`${casUrl}/login?service=${encodeURIComponent(serviceUrl)}&authn_method=mfa-gauth`, { waitUntil: 'load' });
    expect(form!.status()).toBe(200);
    await page.type('#username', 'casuser');
    await page.type('#password', 'Mellon');
    return submit(page);
  }

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
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-trusted-code-page.png'), fullPage: true });
    await page.setViewport(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'mfa-trusted-code-page-phone.png'), fullPage: true });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.setViewport(DESKTOP);

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

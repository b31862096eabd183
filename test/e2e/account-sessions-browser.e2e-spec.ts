import { mkdirSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';
import { freePort } from '../../src/database/embedded-postgres';
import { launchChromium } from '../helpers/chromium';
import { startTestApp, TestApp } from '../helpers/test-app';

/** Where the screenshots of the account page go (gitignored), to be looked at by a person. */
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
const DESKTOP = { width: 1280, height: 900 };
// Not isMobile: switching it reloads the page; 390 CSS pixels wide is the phone's layout.
const PHONE = { width: 390, height: 844 };
const LAPTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/**
 * The account page in Debian's Chromium: one user logged in from two "devices" (two browser
 * contexts with their own cookies and User-Agents), each through a real application; the laptop
 * opens its sessions page, sees both, logs the phone out with the button, and sees one. The
 * application is a tiny local HTTP server with a back-channel logout URL.
 */
describe('the account sessions page in a real browser (chromium)', () => {
  let t: TestApp;
  let casUrl: string;
  let browser: Browser;
  let application: Server;
  let appBase: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    application = createServer((req, res) => {
      if (req.method === 'POST') {
        req.resume();
        req.on('end', () => res.writeHead(200).end('ok'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>App</title><h1>App</h1>');
    });
    await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
    const appPort = (application.address() as AddressInfo).port;
    appBase = `http://127.0.0.1:${appPort}`;
    const casPort = await freePort();
    casUrl = `http://127.0.0.1:${casPort}/cas`;
    const service = (id: number, name: string, path: string) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      serviceId: `^http://127\\.0\\.0\\.1:${appPort}/${path}(\\?.*)?$`,
      name,
      id,
      evaluationOrder: id,
      logoutUrl: `${appBase}/logout`,
    });
    t = await startTestApp({
      services: [
        service(1, 'Mail', 'mail'),
        // A long name and URL: the page must wrap them, not widen.
        service(2, 'Research data management and electronic lab notebook service', 'projects/research-data-management/electronic-lab-notebook/workspace'),
      ],
      env: { CAS_SERVER_PREFIX: casUrl, CAS_SLO_DISABLED: 'false' },
    });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    application?.closeAllConnections();
    await new Promise((resolve) => (application ? application.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  /** Per page: rejects when Chromium refuses something under the page's CSP. */
  const blocked = new Map<Page, Promise<never>>();

  /** A page in a fresh context (its own cookies, as another device) with its own User-Agent. */
  async function device(userAgent: string): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setUserAgent(userAgent);
    await page.setViewport(DESKTOP);
    const csp = new Promise<never>((_resolve, reject) =>
      page.on('console', (m) => {
        if (m.type() === 'error' && m.text().includes('Content Security Policy')) reject(new Error(`the browser blocked: ${m.text()}`));
      }),
    );
    csp.catch(() => undefined);
    blocked.set(page, csp);
    return page;
  }

  async function click(page: Page, selector: string): Promise<HTTPResponse> {
    const [res] = await Promise.race([Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]), blocked.get(page)!]);
    return res!;
  }

  /** Goes to an application's login link: the form the first time, single sign-on after; the application with a ticket. */
  async function logIn(page: Page, path: string): Promise<void> {
    await page.goto(`${casUrl}/login?service=${encodeURIComponent(`${appBase}/${path}`)}`, { waitUntil: 'load' });
    if (page.url().startsWith(casUrl)) {
      await page.type('#username', 'casuser');
      await page.type('#password', 'Mellon');
      await click(page, 'button[type=submit]');
    }
    expect(page.url()).toMatch(new RegExp(`^${appBase}/${path}\\?ticket=ST-`));
  }

  /** Desktop and phone screenshots of the page as it is; nothing wider than the phone. */
  async function screenshots(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewport(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(PHONE.width);
    await page.setViewport(DESKTOP);
  }

  const sessionTitles = (page: Page) => page.$$eval('.session h2', (l) => l.map((e) => e.textContent ?? ''));

  it('shows both devices, this one marked; "Log out this one" ends the other (single logout sent), and one is left', async () => {
    const laptop = await device(LAPTOP_UA);
    await logIn(laptop, 'mail');
    await logIn(laptop, 'projects/research-data-management/electronic-lab-notebook/workspace');
    const phone = await device(PHONE_UA);
    await logIn(phone, 'mail');

    // Where each came from, as session-origin records it at login: a long User-Agent and an
    // IPv6 address must wrap; the phone has no location (no GeoIP data for it).
    const tgts = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY created_at`)).rows.map((r) => r.id as string);
    await t.sql.query(
      `UPDATE tickets SET client_ip = '2001:db8:85a3:8d3:1319:8a2e:370:7348', user_agent = $2, device_browser = 'Chrome 131', device_os = 'Linux',
              device_type = 'desktop', location_country = 'FR', location_city = 'Lyon' WHERE id = $1`,
      [tgts[0], LAPTOP_UA],
    );
    await t.sql.query(
      `UPDATE tickets SET client_ip = '203.0.113.7', user_agent = $2, device_browser = 'Safari 17.5', device_os = 'iOS 17.5', device_type = 'mobile' WHERE id = $1`,
      [tgts[1], PHONE_UA],
    );

    const opened = await laptop.goto(`${casUrl}/account/sessions`, { waitUntil: 'load' });
    expect(opened!.status()).toBe(200);
    expect(await sessionTitles(laptop)).toEqual(['Chrome 131 on LinuxThis browser', 'Safari 17.5 on iOS 17.5']);
    const apps = await laptop.$$eval('.session.current .apps li', (l) => l.map((e) => e.textContent ?? ''));
    expect(apps).toHaveLength(2);
    expect(apps.join('|')).toContain('Research data management');
    await screenshots(laptop, 'account-sessions-two');

    // The phone's own page marks the phone.
    await phone.goto(`${casUrl}/account/sessions`, { waitUntil: 'load' });
    expect(await sessionTitles(phone)).toEqual(['Safari 17.5 on iOS 17.5This browser', 'Chrome 131 on Linux']);

    // A second tab of the laptop, left open on the same list.
    const staleTab = await laptop.browserContext().newPage();
    await staleTab.setUserAgent(LAPTOP_UA);
    await staleTab.setViewport(DESKTOP);
    blocked.set(staleTab, blocked.get(laptop)!);
    await staleTab.goto(`${casUrl}/account/sessions`, { waitUntil: 'load' });
    // Headless Chromium throttles a tab in the background: the one being used comes to the front.
    await laptop.bringToFront();

    // "Log out this one" on the other session: back on the page, with one session and the notice.
    const after = await click(laptop, '.session:not(.current) button[type=submit]');
    expect(after.status()).toBe(200);
    expect(new URL(laptop.url()).pathname).toBe('/cas/account/sessions');
    expect(await laptop.$eval('.notice', (e) => e.textContent)).toBe('That session has been logged out.');
    expect(await sessionTitles(laptop)).toEqual(['Chrome 131 on LinuxThis browser']);
    // The phone's session is now one of the "Last sign-ins" (the session history), said how it ended.
    expect(await laptop.$$eval('.history .past h3', (l) => l.map((e) => e.textContent ?? ''))).toEqual(['Safari 17.5 on iOS 17.5']);
    expect(await laptop.$$eval('.history .past dd', (l) => l.map((e) => e.textContent ?? ''))).toContain('Logged out');
    await screenshots(laptop, 'account-sessions-one');

    // The stale tab's button for the session already ended: said so, nothing else ended.
    await staleTab.bringToFront();
    const stale = await click(staleTab, '.session:not(.current) button[type=submit]');
    expect(stale.status()).toBe(404);
    expect(await staleTab.$eval('.error', (e) => e.textContent)).toContain('already ended');
    await screenshots(staleTab, 'account-sessions-already-ended');
    await staleTab.close();
    await laptop.bringToFront();

    // The phone is logged out: its page asks it to log in.
    const phoneAfter = await phone.reload({ waitUntil: 'load' });
    expect(phoneAfter!.status()).toBe(401);
    expect(await phone.$eval('a', (e) => e.textContent)).toBe('Log in');
    await screenshots(phone, 'account-sessions-logged-out');

    // The phone session's back-channel logout request to the application was queued.
    const delivered = await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE reason = 'LOGOUT'`);
    expect(delivered.rows[0].n).toBe(1);
  });
});

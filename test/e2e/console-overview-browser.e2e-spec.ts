import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import type { Page } from 'puppeteer-core';
import { NodeHeartbeats } from '../../src/admin/node-heartbeats';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { type BrowserRig, DESKTOP, startBrowserRig } from '../helpers/browser-rig';
import { CONSOLE_TOKEN, CONSOLE_TOKEN_ENV } from '../helpers/console-rig';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** A port nobody listens on (connections refused at once): an LDAP source that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * The console's sign-in and overview in Debian's Chromium: a wrong token is refused on the
 * sign-in page, the right one leads to the overview, which shows an hour of logins made through
 * the real login page, a second node, and the warning of a directory that is down. Screenshots of
 * each page at desktop and phone width go to test-output/screenshots.
 */
describe('the console overview in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let ldapPort: number;

  beforeAll(async () => {
    ldapPort = await closedPort();
    rig = await startBrowserRig({
      env: {
        ...CONSOLE_TOKEN_ENV,
        // Second in the chain: the users of the static list still log in while it is down.
        CAS_AUTHN_LDAP_0_NAME: 'Staff directory',
        CAS_AUTHN_LDAP_0_TYPE: 'ANONYMOUS',
        CAS_AUTHN_LDAP_0_ORDER: '10',
        CAS_AUTHN_LDAP_0_LDAP_URL: `ldap://127.0.0.1:${ldapPort}`,
        CAS_AUTHN_LDAP_0_BASE_DN: 'ou=people,dc=example,dc=org',
        CAS_AUTHN_LDAP_0_MIN_POOL_SIZE: '0',
      },
    });
  });

  afterAll(async () => {
    await rig?.close();
  });

  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent?.trim());

  it('refuses a wrong token on the sign-in page, then signs in and shows the overview', async () => {
    const t = rig.t;
    // An hour of activity through the real login page: logins at three moments, a failed one.
    t.clock.freeze();
    const user = await rig.freshPage();
    await rig.passwordStep(user);
    await rig.validated(user);
    t.clock.advance(20 * 60);
    await rig.passwordStep(await rig.freshPage());
    await rig.passwordStep(await rig.freshPage(), { password: 'not-the-password' });
    t.clock.advance(25 * 60);
    await rig.passwordStep(await rig.freshPage());
    // A cleaner run on each node (the test app's schedule is off).
    await t.app.get(TicketRegistryCleaner).clean();
    // A second node on the same database, seen through its heartbeat.
    const second: TestApp = await startTestApp({ databaseUrl: t.config.databaseUrl, env: { ...CONSOLE_TOKEN_ENV } });
    try {
      await second.app.get(TicketRegistryCleaner).clean();
      await second.app.get(NodeHeartbeats).beat();

      const page = await rig.freshPage(DESKTOP);
      await page.goto(`${rig.casUrl}/admin`);
      await page.waitForSelector('#token');
      expect(new URL(page.url()).pathname).toBe('/cas/admin/login');
      await rig.screenshotDesktopAndPhone(page, 'console-signin-form-desktop', 'console-signin-form-phone');

      await page.type('#token', 'not-the-token');
      const refused = await rig.clickAndWait(page, 'form button[type=submit]');
      expect(refused.status()).toBe(401);
      expect(await page.content()).toContain('That token is not valid');
      await rig.screenshotDesktopAndPhone(page, 'console-signin-wrong-token-desktop', 'console-signin-wrong-token-phone');

      await page.type('#token', CONSOLE_TOKEN);
      const signedIn = await rig.clickAndWait(page, 'form button[type=submit]');
      expect(signedIn.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/cas/admin');
      expect(await text(page, 'h1')).toBe('Overview');
      expect(await text(page, '[data-figure=logins]')).toBe('3');
      expect(await text(page, '[data-figure=failures]')).toBe('1');
      expect(await text(page, '[data-figure=validations]')).toBe('1');
      expect(await text(page, '[data-figure=nodes]')).toBe('2');
      expect(await text(page, '[data-warning=ldap-down]')).toContain('The LDAP source Staff directory does not answer from this node');
      expect(await page.$$eval('svg.chart', (svgs) => svgs.length)).toBe(2);
      expect(await page.$$eval('#cleaner-h + p + .table-wrap tbody tr', (rows) => rows.length)).toBe(2);
      // The minute table opens from the keyboard.
      await page.focus('details summary');
      await page.keyboard.press('Enter');
      expect(await page.$eval('details', (d) => d.hasAttribute('open'))).toBe(true);
      await rig.screenshotDesktopAndPhone(page, 'console-overview-page-desktop', 'console-overview-page-phone');
    } finally {
      await second.close();
    }
  });
});

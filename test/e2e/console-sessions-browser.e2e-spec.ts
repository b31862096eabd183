import type { Page } from 'puppeteer-core';
import { Browser as HttpBrowser, ticketOf } from '../helpers/browser';
import { BrowserRig, DESKTOP, localService, startBrowserRig } from '../helpers/browser-rig';
import { CONSOLE_TOKEN_ENV, signInToConsole } from '../helpers/console-rig';
import { eventually } from '../helpers/eventually';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';

const LONG_USER = 'maximilian.alexander.featherstonehaugh-administrator';

/**
 * The Sessions pages in Debian's Chromium: an administrator signs in to the console, finds a
 * user's sessions by a prefix of the name, ends one (confirming), sees its single logout delivered
 * to the application and a failed one waiting, and retries that one with the button. Screenshots of
 * each page at desktop and phone width go to test-output/screenshots.
 */
describe('console sessions pages in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let rx: LogoutReceiver;
  let page: Page;

  beforeAll(async () => {
    rx = await logoutReceiver();
    rig = await startBrowserRig({
      env: {
        ...CONSOLE_TOKEN_ENV,
        CAS_SLO_DISABLED: 'false',
        AUTHN_THROTTLE_ENABLED: 'false',
        CAS_AUTHN_ACCEPT_USERS: ['alice', 'alicia', 'bob', 'carol', LONG_USER].map((u) => `${u}::Secret1`).join(','),
      },
      services: (appPort) => [
        localService(appPort, 1, 'app', { name: 'Mail', logoutUrl: `http://127.0.0.1:${rx.port}/logout` }),
        // Its logout URL refuses connections: the request fails and waits for a retry.
        localService(appPort, 2, 'wiki', { name: 'Research wiki and electronic lab notebook', logoutUrl: 'http://127.0.0.1:9/logout' }),
      ],
    });
    // Other users' sessions, from several addresses and devices, logged in over HTTP.
    const t = rig.t;
    const others: [string, string, string, string, string][] = [
      ['alicia', '10.20.30.40', 'Firefox 133', 'Linux', 'desktop'],
      ['bob', '192.0.2.17', 'Safari 18', 'iOS 18', 'mobile'],
      ['carol', '2001:db8:85a3::8a2e:370:7334', 'Edge 131', 'Windows 11', 'desktop'],
      ['carol', '198.51.100.23', 'Chrome 131', 'Android 15', 'mobile'],
      [LONG_USER, '203.0.113.99', 'Firefox 133', 'macOS 15', 'desktop'],
    ];
    for (const [user, ip, browser, os, type] of others) {
      const st = ticketOf(await new HttpBrowser(t.app).login(user, 'Secret1', rig.serviceUrl));
      await t.sql.query(
        `UPDATE tickets SET client_ip = $2, device_browser = $3, device_os = $4, device_type = $5, location_country = 'FR', location_city = 'Lyon'
          WHERE id = (SELECT session_id FROM tickets WHERE id = $1)`,
        [st, ip, browser, os, type],
      );
    }
  });
  afterAll(async () => {
    await rig?.close();
    await rx?.close();
  });

  it('finds alice by a prefix, ends her session, sees its logout delivered, and retries the failed one', async () => {
    // alice signs in to both applications in her own browser.
    const user = await rig.freshPage(DESKTOP);
    await rig.passwordStep(user, { username: 'alice', password: 'Secret1' });
    await rig.validated(user);
    await user.goto(`${rig.casUrl}/login?service=${encodeURIComponent(`${rig.appOrigin}/wiki`)}`, { waitUntil: 'load' });
    expect(new URL(user.url()).pathname).toBe('/wiki');

    page = await rig.freshPage(DESKTOP);
    await signInToConsole(page, rig.casUrl);
    await page.goto(`${rig.casUrl}/admin/sessions`, { waitUntil: 'load' });
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('Sessions');
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-explorer-desktop', 'console-sessions-explorer-phone');

    // A bad filter: the page again, with the message under the field.
    await page.type('#f-ip', '10.0.0.300');
    const bad = await rig.clickAndWait(page, '.filters button[type=submit]');
    expect(bad.status()).toBe(400);
    expect(await page.$eval('#f-ip-error', (e) => e.textContent)).toContain('Must be an IPv4 or IPv6 address or a CIDR range');
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-bad-filter-desktop', 'console-sessions-bad-filter-phone');

    // Find alice's sessions by the first letters of her name.
    await page.goto(`${rig.casUrl}/admin/sessions`, { waitUntil: 'load' });
    await page.type('#f-username', 'ali');
    await rig.clickAndWait(page, '.filters button[type=submit]');
    const users = await page.$$eval('td.user a', (as) => as.map((a) => a.textContent));
    expect(users.sort()).toEqual(['alice', 'alicia']);

    // Grouped by user.
    await page.select('#f-group', 'user');
    await rig.clickAndWait(page, '.filters button[type=submit]');
    expect(await page.$eval('.count', (e) => e.textContent)).toBe('2 matching sessions in 2 groups.');
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-grouped-desktop', 'console-sessions-grouped-phone');
    await page.goto(`${rig.casUrl}/admin/sessions?group=multipleIps`, { waitUntil: 'load' });
    expect(await page.$eval('tbody td', (e) => e.textContent)).toBe('carol');
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-multiple-ips-desktop', 'console-sessions-multiple-ips-phone');

    // alice's session: its page, then "End" on its row, confirmed.
    await page.goto(`${rig.casUrl}/admin/sessions?user=alice`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'td.row-actions a');
    expect(await page.$eval('h1', (e) => e.textContent)).toBe("alice's session live");
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-detail-live-desktop', 'console-sessions-detail-live-phone');
    await page.goto(`${rig.casUrl}/admin/sessions?user=alice`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'button[name=one]');
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('End 1 session?');
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-confirm-desktop', 'console-sessions-confirm-phone');
    const sessionIndex = (await rig.t.sql.query(`SELECT ticket_id FROM session_services WHERE service LIKE '%/app%' AND session_id IN (SELECT id FROM tickets WHERE principal = 'alice')`)).rows[0].ticket_id;
    await rig.clickAndWait(page, '.confirm button[type=submit]');
    await rx.receivedAll([sessionIndex]);

    expect(await page.$eval('h1', (e) => e.textContent)).toBe("alice's session ended");
    expect(await page.$eval('.notice', (e) => e.textContent)).toBe('The session was ended. Its single logout requests are below.');
    const status = async () =>
      page.$$eval('#deliveries tbody tr', (rows) => rows.map((r) => [r.querySelector('td .mono')?.textContent, r.querySelector('.badge')?.textContent, r.querySelector('td.num')?.textContent]));
    // Both outcomes recorded (the end waits for them, at most 1.5 s on a slow box), then the page as it is now.
    await eventually(async () => (await rig.t.sql.query(`SELECT count(*) FILTER (WHERE status = 'SENDING') AS n FROM slo_outbox WHERE principal = 'alice'`)).rows[0].n, (n) => n === '0');
    await page.reload({ waitUntil: 'load' });
    expect(await status()).toEqual([
      [`${rig.appOrigin}/app`, 'delivered', '1'],
      [`${rig.appOrigin}/wiki`, 'pending', '1'],
    ]);
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-detail-ended-desktop', 'console-sessions-detail-ended-phone');

    // "Retry now" sends the failed request again at once (it fails again: nothing listens).
    await rig.clickAndWait(page, 'form[action$="/retry"] button');
    expect(await page.$eval('.notice', (e) => e.textContent)).toBe('The logout request was sent again; its status is below.');
    await eventually(async () => (await rig.t.sql.query(`SELECT status, attempts FROM slo_outbox WHERE principal = 'alice' AND service LIKE '%/wiki'`)).rows[0], (r) => r.attempts === 2 && r.status !== 'SENDING');
    await page.reload({ waitUntil: 'load' });
    expect((await status())[1]).toEqual([`${rig.appOrigin}/wiki`, 'pending', '2']);
    // alice is signed out of single sign-on: her browser is asked for her password again.
    await user.goto(`${rig.casUrl}/login?service=${encodeURIComponent(rig.serviceUrl)}`, { waitUntil: 'load' });
    expect(await user.$('#password')).not.toBeNull();

    await page.goto(`${rig.casUrl}/admin/sessions/history?user=alice`, { waitUntil: 'load' });
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-history-desktop', 'console-sessions-history-phone');
    await page.goto(`${rig.casUrl}/admin/sessions?username=nobody`, { waitUntil: 'load' });
    await rig.screenshotDesktopAndPhone(page, 'console-sessions-empty-desktop', 'console-sessions-empty-phone');
  });
});

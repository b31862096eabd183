import type { Page } from 'puppeteer-core';
import { UsersService } from '../../src/auth/users.service';
import { type BrowserRig, DESKTOP, startBrowserRig } from '../helpers/browser-rig';
import { CONSOLE_TOKEN_ENV, signInToConsole } from '../helpers/console-rig';

/**
 * The Users & throttles and Audit pages in Debian's Chromium: an administrator adds a user (first
 * with a mistyped password, seeing the message by the field), disables them after the confirmation
 * page, finds an account locked out by failed logins under "Throttled now" and clears it, after
 * which the user logs in; then filters the audit log to their own changes. Screenshots of each page
 * at desktop and phone width go to test-output/screenshots.
 */
describe('console users, throttles and audit in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let page: Page;

  beforeAll(async () => {
    rig = await startBrowserRig({
      env: {
        ...CONSOLE_TOKEN_ENV,
        ARGON2_MEMORY_KIB: '8192',
        ARGON2_TIME_COST: '1',
        CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '900',
        AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
      },
    });
    // One throttle window for the lockout and its clearing.
    rig.t.clock.freeze();
    const users = rig.t.app.get(UsersService);
    await users.add('grace', 'grace-password-1', { mail: ['grace@example.org'] });
    await users.add('heidi.with-a-rather-long-account-name@research.example.org', 'heidi-password-1', {
      mail: ['heidi@example.org'],
      eduPersonAffiliation: ['staff', 'member'],
      displayName: ['Heidi'],
    });
    await users.add('ivan', 'ivan-password-1');
    await users.disable('ivan');
    page = await rig.freshPage(DESKTOP);
    await signInToConsole(page, rig.casUrl);
  }, 120_000);
  afterAll(() => rig?.close());

  const text = (selector: string) => page.$eval(selector, (e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim());

  it('adds a user: a mistyped repeat comes back beside its field, then the account is created', async () => {
    await page.goto(`${rig.casUrl}/admin/users`, { waitUntil: 'load' });
    expect(await text('h1')).toBe('Users');
    await rig.screenshotDesktopAndPhone(page, 'console-users-list-desktop', 'console-users-list-phone');

    await rig.clickAndWait(page, 'a[href$="/admin/users/new"].btn');
    await page.type('#username', 'frank');
    await page.type('#password', 'frank-password-1');
    await page.type('#repeat', 'frank-password-2');
    const refused = await rig.clickAndWait(page, 'form button[type=submit].btn');
    expect(refused.status()).toBe(400);
    expect(await text('#repeat-error')).toBe('The two passwords differ. Type the same password twice.');
    expect(await page.$eval('#repeat', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    expect(await page.$eval('#username', (e) => e.getAttribute('value'))).toBe('frank');
    await rig.screenshotDesktopAndPhone(page, 'console-users-add-error-desktop', 'console-users-add-error-phone');

    await page.type('#password', 'frank-password-1');
    await page.type('#repeat', 'frank-password-1');
    const created = await rig.clickAndWait(page, 'form button[type=submit].btn');
    expect(created.status()).toBe(200);
    expect(await text('.notice')).toContain('The account was created.');
    expect(await text('h1')).toBe('frank');
    await rig.screenshotDesktopAndPhone(page, 'console-users-account-desktop', 'console-users-account-phone');
  });

  it('disables the user after the confirmation page; the user can no longer log in', async () => {
    await rig.clickAndWait(page, 'form[action*="/users/disable?"] button');
    expect(await text('h1')).toBe('Disable frank?');
    await rig.screenshotDesktopAndPhone(page, 'console-users-confirm-disable-desktop', 'console-users-confirm-disable-phone');
    await rig.clickAndWait(page, 'form[action*="/users/disable?"] button.btn-danger');
    expect(await text('.notice')).toContain('The account is disabled');
    expect(await text('.title-line .badge')).toBe('Disabled');

    const user = await rig.freshPage();
    const login = await rig.passwordStep(user, { username: 'frank', password: 'frank-password-1' });
    expect(login.status()).toBe(401);
    await user.close();
  });

  it('shows an account locked out by failed logins under "Throttled now"; Clear lifts it and the user logs in', async () => {
    const user = await rig.freshPage();
    for (let i = 0; i < 3; i++) expect((await rig.passwordStep(user, { username: 'grace', password: 'not-her-password' })).status()).toBe(401);
    expect((await rig.passwordStep(user, { username: 'grace', password: 'grace-password-1' })).status()).toBe(429);

    await page.goto(`${rig.casUrl}/admin/users`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'a[href$="/admin/users/throttles"]');
    expect(await text('tbody tr')).toContain('grace');
    expect(await text('tbody tr')).toContain('3 of 3');
    await rig.screenshotDesktopAndPhone(page, 'console-users-throttles-desktop', 'console-users-throttles-phone');
    await rig.clickAndWait(page, 'tbody form button');
    expect(await text('.notice')).toContain('The counter was cleared');
    expect(await text('.empty')).toContain('Nothing is throttled');
    await rig.screenshotDesktopAndPhone(page, 'console-users-throttles-empty-desktop', 'console-users-throttles-empty-phone');

    await rig.passwordStep(user, { username: 'grace', password: 'grace-password-1' });
    expect((await rig.validated(user)).user).toBe('grace');
    await user.close();
  });

  it("filters the audit log to this administrator's POSTs: the changes just made, under the token id", async () => {
    await page.goto(`${rig.casUrl}/admin/audit`, { waitUntil: 'load' });
    await page.type('#actor', 'console-test');
    await page.select('#method', 'POST');
    await rig.clickAndWait(page, 'form[role=search] button[type=submit]');
    const targets = await page.$$eval('td.target .mono', (cells) => cells.map((c) => c.textContent ?? ''));
    expect(targets).toEqual([
      '/admin/users/throttles/clear?kind=account&subject=grace',
      '/admin/users/disable?username=frank',
      '/admin/users/disable?username=frank',
      '/admin/users/new',
      '/admin/users/new',
      '/admin/login',
    ]);
    await rig.screenshotDesktopAndPhone(page, 'console-audit-desktop', 'console-audit-phone');

    await page.goto(`${rig.casUrl}/admin/audit?status=99&from=2026-13-01`, { waitUntil: 'load' });
    expect(await text('#status-error')).toBe('A status such as 403, or a class such as 4xx.');
    await rig.screenshotDesktopAndPhone(page, 'console-audit-error-desktop', 'console-audit-error-phone');
  });
});

import type { Page } from 'puppeteer-core';
import { BrowserRig, DESKTOP, localService, startBrowserRig } from '../helpers/browser-rig';
import { CONSOLE_TOKEN_ENV, signInToConsole } from '../helpers/console-rig';

/**
 * The console's Services pages in Debian's Chromium: the list, a service, an edit whose bad
 * pattern comes back next to its field, fixed and saved and seen in the list, and the URL tester;
 * screenshots of each at desktop and phone width (test-output/screenshots).
 */
describe('console services pages in a real browser (chromium)', () => {
  let rig: BrowserRig;
  let page: Page;
  let appPort: number;

  beforeAll(async () => {
    rig = await startBrowserRig({
      env: { ...CONSOLE_TOKEN_ENV },
      services: (port) => {
        appPort = port;
        return [
          localService(port, 1, 'app', { name: 'Local application', description: 'The application the tests log in to' }),
          localService(port, 2, 'payroll', {
            name: 'Payroll',
            multifactorPolicy: {
              '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
              multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
              failureMode: 'CLOSED',
            },
            accessStrategy: {
              '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
              requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['payroll-staff']] },
            },
            ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 28800 },
          }),
          // A long name and pattern: the pages must wrap them, not widen.
          localService(port, 3, 'projects/research-data-management/electronic-lab-notebook/workspace', {
            name: 'Research data management and electronic lab notebook service of the faculty of sciences',
            attributeReleasePolicy: {
              '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy',
              allowedAttributes: ['java.util.ArrayList', ['mail', 'displayName', 'eduPersonPrincipalName', 'memberOf']],
            },
          }),
          localService(port, 4, 'retired', { name: 'Retired wiki', accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false } }),
        ];
      },
    });
    page = await rig.freshPage(DESKTOP);
    await signInToConsole(page, rig.casUrl);
  });
  afterAll(() => rig?.close());

  const text = (selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
  const setValue = async (selector: string, value: string) => {
    await page.evaluate(`document.querySelector(${JSON.stringify(selector)}).value = ''`);
    await page.type(selector, value);
  };

  it('lists the services, opens one and shows its CAS JSON', async () => {
    const list = await page.goto(`${rig.casUrl}/admin/services`, { waitUntil: 'load' });
    expect(list!.status()).toBe(200);
    expect(await page.$$eval('a.svc-name', (links) => links.map((a) => a.textContent))).toEqual([
      'Local application',
      'Payroll',
      'Research data management and electronic lab notebook service of the faculty of sciences',
      'Retired wiki',
    ]);
    await rig.screenshotDesktopAndPhone(page, 'console-services-list-desktop', 'console-services-list-phone');

    await rig.clickAndWait(page, 'a.svc-name[href$="/services/2"]');
    expect(await text('h1')).toBe('Payroll');
    expect(await text('pre.definition')).toContain('"payroll-staff"');
    await rig.screenshotDesktopAndPhone(page, 'console-services-detail-desktop', 'console-services-detail-phone');
  });

  it('edits a service: a bad pattern comes back next to its field, fixed it is saved and listed', async () => {
    await page.goto(`${rig.casUrl}/admin/services/1`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'a[href$="/services/1/edit"]');
    await setValue('#name', 'Local application (edited)');
    await setValue('#serviceId', `^http://127\\.0\\.0\\.1:${appPort}/(app`);
    const refused = await rig.clickAndWait(page, 'form[action$="/edit"] button[type=submit]');
    expect(refused.status()).toBe(400);
    expect(await text('#serviceId-error')).toMatch(/^serviceId: invalid regular expression/);
    expect(await page.$eval('#serviceId', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    // What was typed is still there, to be corrected.
    expect(await page.$eval('#name', (e) => (e as unknown as { value: string }).value)).toBe('Local application (edited)');
    await rig.screenshotDesktopAndPhone(page, 'console-services-edit-error-desktop', 'console-services-edit-error-phone');

    await setValue('#serviceId', `^http://127\\.0\\.0\\.1:${appPort}/app(\\?.*)?$`);
    const saved = await rig.clickAndWait(page, 'form[action$="/edit"] button[type=submit]');
    expect(saved.status()).toBe(200);
    expect(page.url()).toBe(`${rig.casUrl}/admin/services/1?done=saved`);
    expect(await text('.notice')).toContain('The service was saved');
    await page.goto(`${rig.casUrl}/admin/services`, { waitUntil: 'load' });
    expect(await text('a.svc-name[href$="/services/1"]')).toBe('Local application (edited)');
    // The login uses it.
    const login = await (await rig.freshPage()).goto(`${rig.casUrl}/login?service=${encodeURIComponent(rig.serviceUrl)}`);
    expect(login!.status()).toBe(200);
  });

  it('tells which service a URL matches, and that a disabled one refuses it', async () => {
    await page.goto(`${rig.casUrl}/admin/services`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'a[href$="/services/match"]');
    await page.type('#url', `${rig.appOrigin}/projects/research-data-management/electronic-lab-notebook/workspace?project=42`);
    await rig.clickAndWait(page, 'form.tester button[type=submit]');
    expect(await text('.result h2')).toBe('Matched, and enabled');
    expect(await text('.result a')).toBe('Research data management and electronic lab notebook service of the faculty of sciences');
    await rig.screenshotDesktopAndPhone(page, 'console-services-tester-desktop', 'console-services-tester-phone');

    await setValue('#url', `${rig.appOrigin}/retired`);
    await rig.clickAndWait(page, 'form.tester button[type=submit]');
    expect(await text('.result h2')).toBe('Matched, but disabled');
    await setValue('#url', 'https://unknown.example.org/');
    await rig.clickAndWait(page, 'form.tester button[type=submit]');
    expect(await text('.result h2')).toBe('No service matches');
    await rig.screenshotDesktopAndPhone(page, 'console-services-tester-none-desktop', 'console-services-tester-none-phone');
  });

  it('creates a service from the empty form', async () => {
    await page.goto(`${rig.casUrl}/admin/services`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'a[href$="/services/new"]');
    await rig.screenshotDesktopAndPhone(page, 'console-services-new-desktop', 'console-services-new-phone');
    expect(await page.$eval('#id', (e) => (e as unknown as { value: string }).value)).toBe('5');
    await page.type('#name', 'Library');
    await page.type('#evaluationOrder', '5');
    await page.type('#serviceId', `^http://127\\.0\\.0\\.1:${appPort}/library(/.*)?`);
    await page.click('#mfa-mfa-gauth');
    await rig.clickAndWait(page, 'form[action$="/services/new"] button[type=submit]');
    expect(page.url()).toBe(`${rig.casUrl}/admin/services/5?done=created`);
    expect(await text('h1')).toBe('Library');
    expect(await text('pre.definition')).toContain('"mfa-gauth"');
  });

  it('disables a service with its button, and enables it again', async () => {
    await page.goto(`${rig.casUrl}/admin/services/4`, { waitUntil: 'load' });
    await rig.clickAndWait(page, 'form[action$="/services/4/enabled"] button');
    expect(page.url()).toBe(`${rig.casUrl}/admin/services/4?done=enabled`);
    expect(await text('form[action$="/services/4/enabled"] button')).toBe('Disable service');
    await rig.clickAndWait(page, 'form[action$="/services/4/enabled"] button');
    expect(await text('.notice')).toContain('The service was disabled');
  });
});

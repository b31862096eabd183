import { mkdirSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, HTTPResponse, Page, Viewport } from 'puppeteer-core';
import { launchChromium } from './chromium';
import { ListeningCasOptions, startListeningCas } from './listening-cas';
import type { TestApp } from './test-app';

/** Where the real-browser tests put their screenshots (gitignored), to be looked at by a person. */
export const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
export const DESKTOP: Viewport = { width: 1280, height: 900 };
// Not isMobile: switching it reloads the page (a re-posted form); 390 CSS pixels wide is the phone's layout.
export const PHONE: Viewport = { width: 390, height: 844 };

/** The button of the password form (on the login page it sits next to the passkey form's button). */
const PASSWORD_BUTTON = 'form:not([data-webauthn]) button[type=submit]';

/**
 * A CAS JSON definition for `http://127.0.0.1:<appPort>/<path>` (with or without a query), releasing
 * every attribute so the tests can read authnContextClass from the validation.
 */
export function localService(appPort: number, id: number, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: `^http://127\\.0\\.0\\.1:${appPort}/${path}(\\?.*)?$`,
    name: path,
    id,
    evaluationOrder: id,
    attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
    ...extra,
  };
}

export interface BrowserRigOptions {
  /** Settings on top of test-app's; CAS_SERVER_PREFIX is set by the rig (it names the listening port). */
  env?: Record<string, string>;
  /** The registered services, given the application's port; default: the one service `/app`. */
  services?: (appPort: number) => Record<string, unknown>[];
  /** The host in CAS_SERVER_PREFIX: see ListeningCasOptions.host. */
  casHost?: ListeningCasOptions['host'];
}

export interface BrowserRig {
  t: TestApp;
  /** The server's prefix, e.g. http://127.0.0.1:<port>/cas. */
  casUrl: string;
  /** http://127.0.0.1:<port> of the local application (every path answers 200 with a little page). */
  appOrigin: string;
  /** `${appOrigin}/app`: the default service. */
  serviceUrl: string;
  browser: Browser;
  /** A page in a fresh browser context (its own cookies, as a new browser), at `viewport`. */
  freshPage(viewport?: Viewport): Promise<Page>;
  /** Clicks `selector` (once visible) and waits for the page it leads to. */
  clickAndWait(page: Page, selector?: string): Promise<HTTPResponse>;
  /** Opens the login for `service` (with `query` appended) and posts the password: the page after it. */
  passwordStep(page: Page, opts?: { service?: string; query?: string; username?: string; password?: string }): Promise<HTTPResponse>;
  /** The ticket in the URL the browser was sent to, validated over HTTP (CAS 3 JSON). */
  validated(page: Page, service?: string): Promise<{ user: string; attributes: Record<string, unknown> }>;
  /** Saves the page as it looks now to SCREENSHOTS/<name>.png. */
  screenshot(page: Page, name: string): Promise<void>;
  /** Screenshots at the page's DESKTOP size then at PHONE, asserting nothing is wider than the phone (no sideways scrolling); back to DESKTOP. */
  screenshotDesktopAndPhone(page: Page, desktopName: string, phoneName: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The scaffolding of a real-browser test: a tiny local HTTP application (the browser really lands
 * on it with its ticket), the CAS server listening on a free port with a prefix naming it (the
 * absolute URLs it sends the browser to come from it), the service definitions, and Debian's
 * Chromium. What a test needs beyond that (a frozen clock, a virtual authenticator) stays in it.
 */
export async function startBrowserRig(opts: BrowserRigOptions = {}): Promise<BrowserRig> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const application: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>App</title><h1>App</h1>'));
  await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
  const appPort = (application.address() as AddressInfo).port;
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const serviceUrl = `${appOrigin}/app`;
  let t: TestApp | undefined;
  let casUrl = '';
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    application.closeAllConnections();
    await new Promise((resolve) => application.close(resolve));
    await t?.close();
  };
  try {
    ({ t, casUrl } = await startListeningCas({
      host: opts.casHost,
      services: opts.services?.(appPort) ?? [localService(appPort, 1, 'app', { name: 'Local application' })],
      env: opts.env,
    }));
    browser = await launchChromium();
  } catch (e) {
    await close();
    throw e;
  }
  const chromium = browser;

  /**
   * Per page: rejects when Chromium refuses something under the page's CSP or a script on the page
   * throws. Either would leave a click waiting for a navigation that never comes (a timeout saying
   * nothing), so clickAndWait races it to fail with the reason.
   */
  const broken = new Map<Page, Promise<never>>();

  async function freshPage(viewport: Viewport = DESKTOP): Promise<Page> {
    const page = await (await chromium.createBrowserContext()).newPage();
    await page.setViewport(viewport);
    const failure = new Promise<never>((_resolve, reject) => {
      page.on('console', (m) => {
        if (m.type() === 'error' && m.text().includes('Content Security Policy')) reject(new Error(`the browser blocked: ${m.text()}`));
      });
      page.on('pageerror', (e) => reject(new Error(`script error on the page: ${String(e)}`)));
    });
    failure.catch(() => undefined);
    broken.set(page, failure);
    return page;
  }

  async function clickAndWait(page: Page, selector = 'button[type=submit]'): Promise<HTTPResponse> {
    await page.waitForSelector(selector, { visible: true });
    const navigation = Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
    const [res] = await Promise.race([navigation, broken.get(page) ?? navigation]);
    return res!;
  }

  async function passwordStep(page: Page, o: { service?: string; query?: string; username?: string; password?: string } = {}): Promise<HTTPResponse> {
    const form = await page.goto(`${casUrl}/login?service=${encodeURIComponent(o.service ?? serviceUrl)}${o.query ?? ''}`, { waitUntil: 'load' });
    expect(form!.status()).toBe(200);
    await page.type('#username', o.username ?? 'casuser');
    await page.type('#password', o.password ?? 'Mellon');
    return clickAndWait(page, PASSWORD_BUTTON);
  }

  async function validated(page: Page, service = serviceUrl): Promise<{ user: string; attributes: Record<string, unknown> }> {
    const url = new URL(page.url());
    expect(`${url.origin}${url.pathname}`).toBe(service);
    const ticket = url.searchParams.get('ticket');
    expect(ticket).toMatch(/^ST-/);
    const res = await fetch(`${casUrl}/p3/serviceValidate?format=JSON&service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket!)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { serviceResponse: { authenticationSuccess: { user: string; attributes: Record<string, unknown> } } };
    return body.serviceResponse.authenticationSuccess;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  async function screenshotDesktopAndPhone(page: Page, desktopName: string, phoneName: string): Promise<void> {
    await screenshot(page, desktopName);
    await page.setViewport(PHONE);
    await screenshot(page, phoneName);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(PHONE.width);
    await page.setViewport(DESKTOP);
  }

  return { t: t!, casUrl, appOrigin, serviceUrl, browser: chromium, freshPage, clickAndWait, passwordStep, validated, screenshot, screenshotDesktopAndPhone, close };
}

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Page } from 'puppeteer-core';

/** The admin token the console tests sign in with (id `console-test`). */
export const CONSOLE_TOKEN = 'console-test-secret-0123456789abcdef';
export const CONSOLE_TOKEN_ENV = { CAS_ADMIN_TOKENS: `console-test:${CONSOLE_TOKEN}` };

export interface ConsoleSession {
  /** The Cookie header value to send. */
  cookie: string;
  /** The `_csrf` field of this session's forms. */
  csrf: string;
}

/** The console cookie out of a response's Set-Cookie, as a Cookie header value. */
export function consoleCookie(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const c = all.find((v) => /^(__Host-)?cas-admin=/.test(v));
  if (!c) throw new Error(`no console cookie in ${JSON.stringify(all)}`);
  return c.split(';')[0];
}

/** The `_csrf` value of a console page's forms. */
export function csrfOf(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error('no _csrf field on the page');
  return m[1];
}

/** Signs in to the console over HTTP (app.inject) with CONSOLE_TOKEN (or `token`). */
export async function consoleSession(app: NestFastifyApplication, token = CONSOLE_TOKEN): Promise<ConsoleSession> {
  const signIn = await app.inject({
    method: 'POST',
    url: '/cas/admin/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  });
  if (signIn.statusCode !== 303) throw new Error(`console sign-in answered ${signIn.statusCode}`);
  const cookie = consoleCookie(signIn.headers['set-cookie']);
  const overview = await app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie } });
  return { cookie, csrf: csrfOf(overview.body) };
}

/** A form POST to the console as a signed-in browser would send it. */
export function consoleForm(s: ConsoleSession, fields: Record<string, string>, csrf = s.csrf) {
  return {
    method: 'POST' as const,
    headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
  };
}

/** Signs a real browser in through the sign-in page; the page ends on the console's overview (or `next`). */
export async function signInToConsole(page: Page, casUrl: string, token = CONSOLE_TOKEN): Promise<void> {
  await page.goto(`${casUrl}/admin`);
  await page.waitForSelector('#token');
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
}

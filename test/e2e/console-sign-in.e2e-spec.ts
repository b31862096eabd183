import { consoleCookie, consoleForm, consoleSession, CONSOLE_TOKEN, CONSOLE_TOKEN_ENV, csrfOf } from '../helpers/console-rig';
import { startTestApp, TestApp } from '../helpers/test-app';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const MINUTE = 60; // MutableClock.advance takes seconds

function setCookies(h: string | string[] | undefined): string[] {
  return Array.isArray(h) ? h : h ? [h] : [];
}

/** The console's door: the admin token exchanged for a short-lived cookie, CSRF, CSP, audit. */
describe('admin console sign-in', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...CONSOLE_TOKEN_ENV } });
  });
  afterAll(() => t.close());

  const signIn = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/cas/admin/login', headers: { ...FORM, ...headers }, payload: new URLSearchParams(fields).toString() });

  async function auditSince(id: number) {
    const { rows } = await t.sql.query<{ actor: string; action: string; target: string; status: number }>(
      `SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`,
      [id],
    );
    return rows;
  }
  const lastAuditId = async () => Number((await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`)).rows[0].id);

  it('sends a page load without a console session to the sign-in page, and back after it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/admin?user=ab' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin%3Fuser%3Dab');
    const form = await t.app.inject({ method: 'GET', url: res.headers.location as string });
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('<label for="token">Admin token</label>');
    expect(form.body).toContain('name="next" value="/cas/admin?user=ab"');
    // Strict CSP: no script source at all, nothing from the network.
    expect(form.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    expect(form.body).not.toMatch(/<script|https?:\/\//);
    expect(form.headers['cache-control']).toBe('no-store');
    const signedIn = await signIn({ token: CONSOLE_TOKEN, next: '/cas/admin?user=ab' });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/cas/admin?user=ab');
  });

  it('refuses a wrong token with 401 and no cookie, and records the attempt without the token', async () => {
    const before = await lastAuditId();
    const res = await signIn({ token: 'not-the-token' });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('That token is not valid');
    expect(res.body).toContain('aria-invalid="true"');
    expect(setCookies(res.headers['set-cookie'])).toEqual([]);
    const rows = await auditSince(before);
    expect(rows).toEqual([{ actor: 'anonymous', action: 'POST', target: '/admin/login', status: 401 }]);
    expect(JSON.stringify(rows)).not.toContain('not-the-token');
  });

  it('exchanges the token for an HttpOnly, SameSite=Strict console cookie that does not contain it, and audits with the token id', async () => {
    const before = await lastAuditId();
    const res = await signIn({ token: CONSOLE_TOKEN });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/admin');
    const [cookie] = setCookies(res.headers['set-cookie']);
    expect(cookie).toMatch(/^cas-admin=[^;]+; Max-Age=1800; Path=\/cas\/admin; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(CONSOLE_TOKEN);
    const page = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: consoleCookie(res.headers['set-cookie']) } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Signed in as <strong>console-test</strong>');
    expect(page.body).toContain('<a href="/cas/admin" aria-current="page">Overview</a>');
    expect(await auditSince(before)).toEqual([
      { actor: 'console-test', action: 'POST', target: '/admin/login', status: 303 },
      { actor: 'console-test', action: 'GET', target: '/admin', status: 200 },
    ]);
  });

  it('never redirects off the console after sign-in (no open redirect)', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/cas/admin//evil.example', '/cas/adminx', '/cas/admin/../login', '/cas/admin/\\evil', '/cas/admin/login']) {
      const res = await signIn({ token: CONSOLE_TOKEN, next });
      expect([next, res.headers.location]).toEqual([next, '/cas/admin']);
    }
  });

  it('refuses a sign-in posted from another site (login CSRF)', async () => {
    expect((await signIn({ token: CONSOLE_TOKEN }, { origin: 'http://evil.example' })).statusCode).toBe(401);
    expect((await signIn({ token: CONSOLE_TOKEN }, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(401);
    // What a browser sends from a sandboxed frame or a no-referrer page of another site.
    expect((await signIn({ token: CONSOLE_TOKEN }, { origin: 'null' })).statusCode).toBe(401);
    // The console's own pages keep their origin on their posts (the server's no-referrer would make it `null`).
    const form = await t.app.inject({ method: 'GET', url: '/cas/admin/login' });
    expect(form.headers['referrer-policy']).toBe('same-origin');
    expect((await signIn({ token: CONSOLE_TOKEN }, { origin: 'http://localhost:8080', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(303);
  });

  it('refuses a POST without the CSRF field, with a wrong one or from another origin; signs out with the right one', async () => {
    const s = await consoleSession(t.app);
    const missing = await t.app.inject({ method: 'POST', url: '/cas/admin/logout', headers: { cookie: s.cookie, ...FORM }, payload: '' });
    expect(missing.statusCode).toBe(403);
    expect(missing.body).toContain('Nothing was changed');
    const wrong = await t.app.inject({ url: '/cas/admin/logout', ...consoleForm(s, {}, s.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))) });
    expect(wrong.statusCode).toBe(403);
    const form = consoleForm(s, {});
    const crossSite = await t.app.inject({ url: '/cas/admin/logout', ...form, headers: { ...form.headers, origin: 'http://evil.example' } });
    expect(crossSite.statusCode).toBe(403);
    const out = await t.app.inject({ url: '/cas/admin/logout', ...consoleForm(s, {}) });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/cas/admin/login?done=signed-out');
    expect(setCookies(out.headers['set-cookie'])[0]).toMatch(/^cas-admin=; Max-Age=0;|^cas-admin=; Expires=Thu, 01 Jan 1970/);
  });

  it('refuses a copy of a signed-out cookie on every node until it would have ended, then forgets it', async () => {
    const s = await consoleSession(t.app);
    const other = await startTestApp({ databaseUrl: t.config.databaseUrl!, env: { ...CONSOLE_TOKEN_ENV } });
    try {
      other.clock.advance((t.clock.now().getTime() - other.clock.now().getTime()) / 1000);
      expect((await other.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/cas/admin/logout', ...consoleForm(s, {}) })).statusCode).toBe(303);
      // The browser dropped it; a copy (another tab's request in flight, a stolen value) is no session anywhere.
      expect((await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(303);
      expect((await other.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(303);
      const [{ until }] = (await t.sql.query(`SELECT until FROM console_sign_outs`)).rows;
      expect(new Date(until).getTime() - t.clock.now().getTime()).toBeGreaterThan(7.9 * 3600 * 1000);
      // Once every cookie it could refuse has ended, the next sign-out deletes the row.
      t.clock.advance(8 * 3600 + 60);
      const later = await consoleSession(t.app);
      await t.app.inject({ url: '/cas/admin/logout', ...consoleForm(later, {}) });
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM console_sign_outs`)).rows).toEqual([{ n: 1 }]);
    } finally {
      await other.close();
    }
  });

  it('refuses a POST with no session with a 403 page, not a redirect', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/cas/admin/logout', headers: FORM, payload: '_csrf=x' });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Your console session has ended');
  });

  it('treats an altered cookie as no session', async () => {
    const s = await consoleSession(t.app);
    const [name, value] = s.cookie.split('=');
    const altered = `${name}=${value.slice(0, -4)}${value.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const res = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: altered } });
    expect(res.statusCode).toBe(303);
  });

  it('ends a session after 30 idle minutes, slides on use, and ends it after 8 hours whatever the use', async () => {
    const s = await consoleSession(t.app);
    t.clock.advance(29 * MINUTE);
    const used = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } });
    expect(used.statusCode).toBe(200);
    // Used after more than 5 minutes: the cookie is re-issued with a new idle window.
    let cookie = consoleCookie(used.headers['set-cookie']);
    t.clock.advance(29 * MINUTE);
    expect((await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(303);
    for (let minutes = 58; minutes < 8 * 60; minutes += 20) {
      const res = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie } });
      expect([minutes, res.statusCode]).toEqual([minutes, 200]);
      cookie = consoleCookie(res.headers['set-cookie']);
      t.clock.advance(20 * MINUTE);
    }
    expect((await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie } })).statusCode).toBe(303);
  });

  it("ends the sessions of a token whose secret is changed or that is removed (another node's configuration, same keys)", async () => {
    const s = await consoleSession(t.app);
    const other = await startTestApp({ databaseUrl: t.config.databaseUrl!, env: { CAS_ADMIN_TOKENS: 'console-test:another-secret-0123456789abcdef' } });
    const removed = await startTestApp({ databaseUrl: t.config.databaseUrl!, env: { CAS_ADMIN_TOKENS: 'someone-else:yet-another-secret-0123456789ab' } });
    const same = await startTestApp({ databaseUrl: t.config.databaseUrl!, env: { ...CONSOLE_TOKEN_ENV } });
    // The nodes' clocks agree (this suite's clock may have been moved by an earlier test).
    for (const node of [other, removed, same]) node.clock.advance((t.clock.now().getTime() - node.clock.now().getTime()) / 1000);
    try {
      expect((await other.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(303);
      expect((await removed.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(303);
      // A node with the same configuration reads the cookie: nothing is kept in one node's memory.
      expect((await same.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    } finally {
      await Promise.all([other, removed, same].map((a) => a.close()));
    }
  });

  it('serves its stylesheet from this server (air-gapped) and does not audit it', async () => {
    const before = await lastAuditId();
    const css = await t.app.inject({ method: 'GET', url: '/cas/admin/assets/console.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).not.toMatch(/url\(|@import|https?:/);
    expect(await auditSince(before)).toEqual([]);
  });
});

describe('admin console under https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...CONSOLE_TOKEN_ENV, CAS_SERVER_PREFIX: 'https://cas.example.org/cas' } });
  });
  afterAll(() => t.close());

  it('uses a __Host- cookie: Secure, Path=/, no Domain', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/cas/admin/login', headers: FORM, payload: new URLSearchParams({ token: CONSOLE_TOKEN }).toString() });
    expect(res.statusCode).toBe(303);
    expect(setCookies(res.headers['set-cookie'])[0]).toMatch(/^__Host-cas-admin=[^;]+; Max-Age=1800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
  });
});

describe('admin console without admin tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('offers sign-in from this machine to a loopback browser only', async () => {
    const local = await t.app.inject({ method: 'GET', url: '/cas/admin/login', headers: { host: 'localhost:8080' } });
    expect(local.body).toContain('Sign in from this machine');
    const remote = await t.app.inject({ method: 'GET', url: '/cas/admin/login', remoteAddress: '192.0.2.7' });
    expect(remote.body).not.toContain('Sign in from this machine');
    const refused = await t.app.inject({ method: 'POST', url: '/cas/admin/login', remoteAddress: '192.0.2.7', headers: FORM, payload: 'from=this-machine' });
    expect(refused.statusCode).toBe(401);
    const res = await t.app.inject({ method: 'POST', url: '/cas/admin/login', headers: { ...FORM, host: 'localhost:8080' }, payload: 'from=this-machine' });
    expect(res.statusCode).toBe(303);
    const cookie = consoleCookie(res.headers['set-cookie']);
    const page = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie, host: 'localhost:8080' } });
    expect(page.body).toContain('Signed in as <strong>loopback</strong>');
    expect(csrfOf(page.body)).toBeTruthy();
    // The same cookie from another machine is no session.
    expect((await t.app.inject({ method: 'GET', url: '/cas/admin', remoteAddress: '192.0.2.7', headers: { cookie } })).statusCode).toBe(303);
  });
});

import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { TgcCodec } from '../../src/auth/tgc-codec';
import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

interface ApiSession {
  id: string;
  current: boolean;
  createdAt: string;
  lastUsedAt: string;
  applications: { name: string | null; service: string }[];
}

/**
 * `/cas/account/sessions` and `/cas/account/api/sessions`: a user's own sessions, over HTTP on the
 * embedded Postgres. The application is a local server registered with a back-channel logout, so
 * ending a session queues a logout request in the outbox (delivered to it).
 */
describe('users see and end their own sessions (/account/sessions)', () => {
  let t: TestApp;
  let app: Server;
  let service: string;

  beforeAll(async () => {
    app = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const port = (app.address() as AddressInfo).port;
    service = `http://127.0.0.1:${port}/app`;
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,bob::bob-password' },
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          serviceId: `^http://127\\.0\\.0\\.1:${port}/app.*`,
          name: 'Local application',
          id: 1,
          evaluationOrder: 1,
        },
      ],
    });
  });

  afterAll(async () => {
    await t.close();
    app.closeAllConnections();
    await new Promise((r) => app.close(r));
  });

  /** A browser (its own cookies and User-Agent) logged in to the application as `user`. */
  async function device(user: 'casuser' | 'bob', userAgent: string): Promise<Browser> {
    const b = new Browser(t.app, { 'user-agent': userAgent });
    const res = await b.login(user, user === 'casuser' ? 'Mellon' : 'bob-password', service);
    expect(res.statusCode).toBe(302);
    return b;
  }

  /** The TGT id behind a browser's TGC (what the server decodes; the test needs it to look at rows). */
  async function tgtOf(b: Browser): Promise<string> {
    const cookie = b.cookies.get(t.config.tgc.name);
    const id = await t.app.get(TgcCodec).decode(cookie, { ip: '127.0.0.1', userAgent: b.headers['user-agent'] });
    if (!id) throw new Error('no session in this browser');
    return id;
  }

  const liveTgt = async (id: string) => (await t.sql.query(`SELECT 1 FROM tickets WHERE id = $1`, [id])).rowCount === 1;
  const outbox = async (id: string) => (await t.sql.query(`SELECT service, reason FROM slo_outbox WHERE session_id = $1`, [id])).rows;
  const tgtCount = async () => Number((await t.sql.query(`SELECT count(*) FROM tickets WHERE type = 'TGT'`)).rows[0].count);

  async function api(b: Browser): Promise<{ principal: string; csrfToken: string; sessions: ApiSession[] }> {
    const res = await b.get('/cas/account/api/sessions');
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  /** The page's CSRF token and the session handles of its "Log out this one" forms, in page order. */
  function formsOf(html: string): { csrf: string; handles: string[] } {
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!csrf) throw new Error('no csrf token in the page');
    return { csrf, handles: [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]) };
  }

  it('lists only my sessions, this browser first and marked, with the applications reached; never a TGT id', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const phone = await device('casuser', 'Phone/1.0');
    const bobs = await device('bob', 'Bob/1.0');

    const page = await laptop.get('/cas/account/sessions');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'.*form-action 'self'/);
    expect(page.headers['cache-control']).toBe('no-store');
    const { handles } = formsOf(page.body);
    const mine = await api(laptop);
    expect(mine.principal).toBe('casuser');
    expect(mine.sessions.map((s) => s.current)).toEqual([true, false]);
    expect(handles).toEqual(mine.sessions.map((s) => s.id));
    expect(page.body).toMatch(/<li class="session current">\s*<h2>Unknown browser<span class="badge">This browser<\/span>/);
    expect(page.body).toContain('Local application');
    expect(mine.sessions[0].applications).toEqual([expect.objectContaining({ name: 'Local application', service })]);
    // Handles, not credentials: no TGT id of anyone in the page or the JSON.
    for (const id of [await tgtOf(laptop), await tgtOf(phone), await tgtOf(bobs)]) {
      expect(page.body).not.toContain(id);
      expect(JSON.stringify(mine)).not.toContain(id);
    }
    expect(page.body).not.toContain('TGT-');
    // Bob sees his one session only, and the phone its own first.
    expect((await api(bobs)).sessions).toHaveLength(1);
    expect((await api(phone)).sessions.map((s) => s.current)).toEqual([true, false]);
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('shows where each session comes from (IP, User-Agent, device, location), escaped; unknown parts left out', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const phone = await device('casuser', 'Phone/1.0');
    // As session-origin records them at login (migration AddSessionOrigin1764000019000).
    await t.sql.query(
      `UPDATE tickets SET client_ip = '2001:db8:85a3::8a2e:370:7334', user_agent = 'Mozilla/5.0 <b>(X11; Linux x86_64)</b>',
              device_browser = 'Firefox 133', device_os = 'Linux', device_type = 'desktop', location_country = 'FR', location_city = 'Lyon'
        WHERE id = $1`,
      [await tgtOf(laptop)],
    );
    await t.sql.query(`UPDATE tickets SET client_ip = '203.0.113.7', user_agent = NULL, device_browser = NULL, device_os = 'iOS 17.5', device_type = 'mobile' WHERE id = $1`, [await tgtOf(phone)]);

    const page = (await laptop.get('/cas/account/sessions')).body;
    expect(page).toMatch(/<h2>Firefox 133 on Linux<span class="badge">This browser<\/span><\/h2>/);
    expect(page).toContain('<dt>IP address</dt><dd>2001:<wbr>db8:<wbr>85a3:<wbr>:<wbr>8a2e:<wbr>370:<wbr>7334</dd>');
    expect(page).toContain('<dt>Location</dt><dd>Lyon, France</dd>');
    expect(page).toContain('<dt>Device</dt><dd>Computer</dd>');
    expect(page).toContain('Mozilla/5.0 &lt;b&gt;(X11; Linux x86_64)&lt;/b&gt;');
    expect(page).not.toContain('<b>(X11');
    expect(page).toMatch(/<h2>A browser on iOS 17\.5<\/h2>/);
    expect(page).toContain('<dt>IP address</dt><dd>203.0.113.7</dd>');
    expect(page.match(/<dt>Location<\/dt>/g)).toHaveLength(1);

    const [mine, other] = (await api(laptop)).sessions as unknown as Record<string, unknown>[];
    expect(mine).toMatchObject({
      clientIp: '2001:db8:85a3::8a2e:370:7334',
      userAgent: 'Mozilla/5.0 <b>(X11; Linux x86_64)</b>',
      device: { browser: 'Firefox 133', os: 'Linux', type: 'desktop' },
      location: { country: 'FR', city: 'Lyon' },
    });
    expect(other).toMatchObject({ clientIp: '203.0.113.7', userAgent: null, device: { browser: null, os: 'iOS 17.5', type: 'mobile' }, location: { country: null, city: null } });
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('"Log out this one" ends another of my sessions through the logout pipeline: row gone, logout request queued, that browser logged out', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const phone = await device('casuser', 'Phone/1.0');
    const phoneTgt = await tgtOf(phone);
    const { csrf, handles } = formsOf((await laptop.get('/cas/account/sessions')).body);

    const res = await laptop.post('/cas/account/sessions/logout', { csrf, session: handles[1] });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/account/sessions?done=ended');
    expect(await liveTgt(phoneTgt)).toBe(false);
    expect(await outbox(phoneTgt)).toEqual([{ service, reason: 'LOGOUT' }]);
    const after = await laptop.get(res.headers.location as string);
    expect(after.body).toContain('That session has been logged out.');
    expect((await api(laptop)).sessions).toHaveLength(1);
    // The phone's cookie leads nowhere now.
    expect((await phone.get('/cas/account/api/sessions')).statusCode).toBe(401);
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('"Log out all other devices" ends every other session of mine, keeps this one and other users\'', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const others = [await device('casuser', 'Phone/1.0'), await device('casuser', 'Tablet/1.0')];
    const bobs = await device('bob', 'Bob/1.0');
    const { csrf } = formsOf((await laptop.get('/cas/account/sessions')).body);

    const res = await laptop.post('/cas/account/sessions/logout-others', { csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/account/sessions?done=ended-others');
    for (const b of others) {
      const id = await tgtOf(b);
      expect(await liveTgt(id)).toBe(false);
      expect(await outbox(id)).toEqual([{ service, reason: 'LOGOUT' }]);
    }
    expect(await liveTgt(await tgtOf(laptop))).toBe(true);
    expect(await liveTgt(await tgtOf(bobs))).toBe(true);
    const page = await laptop.get('/cas/account/sessions?done=ended-others');
    expect(page.body).toContain('You have been logged out of all other devices.');
    expect(page.body).toContain('You are not logged in anywhere else.');
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('refuses a form without the CSRF token, with a wrong one, or with another session\'s: 403, nothing ended', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const phone = await device('casuser', 'Phone/1.0');
    const { handles } = formsOf((await laptop.get('/cas/account/sessions')).body);
    const phoneToken = formsOf((await phone.get('/cas/account/sessions')).body).csrf;
    const before = await tgtCount();

    for (const form of [{ session: handles[1] } as Record<string, string>, { session: handles[1], csrf: 'x'.repeat(43) }, { session: handles[1], csrf: phoneToken }]) {
      const res = await laptop.post('/cas/account/sessions/logout', form);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('This page has expired');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    }
    for (const form of [{} as Record<string, string>, { csrf: 'nope' }, { csrf: phoneToken }]) {
      expect((await laptop.post('/cas/account/sessions/logout-others', form)).statusCode).toBe(403);
    }
    // The API's DELETE: no header, a wrong one, another session's.
    for (const headers of [{} as Record<string, string>, { 'x-csrf-token': 'x'.repeat(43) }, { 'x-csrf-token': phoneToken }]) {
      const res = await laptop.request({ method: 'DELETE', url: `/cas/account/api/sessions/${handles[1]}`, headers });
      expect(res.statusCode).toBe(403);
      expect(res.json().message).toContain('x-csrf-token');
    }
    expect(await tgtCount()).toBe(before);
    await t.sql.query(`DELETE FROM tickets`);
  });

  it("refuses another user's session handle, a TGT id or garbage: 404, nothing ended", async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const bobs = await device('bob', 'Bob/1.0');
    const bobsHandle = (await api(bobs)).sessions[0].id;
    const { csrf, csrfToken } = { csrf: formsOf((await laptop.get('/cas/account/sessions')).body).csrf, csrfToken: (await api(laptop)).csrfToken };
    const before = await tgtCount();

    for (const session of [bobsHandle, await tgtOf(bobs), await tgtOf(laptop), 'A'.repeat(22), '../../etc']) {
      const form = await laptop.post('/cas/account/sessions/logout', { csrf, session });
      expect(form.statusCode).toBe(404);
      expect(form.body).toContain('not one of yours');
      const res = await laptop.request({ method: 'DELETE', url: `/cas/account/api/sessions/${encodeURIComponent(session)}`, headers: { 'x-csrf-token': csrfToken } });
      expect(res.statusCode).toBe(404);
    }
    expect(await tgtCount()).toBe(before);
    expect(await liveTgt(await tgtOf(bobs))).toBe(true);
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('the JSON twin ends another session with the token in X-CSRF-Token; ending this browser\'s own session logs it out', async () => {
    const laptop = await device('casuser', 'Laptop/1.0');
    const phone = await device('casuser', 'Phone/1.0');
    const phoneTgt = await tgtOf(phone);
    const { csrfToken, sessions } = await api(laptop);

    const res = await laptop.request({ method: 'DELETE', url: `/cas/account/api/sessions/${sessions[1].id}`, headers: { 'x-csrf-token': csrfToken } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: sessions[1].id, ended: true, current: false });
    expect(await liveTgt(phoneTgt)).toBe(false);
    expect(await outbox(phoneTgt)).toEqual([{ service, reason: 'LOGOUT' }]);

    // The form's "Log out this browser": the logged-out page, the TGC cleared, the request queued.
    const laptopTgt = await tgtOf(laptop);
    const { csrf, handles } = formsOf((await laptop.get('/cas/account/sessions')).body);
    const out = await laptop.post('/cas/account/sessions/logout', { csrf, session: handles[0] });
    expect(out.statusCode).toBe(200);
    expect(out.body).toContain('Logout successful');
    expect(laptop.cookies.has(t.config.tgc.name)).toBe(false);
    expect(await liveTgt(laptopTgt)).toBe(false);
    expect(await outbox(laptopTgt)).toEqual([{ service, reason: 'LOGOUT' }]);
  });

  it('the "Log in successful" page links to the sessions page', async () => {
    const b = new Browser(t.app);
    const res = await b.login('casuser', 'Mellon');
    expect(res.statusCode).toBe(200);
    const href = /<a href="([^"]+)">See where else you are logged in<\/a>/.exec(res.body)?.[1];
    expect(href).toBe('account/sessions');
    const page = await b.get(new URL(href!, 'http://localhost/cas/login').pathname);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Your sessions</h1>');
    await t.sql.query(`DELETE FROM tickets`);
  });

  it('without a session: the API answers 401; the page links to the login, or sends to it when the page is a registered service', async () => {
    const anonymous = new Browser(t.app);
    expect((await anonymous.get('/cas/account/api/sessions')).statusCode).toBe(401);
    expect((await anonymous.request({ method: 'DELETE', url: '/cas/account/api/sessions/AAAAAAAAAAAAAAAAAAAAAA' })).statusCode).toBe(401);
    expect((await anonymous.post('/cas/account/sessions/logout-others', { csrf: 'x' })).statusCode).toBe(401);
    const page = await anonymous.get('/cas/account/sessions');
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('<a href="/cas/login">Log in</a>');

    // A tampered cookie is no session either, and is cleared.
    const forged = new Browser(t.app);
    forged.cookies.set(t.config.tgc.name, 'ab'.repeat(40));
    expect((await forged.get('/cas/account/sessions')).statusCode).toBe(401);
    expect(forged.cookies.has(t.config.tgc.name)).toBe(false);

    // Registered (CAS's account portal sends to login?service=<prefix>/account): there and back.
    const accountUrl = `${t.config.server.prefix}/account/sessions`;
    const registered = await t.app.inject({
      method: 'POST',
      url: '/cas/actuator/registeredServices',
      headers: { 'content-type': 'application/json' },
      payload: {
        '@class': 'org.apereo.cas.services.CasRegisteredService',
        serviceId: `^${accountUrl.replace(/[.]/g, '\\.')}(\\?.*)?$`,
        name: 'Your sessions',
        id: 50,
        evaluationOrder: 50,
        logoutType: 'NONE',
      },
    });
    expect(registered.statusCode).toBe(201);
    const toLogin = await anonymous.get('/cas/account/sessions');
    expect(toLogin.statusCode).toBe(302);
    expect(toLogin.headers.location).toBe(`/cas/login?service=${encodeURIComponent(accountUrl)}`);
    const loggedIn = await anonymous.login('casuser', 'Mellon', accountUrl);
    expect(loggedIn.statusCode).toBe(302);
    const back = new URL(loggedIn.headers.location as string);
    expect(`${back.origin}${back.pathname}`).toBe(accountUrl);
    // The ticket is of no use to the page: dropped from the address bar.
    const clean = await anonymous.get(`${back.pathname}${back.search}`);
    expect(clean.statusCode).toBe(303);
    expect(clean.headers.location).toBe('/cas/account/sessions');
    expect((await anonymous.get('/cas/account/sessions')).statusCode).toBe(200);
  });
});

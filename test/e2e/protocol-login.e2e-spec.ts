import { randomBytes } from 'node:crypto';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

const login = (service: string, extra = '') => `/cas/login?service=${encodeURIComponent(service)}${extra}`;
const isForm = (body: string) => /<input type="text" id="username" name="username"/.test(body) && body.includes('name="password"');

describe('/login and /logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const count = async (type: string) => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = $1`, [type])).rows[0].n as number;

  describe('credential requestor', () => {
    it('shows the form without a TGC, with or without a service (1, 2), with security headers', async () => {
      for (const url of ['/cas/login', login(APP)]) {
        const res = await t.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(isForm(res.body)).toBe(true);
        expect(res.body).toMatch(/<label for="username">/);
        expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('refuses an unregistered or disabled service without a ticket or a redirect (13, T2)', async () => {
      const before = await count('ST');
      for (const service of ['https://evil.org/', 'https://disabled.example.org/x']) {
        const res = await t.app.inject({ method: 'GET', url: login(service) });
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain('Application not authorized to use CAS');
        expect(res.headers.location).toBeUndefined();
      }
      expect(await count('ST')).toBe(before);
    });

    it('never redirects off the registry for tricky service values (T2), and never echoes Host (T24)', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const before = await count('ST');
      const tricky = [
        'javascript:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        '//evil.org',
        'https://app.example.org.evil.org/',
        'https://app.example.org@evil.org/',
        'https://evil.org/%2e%2e/app.example.org/',
        'https://app.example.org/\r\nSet-Cookie: x=y',
        `https://app.example.org/${'a'.repeat(8000)}`,
      ];
      for (const service of tricky) {
        const res = await b.request({ method: 'GET', url: login(service), headers: { host: 'evil.org' } });
        // Refused outright: "not authorized", or 414 for the over-long URL; never a redirect, never a ticket.
        expect([403, 414]).toContain(res.statusCode);
        expect(res.headers.location).toBeUndefined();
        for (const [, v] of Object.entries(res.headers)) expect(String(v)).not.toMatch(/[\r\n]/);
        expect(res.body).not.toContain('evil.org');
      }
      const twice = await b.get(`${login(APP)}&service=${encodeURIComponent('https://evil.org/')}`);
      expect(twice.headers.location).toBeUndefined();
      expect(twice.statusCode).toBe(400);
      expect(await count('ST')).toBe(before);
      // The same browser does get its ticket for a service that really is app.example.org/…: exactly one.
      expect(ticketOf(await b.request({ method: 'GET', url: login(APP), headers: { host: 'evil.org' } }))).toMatch(/^ST-/);
      expect(await count('ST')).toBe(before + 1);
    });
  });

  describe('credential acceptor', () => {
    it('redirects to the service with an ST (3), keeping its query string (4)', async () => {
      const res = await new Browser(t.app).login('casuser', 'Mellon', 'https://app.example.org/page?a=1&b=2');
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toMatch(/^https:\/\/app\.example\.org\/page\?a=1&b=2&ticket=ST-[A-Za-z0-9]{32}$/);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('shows "logged in" and sets the TGC without a service (5); TGC flags (6, T10)', async () => {
      const res = await new Browser(t.app).login('casuser', 'Mellon');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Log in successful');
      const tgc = setCookies(res).find((c) => c.name === 'TGC')!;
      expect(tgc.value).toMatch(/^[0-9a-f]+$/);
      expect(tgc.attributes).toMatchObject({ path: '/cas', httponly: true, samesite: 'Lax' });
      expect(tgc.attributes.secure).toBeUndefined();
      expect(tgc.attributes['max-age']).toBeUndefined();
      expect(tgc.attributes.expires).toBeUndefined();
      expect(tgc.attributes.domain).toBeUndefined();
    });

    it('answers a failed login with 401, the form, one generic message, no TGC (7)', async () => {
      const wrong = await new Browser(t.app).login('casuser', 'wrong', APP);
      const unknown = await new Browser(t.app).login('nobody', 'wrong', APP);
      const nul = await new Browser(t.app).login('cas\u0000user', 'Mellon', APP);
      for (const res of [wrong, unknown]) {
        expect(res.statusCode).toBe(401);
        expect(isForm(res.body)).toBe(true);
        expect(res.body).toContain('Invalid credentials.');
        expect(setCookies(res).some((c) => c.name === 'TGC')).toBe(false);
      }
      expect(nul.statusCode).toBeLessThan(500);
      expect(wrong.body.replace(/value="[^"]*"/g, '')).toBe(unknown.body.replace(/value="[^"]*"/g, ''));
    });

    it('answers method=POST with an auto-submitting form that posts the ticket (14)', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const res = await b.get(login(APP, '&method=POST'));
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/<form id="cas-post" method="post" action="https:\/\/app\.example\.org\/">/);
      expect(res.body).toMatch(/<input type="hidden" name="ticket" value="ST-[A-Za-z0-9]{32}">/);
      const nonce = /nonce="([^"]+)"/.exec(res.body)![1];
      expect(res.headers['content-security-policy']).toContain(`'nonce-${nonce}'`);
      expect(res.headers['content-security-policy']).toContain('form-action https://app.example.org');
    });
  });

  it("the login form's CSP lets its POST end at the service: form-action 'self' and the service's origin (Chrome applies form-action to the redirect after the POST)", async () => {
    const withService = await new Browser(t.app).get(login(APP));
    expect(withService.statusCode).toBe(200);
    expect(withService.headers['content-security-policy']).toMatch(/form-action 'self' https:\/\/app\.example\.org(;|$)/);
    const without = await new Browser(t.app).get('/cas/login');
    expect(without.headers['content-security-policy']).toMatch(/form-action 'self'(;|$)/);
    expect(without.headers['content-security-policy']).not.toContain('app.example.org');
  });

  describe('SSO', () => {
    it('gives a fresh ST without the form (8), gateway too (11); the already-logged-in page without service (15)', async () => {
      const b = new Browser(t.app);
      const first = ticketOf(await b.login('casuser', 'Mellon', APP));
      const sso = await b.get(login(OTHER));
      expect(sso.statusCode).toBe(302);
      expect(ticketOf(sso)).not.toBe(first);
      expect(ticketOf(await b.get(login(APP, '&gateway=true')))).toMatch(/^ST-/);
      const page = await b.get('/cas/login');
      expect(page.body).toContain('Log in successful');
      expect(isForm(page.body)).toBe(false);
    });

    it('shows the form for renew=true, also with gateway (9, 12)', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const before = await count('ST');
      for (const extra of ['&renew=true', '&renew=true&gateway=true']) {
        const res = await b.get(login(APP, extra));
        expect(res.statusCode).toBe(200);
        expect(isForm(res.body)).toBe(true);
      }
      expect(await count('ST')).toBe(before);
    });

    it('sends gateway=true without a session back to the service without a ticket (10)', async () => {
      const res = await t.app.inject({ method: 'GET', url: login(APP, '&gateway=true') });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(APP);
    });

    it('slides the idle window on use (25), ends at the idle (23) and the hard limit (24, T7)', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const tgt = async () => (await t.sql.query(`SELECT id, expires_at FROM tickets WHERE type = 'TGT' ORDER BY created_at DESC LIMIT 1`)).rows[0];
      const { id, expires_at: before } = await tgt();
      t.clock.advance(3600);
      expect((await b.get(login(APP))).statusCode).toBe(302);
      const after = (await t.sql.query(`SELECT expires_at FROM tickets WHERE id = $1`, [id])).rows[0].expires_at;
      expect(after.getTime() - before.getTime()).toBeGreaterThanOrEqual(3600_000);
      for (let h = 0; h < 6; h++) {
        t.clock.advance(3600);
        expect((await b.get(login(APP))).statusCode).toBe(302);
      }
      t.clock.advance(3601); // 8 h + 1 s after login, used every hour
      expect(isForm((await b.get(login(APP))).body)).toBe(true);

      const idle = new Browser(t.app);
      await idle.login('casuser', 'Mellon');
      t.clock.advance(7201);
      const res = await idle.get(login(APP));
      expect(isForm(res.body)).toBe(true);
      expect(setCookies(res).find((c) => c.name === 'TGC')?.attributes['max-age']).toBe('0');
    });

    it('replaces the session at a new login: new TGT id, the old one is gone (T13)', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const oldCookie = b.cookies.get('TGC')!;
      const { rows: before } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`);
      // With a TGC, /login?service= is SSO; renew=true asks for credentials again.
      const form = await b.get(login(APP, '&renew=true'));
      expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body) })).statusCode).toBe(302);
      const { rows: after } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`);
      expect(after.length).toBe(before.length);
      expect(b.cookies.get('TGC')).not.toBe(oldCookie);
      const planted = new Browser(t.app);
      planted.cookies.set('TGC', oldCookie);
      expect(isForm((await planted.get(login(APP))).body)).toBe(true);
    });
  });

  describe('TGC tampering (T11)', () => {
    it('treats every altered cookie as no session: the form, no ST, never a 500', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const good = b.cookies.get('TGC')!;
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
      const variants = [
        // every hex digit of the value altered in turn, the last ones included (signature padding bits)
        ...Array.from({ length: good.length }, (_, i) => flip(good, i)).filter((_, i) => i % 7 === 0 || i > good.length - 8),
        good.slice(0, -2),
        `${good}00`,
        'zz',
        '',
        Buffer.from('eyJhbGciOiJub25lIn0.eyJ0IjoiVEdULXgifQ.').toString('hex'),
        'x'.repeat(5000),
      ];
      const before = await count('ST');
      for (const v of variants) {
        const c = new Browser(t.app);
        c.cookies.set('TGC', v);
        const res = await c.get(login(APP));
        expect(res.statusCode).toBe(200);
        expect(isForm(res.body)).toBe(true);
      }
      expect(await count('ST')).toBe(before);
    });

    it('refuses a cookie made with other keys', async () => {
      const foreign = await startTestApp({
        env: { CAS_TGC_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), CAS_TGC_CRYPTO_SIGNING_KEY: randomBytes(64).toString('base64url') },
      });
      try {
        const f = new Browser(foreign.app);
        await f.login('casuser', 'Mellon');
        const c = new Browser(t.app);
        c.cookies.set('TGC', f.cookies.get('TGC')!);
        expect(isForm((await c.get(login(APP))).body)).toBe(true);
      } finally {
        await foreign.close();
      }
    });
  });

  describe('login form token (T14)', () => {
    it('refuses a POST without, with a reused, another browser’s or an expired execution: 403, no TGT', async () => {
      const tgts = await count('TGT');
      const b = new Browser(t.app);
      expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon' })).statusCode).toBe(403);

      const form = await b.get('/cas/login');
      const execution = executionOf(form.body);
      expect((await b.post('/cas/login', { username: 'casuser', password: 'wrong', execution })).statusCode).toBe(401);
      expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution })).statusCode).toBe(403);

      const stolen = executionOf((await new Browser(t.app).get('/cas/login')).body);
      expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: stolen })).statusCode).toBe(403);

      const old = executionOf((await b.get('/cas/login')).body);
      t.clock.advance(16 * 60);
      const expired = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: old });
      expect(expired.statusCode).toBe(403);
      expect(expired.body).toContain('expired');
      expect(await count('TGT')).toBe(tgts);
    });
  });

  describe('/logout', () => {
    it('clears the TGC, ends SSO, kills unvalidated tickets and the session rows (64, 65, 66)', async () => {
      const b = new Browser(t.app);
      const st = ticketOf(await b.login('casuser', 'Mellon', APP));
      const tgc = b.cookies.get('TGC')!;
      const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st]);
      const res = await b.get('/cas/logout');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Logout successful');
      const cleared = setCookies(res).find((c) => c.name === 'TGC')!;
      expect(cleared.attributes['max-age']).toBe('0');
      expect(isForm((await b.get(login(APP))).body)).toBe(true);
      const v = await t.app.inject({ method: 'GET', url: `/cas/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${st}` });
      expect(v.body).toContain('code="INVALID_TICKET"');
      const left = await t.sql.query(
        `SELECT (SELECT count(*) FROM tickets WHERE session_id = $1)::int AS tickets,
                (SELECT count(*) FROM session_services WHERE session_id = $1)::int AS services`,
        [rows[0].session_id],
      );
      expect(left.rows[0]).toEqual({ tickets: 0, services: 0 });
      // The cookie replayed after logout is worthless (T12).
      const replay = new Browser(t.app);
      replay.cookies.set('TGC', tgc);
      expect(isForm((await replay.get(login(APP))).body)).toBe(true);
    });

    it('does not follow service by default (67), never an unregistered one (68), never url (69); works without a TGC (78)', async () => {
      for (const url of [
        `/cas/logout?service=${encodeURIComponent(APP)}`,
        `/cas/logout?service=${encodeURIComponent('https://evil.org/')}`,
        `/cas/logout?url=${encodeURIComponent(APP)}`,
        '/cas/logout',
      ]) {
        const res = await t.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.headers.location).toBeUndefined();
        expect(res.body).toContain('Logout successful');
      }
    });
  });
});

describe('/logout with CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS=true, and an https prefix', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS: 'true', CAS_SERVER_PREFIX: 'https://cas.example.org/cas' } });
  });
  afterAll(() => t.close());

  it('redirects to a registered service only (67, 68)', async () => {
    const ok = await t.app.inject({ method: 'GET', url: `/cas/logout?service=${encodeURIComponent(APP)}` });
    expect(ok.statusCode).toBe(302);
    expect(ok.headers.location).toBe(APP);
    const evil = await t.app.inject({ method: 'GET', url: `/cas/logout?service=${encodeURIComponent('https://evil.org/')}` });
    expect(evil.statusCode).toBe(200);
    expect(evil.headers.location).toBeUndefined();
  });

  it('marks the TGC Secure under https (6, T10)', async () => {
    const res = await new Browser(t.app).login('casuser', 'Mellon');
    expect(setCookies(res).find((c) => c.name === 'TGC')!.attributes.secure).toBe(true);
  });
});

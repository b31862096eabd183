import { consoleSession, CONSOLE_TOKEN, CONSOLE_TOKEN_ENV, type ConsoleSession } from '../helpers/console-rig';
import { startTestApp, TestApp } from '../helpers/test-app';

const CSP = /^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/;

/** The console's Audit page over HTTP: the admin_audit log, newest first, filtered and paged. */
describe('console: audit log', () => {
  let t: TestApp;
  let s: ConsoleSession;
  let requestId: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...CONSOLE_TOKEN_ENV } });
    // The entries' day is the clock's: frozen, the date filters cannot straddle a midnight.
    t.clock.freeze();
    s = await consoleSession(t.app);
    // Real admin requests: a refused one (no token), one under the token, one with markup in its URL.
    await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions' });
    const ok = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?username=alice', headers: { authorization: `Bearer ${CONSOLE_TOKEN}` } });
    requestId = ok.headers['x-request-id'] as string;
    await t.app.inject({ method: 'GET', url: '/cas/actuator/%3Cscript%3Ealert(1)%3C/script%3E', headers: { authorization: `Bearer ${CONSOLE_TOKEN}` } });
  });
  afterAll(() => t.close());

  const get = (url: string, session: ConsoleSession | null = s) => t.app.inject({ method: 'GET', url, headers: session ? { cookie: session.cookie } : {} });
  /** The targets listed, in order, as a reader sees them. */
  const targets = (body: string) => [...body.matchAll(/<td class="target"><span class="method">[A-Z]+<\/span> <span class="mono">([^<]*)<\/span><\/td>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));

  it('sends a visitor without the console cookie to the sign-in page', async () => {
    const res = await get('/cas/admin/audit?actor=ops', null);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin%2Faudit%3Factor%3Dops');
  });

  it('lists the entries newest first under the strict CSP, each field escaped, with a labelled filter form; viewing it is audited under the token id', async () => {
    const res = await get('/cas/admin/audit');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(CSP);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('<h1>Audit log</h1>');
    for (const [id, label] of [['actor', 'Actor (token id)'], ['method', 'Method'], ['status', 'Status'], ['target', 'Target'], ['from', 'From day'], ['to', 'To day (included)'], ['request', 'Request id']]) {
      expect(res.body).toContain(`<label for="${id}">${label}</label>`);
    }
    expect(res.body).not.toMatch(/<script/);
    // From the sign-in (consoleSession) to the previous test's refused page load; this request is recorded once answered.
    expect(targets(res.body)).toEqual([
      '/admin/audit?actor=ops',
      '/actuator/%3Cscript%3Ealert(1)%3C/script%3E',
      '/actuator/ssoSessions?username=alice',
      '/actuator/ssoSessions',
      '/admin',
      '/admin/login',
    ]);
    expect(res.body).toContain('<span class="mono">/actuator/%3Cscript%3Ealert(1)%3C/script%3E</span>');
    const { rows } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit ORDER BY id DESC LIMIT 1`);
    expect(rows).toEqual([{ actor: 'console-test', action: 'GET', target: '/admin/audit', status: 200 }]);
  });

  it('filters by actor, method, status class, target prefix or text, request id and dates', async () => {
    expect(targets((await get('/cas/admin/audit?actor=anonymous')).body)).toEqual(['/admin/audit?actor=ops', '/actuator/%3Cscript%3Ealert(1)%3C/script%3E', '/actuator/ssoSessions']);
    expect(targets((await get('/cas/admin/audit?status=4xx&target=%2Factuator%2F&match=prefix')).body)).toEqual([
      '/actuator/%3Cscript%3Ealert(1)%3C/script%3E',
      '/actuator/ssoSessions',
    ]);
    expect(targets((await get('/cas/admin/audit?status=200&target=alice')).body)).toEqual(['/actuator/ssoSessions?username=alice']);
    expect(targets((await get(`/cas/admin/audit?request=${encodeURIComponent(requestId)}`)).body)).toEqual(['/actuator/ssoSessions?username=alice']);
    expect(targets((await get('/cas/admin/audit?method=POST&actor=anonymous')).body)).toEqual([]);
    const today = t.clock.now().toISOString().slice(0, 10);
    expect(targets((await get(`/cas/admin/audit?actor=anonymous&status=401&from=${today}&to=${today}`)).body)).toEqual(['/actuator/ssoSessions']);
    const yesterday = new Date(t.clock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
    const none = await get(`/cas/admin/audit?to=${yesterday}`);
    expect(none.statusCode).toBe(200);
    expect(none.body).toContain('No entry matches these filters.');
    // The form shows the filters as given.
    expect(none.body).toContain(`id="to" name="to" value="${yesterday}"`);
  });

  it('answers a bad filter with 400 and the message under its field', async () => {
    const res = await get('/cas/admin/audit?status=42&from=2026-02-30');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-security-policy']).toMatch(CSP);
    expect(res.body).toContain('id="status" name="status" value="42" spellcheck="false" aria-invalid="true" aria-describedby="status-error"');
    expect(res.body).toContain('<p class="error-text" id="status-error">A status such as 403, or a class such as 4xx.</p>');
    expect(res.body).toContain('<p class="error-text" id="from-error">A date such as 2026-01-31.</p>');
    expect(res.body).not.toContain('<table');
    const page = await get('/cas/admin/audit?before=abc');
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('Not a page of this log');
  });

  it('pages 50 entries at a time, newest first, keeping the filters', async () => {
    for (let i = 0; i < 55; i++) await t.app.inject({ method: 'GET', url: `/cas/actuator/ssoSessions?page=${i}` });
    const first = await get('/cas/admin/audit?actor=anonymous&target=page%3D');
    expect(targets(first.body)).toHaveLength(50);
    expect(targets(first.body)[0]).toBe('/actuator/ssoSessions?page=54');
    const older = /href="([^"]+)">Older entries/.exec(first.body)?.[1].replace(/&amp;/g, '&');
    expect(older).toMatch(/^\/cas\/admin\/audit\?actor=anonymous&target=page%3D&before=\d+$/);
    const second = await get(older!);
    expect(targets(second.body)).toEqual(['/actuator/ssoSessions?page=4', '/actuator/ssoSessions?page=3', '/actuator/ssoSessions?page=2', '/actuator/ssoSessions?page=1', '/actuator/ssoSessions?page=0']);
    expect(second.body).not.toContain('Older entries');
    expect(second.body).toContain('← Newest');
  });

  it('searches at most 100,000 entries a page for a text filter, and offers to search older ones', async () => {
    await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?needle=1' });
    await t.sql.query(
      `INSERT INTO admin_audit (at, actor, client_ip, action, target, status) SELECT now(), 'filler', '127.0.0.1', 'GET', '/actuator/ssoSessions', 200 FROM generate_series(1, 100000)`,
    );
    const first = await get('/cas/admin/audit?target=needle');
    expect(first.statusCode).toBe(200);
    expect(targets(first.body)).toEqual([]);
    expect(first.body).toMatch(/No entry since <time datetime="[^"]+">[^<]+<\/time> matches these filters\./);
    const older = /href="([^"]+)">Search older entries/.exec(first.body)?.[1].replace(/&amp;/g, '&');
    expect(older).toMatch(/^\/cas\/admin\/audit\?target=needle&before=\d+$/);
    const second = await get(older!);
    expect(targets(second.body)).toEqual(['/actuator/ssoSessions?needle=1']);
    expect(second.body).not.toContain('Search older entries');
  });
});

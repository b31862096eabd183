import { Browser, ticketOf } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { CACHED_TOTALS_FROM_SESSIONS } from '../../src/admin/sso-sessions.service';
import { startTestApp, TestApp } from '../helpers/test-app';
// Loopback services (test service 5) where nothing listens: single logout is on, and its requests
// must never leave the machine.
const APP = 'http://127.0.0.1:9/app';
const OTHER = 'http://127.0.0.1:9/other';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };

describe('/actuator/ssoSessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false', CAS_SLO_DISABLED: 'false' } });
  });
  afterAll(() => t.close());

  const admin = (method: 'GET' | 'DELETE', url: string, headers: Record<string, string> = BEARER) =>
    t.app.inject({ method, url: `/cas/actuator/${url}`, headers });

  async function session(user = 'casuser', services: string[] = [APP]) {
    const b = new Browser(t.app);
    await b.login(user, 'Mellon');
    const tickets: string[] = [];
    for (const s of services) tickets.push(ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(s)}`)));
    const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [tickets[0]]);
    return { b, tgt: rows[0].session_id as string, tickets };
  }

  it('requires the bearer token: none or a wrong one is 401 and nothing else (92)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic b3BzOng=' }] as Record<string, string>[]) {
      const res = await admin('GET', 'ssoSessions', headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ status: 401, message: 'A valid bearer token is required' });
    }
    expect((await admin('GET', 'ssoSessions')).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/health' })).statusCode).toBe(200);
    expect((await admin('GET', 'ssoSessions')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lists sessions with CAS 7 keys, services and totals (79, 82)', async () => {
    const { tgt, tickets } = await session('casuser', [APP, OTHER]);
    const res = await admin('GET', 'ssoSessions');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const s = body.activeSsoSessions.find((x: { ticket_granting_ticket: string }) => x.ticket_granting_ticket === tgt);
    expect(Object.keys(s)).toEqual([
      'authenticated_principal', 'authentication_date', 'authentication_date_formatted', 'creation_date_formatted',
      'last_used_date_formatted', 'number_of_uses', 'ticket_granting_ticket', 'principal_attributes', 'authentication_attributes',
      'expiration_policy', 'remember_me', 'is_proxied', 'authenticated_services',
      // ours, after CAS's (issue 14, session-origin.e2e-spec)
      'client_ip', 'user_agent', 'device', 'location',
    ]);
    expect(s).toMatchObject({ authenticated_principal: 'casuser', number_of_uses: 2, remember_me: false, is_proxied: false });
    expect(s.principal_attributes.memberOf).toEqual(['staff', 'faculty']);
    expect(Object.keys(s.authenticated_services).sort()).toEqual([...tickets].sort());
    expect(s.authenticated_services[tickets[0]].id).toBe(APP);
    expect(s.expiration_policy).toMatchObject({ timeToIdle: 7200, timeToLive: 28800, name: 'TicketGrantingTicketExpirationPolicy' });
    expect(s.authentication_date_formatted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`);
    expect(body).toMatchObject({ totalSsoSessions: rows[0].n, totalTicketGrantingTickets: rows[0].n, totalProxyGrantingTickets: 0, totalTickets: rows[0].n });
    expect(body.totalPrincipals).toBeGreaterThanOrEqual(1);
  });

  it('filters by username ignoring case (80), by type DIRECT without is_proxied (81), refuses an unknown type', async () => {
    await session('casuser');
    const byName = (await admin('GET', 'ssoSessions?username=CASUSER')).json();
    expect(byName.activeSsoSessions.length).toBeGreaterThan(0);
    expect(byName.activeSsoSessions.every((s: { authenticated_principal: string }) => s.authenticated_principal === 'casuser')).toBe(true);
    expect((await admin('GET', 'ssoSessions/users/CasUser')).json().activeSsoSessions).toHaveLength(byName.activeSsoSessions.length);
    expect((await admin('GET', 'ssoSessions?username=nobody')).json().activeSsoSessions).toEqual([]);
    const direct = (await admin('GET', 'ssoSessions?type=DIRECT')).json();
    expect(direct.activeSsoSessions.every((s: Record<string, unknown>) => !('is_proxied' in s))).toBe(true);
    expect((await admin('GET', 'ssoSessions?type=PROXIED')).json().activeSsoSessions).toEqual([]);
    const bad = await admin('GET', 'ssoSessions?type=SOME');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain("'type' must be ALL, DIRECT or PROXIED");
    expect((await admin('GET', 'ssoSessions?count=abc')).statusCode).toBe(400);
    expect((await admin('GET', 'ssoSessions?from=10')).statusCode).toBe(400);
  });

  it('pages with count and a cursor, without gaps or repeats', async () => {
    for (let i = 0; i < 5; i++) await session();
    const all = (await admin('GET', 'ssoSessions')).json().activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket);
    const seen: string[] = [];
    let url = 'ssoSessions?count=2&from=0';
    for (;;) {
      const page = (await admin('GET', url)).json();
      seen.push(...page.activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket));
      if (!page.next) break;
      url = `ssoSessions?count=2&cursor=${page.next}`;
    }
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('DELETE one session: 200 with its logout requests; no more SSO, its tickets are dead (83, 84, 89)', async () => {
    const { b, tgt } = await session('casuser', [APP]);
    const unvalidated = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(OTHER)}`));
    const res = await admin('DELETE', `ssoSessions/${tgt}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe(200);
    expect(body.ticketGrantingTicket).toBe(tgt);
    expect(body.singleLogoutRequests.map((r: { service: string }) => r.service).sort()).toEqual([APP, OTHER].sort());
    expect(body.singleLogoutRequests[0]).toMatchObject({ logoutType: 'BACK_CHANNEL' });
    expect(['SUCCESS', 'FAILURE', 'PENDING', 'SENDING']).toContain(body.singleLogoutRequests[0].status);
    const sso = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(sso.statusCode).toBe(200);
    const v = await t.app.inject({ method: 'GET', url: `/cas/serviceValidate?service=${encodeURIComponent(OTHER)}&ticket=${unvalidated}` });
    expect(v.body).toContain('code="INVALID_TICKET"');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [tgt])).rows[0].n).toBe(0);
    const status = await admin('GET', `singleLogoutRequests?ticketGrantingTicket=${tgt}`);
    expect(status.json()).toHaveLength(2);
  });

  it('DELETE an unknown session is 404 (not CAS 200), a malformed id too (85)', async () => {
    const res = await admin('DELETE', `ssoSessions/TGT-${'x'.repeat(48)}`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ status: 404, ticketGrantingTicket: `TGT-${'x'.repeat(48)}`, message: 'No such SSO session' });
    expect((await admin('DELETE', 'ssoSessions/garbage')).statusCode).toBe(404);
  });

  it('DELETE by username answers a map by TGT id and ends them all (86)', async () => {
    const a = await session('casuser');
    const b2 = await session('casuser');
    const res = await admin('DELETE', 'ssoSessions?username=CASUSER');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(expect.arrayContaining([a.tgt, b2.tgt]));
    expect(body[a.tgt]).toMatchObject({ status: 200, ticketGrantingTicket: a.tgt });
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT' AND lower(principal) = 'casuser'`)).rows[0].n).toBe(0);
  });

  it('DELETE without type or username is 400 with {status: 400} (87); type=ALL ends everything (88)', async () => {
    const none = await admin('DELETE', 'ssoSessions');
    expect(none.statusCode).toBe(400);
    expect(none.json().status).toBe(400);
    await session();
    await session();
    const all = await admin('DELETE', 'ssoSessions?type=ALL');
    expect(all.statusCode).toBe(200);
    expect(all.json().status).toBe(200);
    expect(all.json().ended).toBeGreaterThanOrEqual(2);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n).toBe(0);
  });

  it('GET /actuator/sso shows the caller’s own session (90)', async () => {
    const { b } = await session('casuser', [APP]);
    const res = await b.request({ method: 'GET', url: '/cas/actuator/sso', headers: BEARER });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ principal: 'casuser', numberOfUses: 1 });
    expect(new Date(res.json().authenticationDate).getTime()).toBeGreaterThan(0);
    const tgc = b.cookies.get('TGC')!;
    expect((await t.app.inject({ method: 'GET', url: `/cas/actuator/sso?tgc=${tgc}`, headers: { ...BEARER, 'user-agent': 'jest-browser/1.0' } })).statusCode).toBe(200);
    const none = await admin('GET', 'sso');
    expect(none.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/sso' })).statusCode).toBe(401);
  });

  it('records every admin request, refused ones too, in the audit log', async () => {
    await admin('GET', 'ssoSessions', {});
    await admin('GET', 'ssoSessions?type=DIRECT');
    const log = (await admin('GET', 'auditLog?count=5')).json();
    const [last, before] = log.entries;
    expect(last).toMatchObject({ actor: 'ops', action: 'GET', target: '/actuator/ssoSessions?type=DIRECT', status: 200 });
    expect(before).toMatchObject({ actor: 'anonymous', action: 'GET', target: '/actuator/ssoSessions', status: 401 });
    expect(last.clientIp).toBe('127.0.0.1');
  });
});

describe('/actuator without CAS_ADMIN_TOKENS: loopback only, and the seed curl commands', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_SLO_DISABLED: 'false' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}/cas`;
  });
  afterAll(() => t.close());

  it('refuses a client that is not on loopback', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions', remoteAddress: '192.0.2.7' });
    expect(res.statusCode).toBe(401);
  });

  it('answers the five curl commands as written', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon', APP);
    const { rows } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`);
    // curl -X GET http://localhost:8080/cas/actuator/ssoSessions | jq
    const list = await fetch(`${base}/actuator/ssoSessions`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { activeSsoSessions: unknown[] }).activeSsoSessions).toHaveLength(1);
    // curl -X GET http://localhost:8080/cas/actuator/ssoSessions?username=casuser | jq
    expect(((await (await fetch(`${base}/actuator/ssoSessions?username=casuser`)).json()) as { activeSsoSessions: unknown[] }).activeSsoSessions).toHaveLength(1);
    // curl -X DELETE http://localhost:8080/cas/actuator/ssoSessions/TGT-…
    const one = await fetch(`${base}/actuator/ssoSessions/${rows[0].id}`, { method: 'DELETE' });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { ticketGrantingTicket: string }).ticketGrantingTicket).toBe(rows[0].id);
    // curl -X DELETE http://localhost:8080/cas/actuator/ssoSessions?username=casuser
    await b.login('casuser', 'Mellon', APP);
    const byUser = await fetch(`${base}/actuator/ssoSessions?username=casuser`, { method: 'DELETE' });
    expect(byUser.status).toBe(200);
    expect(Object.keys((await byUser.json()) as object)).toHaveLength(1);
    // curl -X DELETE http://localhost:8080/cas/actuator/ssoSessions?type=ALL
    await b.login('casuser', 'Mellon', APP);
    const all = await fetch(`${base}/actuator/ssoSessions?type=ALL`, { method: 'DELETE' });
    expect(all.status).toBe(200);
    expect(await all.json()).toEqual({ status: 200, ended: 1 });
  });
});

describe('/actuator/ssoSessions totals on a large table', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  const totals = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?count=1', headers: BEARER });
    expect(res.statusCode).toBe(200);
    const { totalSsoSessions, totalsAsOf } = res.json();
    return { n: totalSsoSessions as number, asOf: totalsAsOf as string };
  };
  const login = () => new Browser(t.app).login('casuser', 'Mellon');

  it(`counts per request below ${CACHED_TOTALS_FROM_SESSIONS} sessions, then serves a copy at most 5 s old`, async () => {
    t.clock.freeze();
    await t.sql.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at, hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes)
       SELECT id, 'TGT', id, 'bulk' || g, now(), now(), now() + interval '1 hour', now() + interval '8 hours', 7200, 1, false, '{}'
         FROM (SELECT g, 'TGT-bulk-' || md5(g::text) AS id FROM generate_series(1, $1::int) g) s`,
      [CACHED_TOTALS_FROM_SESSIONS - 1],
    );
    // Exact on every request while small, however long the count took.
    expect((await totals()).n).toBe(CACHED_TOTALS_FROM_SESSIONS - 1);
    await login();
    const counted = await totals();
    expect(counted.n).toBe(CACHED_TOTALS_FROM_SESSIONS);
    // From the threshold on, the copy is served and says when it was counted: still at 5 s by
    // the server's clock (frozen here, so only the test moves it).
    await login();
    expect(await totals()).toEqual(counted);
    t.clock.advance((Date.parse(counted.asOf) + 5000 - t.clock.now().getTime()) / 1000);
    expect(await totals()).toEqual(counted);
    // The first request past 5 s starts a refresh in the background; a later one sees it.
    t.clock.advance(0.001);
    const later = await eventually(totals, (x) => x.n !== counted.n);
    expect(later).toEqual({ n: CACHED_TOTALS_FROM_SESSIONS + 1, asOf: new Date(Date.parse(counted.asOf) + 5001).toISOString() });
  });
});

describe('OpenAPI document of the admin API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN } });
  });
  afterAll(() => t.close());

  it('is served at /actuator/openapi.json and /actuator/docs, to admins only', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/openapi.json' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/docs' })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/openapi.json', headers: BEARER });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/cas/actuator/ssoSessions',
        '/cas/actuator/ssoSessions/{ticketGrantingTicket}',
        '/cas/actuator/registeredServices',
        '/cas/actuator/auditLog',
        '/cas/actuator/sso',
      ]),
    );
    expect(Object.keys(doc.paths).some((p) => p.endsWith('/login'))).toBe(false);
    const page = await t.app.inject({ method: 'GET', url: '/cas/actuator/docs', headers: BEARER });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<code>/cas/actuator/ssoSessions/{ticketGrantingTicket}</code>');
  });
});

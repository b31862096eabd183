import { UsersService } from '../../src/auth/users.service';
import { loadCasConfig } from '../../src/config/cas-config';
import { ConfigurationError } from '../../src/config/env.validation';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { HISTORY_PAGE_SQL, RECORD_LOGOUT_OUTCOMES_SQL } from '../../src/tickets/session-history';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
// Small argon2 memory keeps the users-table logins quick.
const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
const HOUR = 3600;

/** Every way a session ends leaves one session_history row, written with the end itself. */
describe('session history: one row per ended session, whatever ended it', () => {
  let rx: LogoutReceiver;
  let t: TestApp;
  let base: string;
  /** Back-channel (the receiver), front-channel, no logout, and a logout URL that can never be sent to (FAILURE at once). */
  let A: string, FRONT: string, NONE: string, BROKEN: string;

  beforeAll(async () => {
    rx = await logoutReceiver();
    base = `http://127.0.0.1:${rx.port}`;
    [A, FRONT, NONE, BROKEN] = ['a', 'front', 'none', 'broken'].map((p) => `${base}/${p}/`);
    const svc = (id: number, path: string, extra: Record<string, unknown> = {}) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      id,
      name: path,
      evaluationOrder: id,
      serviceId: `^http://127\\.0\\.0\\.1:${rx.port}/${path}/.*`,
      ...extra,
    });
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false', CAS_ADMIN_TOKENS: TOKEN, CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,bob::bob-password', AUTHN_THROTTLE_ENABLED: 'false', ...FAST_ARGON2 },
      services: [
        svc(1, 'a'),
        svc(2, 'front', { logoutType: 'FRONT_CHANNEL', logoutUrl: `${base}/front-logout` }),
        svc(3, 'none', { logoutType: 'NONE' }),
        svc(4, 'broken', { logoutUrl: 'ftp://127.0.0.1/logout' }),
      ],
    });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  const sessionOf = async (st: string) => (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id as string;
  const tgtOf = async (st: string) => (await t.sql.query(`SELECT * FROM tickets WHERE id = $1`, [await sessionOf(st)])).rows[0];
  const historyOf = async (sessionId: string) => (await t.sql.query(`SELECT * FROM session_history WHERE session_id = $1`, [sessionId])).rows;
  type Service = { service: string; logout?: string; status?: string };
  const byService = <S extends Service>(services: S[]) => [...services].sort((x, y) => x.service.localeCompare(y.service));
  const sso = async (b: Browser, service: string) => ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(service)}`));
  const clean = () => t.app.get(TicketRegistryCleaner).clean();

  it('a logout: LOGOUT, who, started, ended, each service reached with its logout, the back-channel status following the delivery', async () => {
    const b = new Browser(t.app);
    const first = ticketOf(await b.login('casuser', 'Mellon', A));
    await sso(b, FRONT);
    await sso(b, NONE);
    const latestA = await sso(b, `${A}?page=2`);
    const broken = await sso(b, BROKEN);
    const tgt = await tgtOf(first);
    expect(await historyOf(tgt.id)).toEqual([]);
    const before = t.clock.now();
    expect((await b.get('/cas/logout')).statusCode).toBe(200);

    const [row] = await historyOf(tgt.id);
    expect(row).toMatchObject({
      session_id: tgt.id, principal: 'casuser', principal_key: 'casuser', created_at: tgt.created_at, last_used_at: tgt.last_used_at, reason: 'LOGOUT',
      ended_by: null, uses: 5, remember_me: false, authentication_handler: tgt.authentication_handler,
    });
    expect(row.ended_at.getTime()).toBeGreaterThanOrEqual(before.getTime());
    const requests = (await t.sql.query(`SELECT id, ticket_id FROM slo_outbox WHERE session_id = $1`, [tgt.id])).rows;
    const requestFor = (st: string) => requests.find((r) => r.ticket_id === st)!.id;
    // PENDING when written; the delivery, started at once, may have finished by now.
    expect(byService(row.services)).toEqual([
      // Both tickets of /a/ count as one service (its logout request goes to the latest).
      { service: `${A}?page=2`, registered_service_id: 1, ticket_id: latestA, issued_at: expect.any(String), tickets: 2, logout: 'BACK_CHANNEL', request_id: requestFor(latestA), status: expect.stringMatching(/^(PENDING|SUCCESS)$/) },
      { service: BROKEN, registered_service_id: 4, ticket_id: broken, issued_at: expect.any(String), tickets: 1, logout: 'BACK_CHANNEL', request_id: requestFor(broken), status: expect.stringMatching(/^(PENDING|FAILURE)$/) },
      { service: FRONT, registered_service_id: 2, ticket_id: expect.any(String), issued_at: expect.any(String), tickets: 1, logout: 'FRONT_CHANNEL' },
      { service: NONE, registered_service_id: 3, ticket_id: expect.any(String), issued_at: expect.any(String), tickets: 1, logout: 'NONE' },
    ]);

    // Deliveries finish: their status is written into the row by the statement that records them.
    await t.app.get(SingleLogoutDelivery).kick();
    await rx.receivedAll([latestA]);
    const done = await eventually(
      async () => (await historyOf(tgt.id))[0].services as { service: string; status?: string }[],
      (services) => services.every((s) => s.status !== 'PENDING'),
    );
    expect(byService(done).map((s) => [s.service, s.status])).toEqual([[`${A}?page=2`, 'SUCCESS'], [BROKEN, 'FAILURE'], [FRONT, undefined], [NONE, undefined]]);
    const { rows: [view] } = await t.sql.query(
      `SELECT reason, services_reached, logouts_sent, logouts_pending, logouts_failed, duration > interval '0' AS lasted FROM sso_session_history WHERE tgt_id = $1`,
      [tgt.id],
    );
    expect(view).toEqual({ reason: 'LOGOUT', services_reached: 4, logouts_sent: 2, logouts_pending: 0, logouts_failed: 1, lasted: true });
  });

  it('an administrator: ADMIN with the id of the admin token used, for one session and for all of a user', async () => {
    const one = await sessionOf(ticketOf(await new Browser(t.app).login('casuser', 'Mellon', A)));
    const del = await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${one}`, headers: BEARER });
    expect(del.statusCode).toBe(200);
    expect(await historyOf(one)).toEqual([expect.objectContaining({ reason: 'ADMIN', ended_by: 'ops' })]);

    const bob = await Promise.all([1, 2].map(async () => sessionOf(ticketOf(await new Browser(t.app).login('bob', 'bob-password', A)))));
    expect((await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions?username=BOB', headers: BEARER })).statusCode).toBe(200);
    for (const id of bob) expect(await historyOf(id)).toEqual([expect.objectContaining({ principal: 'bob', reason: 'ADMIN', ended_by: 'ops' })]);
  });

  it('expiry: EXPIRED_IDLE or EXPIRED_HARD by the deadline that passed, ended at that deadline, by the cleaner or by the request that found it', async () => {
    await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions?type=ALL', headers: BEARER });
    const idle = await tgtOf(ticketOf(await new Browser(t.app).login('casuser', 'Mellon', A)));
    const found = new Browser(t.app);
    const foundTgt = await tgtOf(ticketOf(await found.login('casuser', 'Mellon', A)));

    // Idle for more than the 2 h time to kill: the request with its cookie finds it expired.
    t.clock.advance(2 * HOUR + 1);
    expect((await found.get(`/cas/login?service=${encodeURIComponent(A)}`)).statusCode).toBe(200);
    expect(await historyOf(foundTgt.id)).toEqual([expect.objectContaining({ reason: 'EXPIRED_IDLE', ended_at: foundTgt.expires_at })]);
    expect((await clean()).removed.sessions).toBeGreaterThanOrEqual(1);
    expect(await historyOf(idle.id)).toEqual([expect.objectContaining({ reason: 'EXPIRED_IDLE', ended_at: idle.expires_at })]);
  });

  it('the hard limit: a session used all along ends EXPIRED_HARD at its max time to live', async () => {
    const busy = new Browser(t.app);
    const tgt = await tgtOf(ticketOf(await busy.login('casuser', 'Mellon', A)));
    for (let used = 0; used < 4; used++) {
      t.clock.advance(7000);
      await sso(busy, A);
    }
    t.clock.advance(8 * HOUR - 4 * 7000 + 1);
    await clean();
    expect(await historyOf(tgt.id)).toEqual([expect.objectContaining({ reason: 'EXPIRED_HARD', ended_at: tgt.hard_expires_at, uses: 5 })]);
  });

  async function reauthenticate(b: Browser, username: string, password: string, service: string): Promise<string> {
    const form = await b.get(`/cas/login?service=${encodeURIComponent(service)}&renew=true`);
    return sessionOf(ticketOf(await b.post('/cas/login', { username, password, execution: executionOf(form.body) })));
  }

  it('a new login in the same browser: REPLACED, its services handed over (same user) or logged out (another user)', async () => {
    const b = new Browser(t.app);
    const st = ticketOf(await b.login('casuser', 'Mellon', A));
    const first = await sessionOf(st);
    const second = await reauthenticate(b, 'casuser', 'Mellon', FRONT);
    const [row] = await historyOf(first);
    expect(row).toMatchObject({ reason: 'REPLACED', principal: 'casuser' });
    expect(row.services).toEqual([{ service: A, registered_service_id: 1, ticket_id: st, issued_at: expect.any(String), tickets: 1, logout: 'HANDED_OVER' }]);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE session_id = $1`, [first])).rows[0].n).toBe(0);

    await reauthenticate(b, 'bob', 'bob-password', A);
    const [replaced] = await historyOf(second);
    expect(replaced).toMatchObject({ reason: 'REPLACED', principal: 'casuser' });
    // The handed-over service is logged out with the session that took it.
    expect(byService(replaced.services).map((s: Service) => [s.service, s.logout, s.status])).toEqual([
      [A, 'BACK_CHANNEL', expect.stringMatching(/^(PENDING|SUCCESS)$/)],
      [FRONT, 'FRONT_CHANNEL', undefined],
    ]);
    expect((await t.sql.query(`SELECT reason FROM slo_outbox WHERE session_id = $1`, [second])).rows).toEqual([{ reason: 'REPLACED' }]);
  });

  it('a disabled account (users CLI disable): DISABLED for each of its sessions', async () => {
    const users = t.app.get(UsersService);
    await users.add('dora', 'dora password 1');
    const sessions = [await sessionOf(ticketOf(await new Browser(t.app).login('dora', 'dora password 1', A))), await sessionOf(ticketOf(await new Browser(t.app).login('DORA', 'dora password 1', A)))];
    expect(await users.disable('dora')).toBe(2);
    for (const id of sessions) expect(await historyOf(id)).toEqual([expect.objectContaining({ principal: 'dora', reason: 'DISABLED', ended_by: null })]);
  });

  it('a password change (users CLI passwd) ends every session of the account: PASSWORD_CHANGE', async () => {
    const users = t.app.get(UsersService);
    await users.add('pat', 'old password 1');
    const browsers = [new Browser(t.app), new Browser(t.app)];
    const sessions = [];
    for (const b of browsers) sessions.push(await sessionOf(ticketOf(await b.login('pat', 'old password 1', A))));
    expect(await users.setPassword('pat', 'new password 2')).toBe(2);
    for (const id of sessions) expect(await historyOf(id)).toEqual([expect.objectContaining({ principal: 'pat', reason: 'PASSWORD_CHANGE' })]);
    // The sessions opened with the old password give no more tickets; the new password logs in.
    expect((await browsers[0].get(`/cas/login?service=${encodeURIComponent(A)}`)).statusCode).toBe(200);
    expect((await new Browser(t.app).login('pat', 'new password 2', A)).statusCode).toBe(302);
  });

  it('a proxied session (PGT) ended alone leaves no row: it is part of its SSO session', async () => {
    const count = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM session_history`)).rows[0].n as number;
    const before = await count();
    expect((await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions/PGT-1-none', headers: BEARER })).statusCode).toBe(404);
    expect(await count()).toBe(before);
  });
});

describe('GET /actuator/ssoSessions/history', () => {
  let t: TestApp;
  const APP = 'https://app.example.org/';
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN, CAS_AUTHN_ACCEPT_USERS: 'alice::alice-password,bob::bob-password,carol::carol-password', AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  const get = (query: string, headers: Record<string, string> = BEARER) => t.app.inject({ method: 'GET', url: `/cas/actuator/ssoSessions/history${query}`, headers });
  const login = async (user: string) => {
    const b = new Browser(t.app);
    const st = ticketOf(await b.login(user, `${user}-password`, APP));
    return { b, id: (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id as string };
  };

  let ended: { id: string; user: string; reason: string; at: Date }[] = [];
  let middle: Date;
  beforeAll(async () => {
    // carol: idle, cleaned; then alice logs out three times and bob is ended by an admin, a minute apart.
    const carol = await login('carol');
    t.clock.advance(2 * HOUR + 1);
    await t.app.get(TicketRegistryCleaner).clean();
    ended.push({ id: carol.id, user: 'carol', reason: 'EXPIRED_IDLE', at: t.clock.now() });
    for (const user of ['alice', 'alice', 'bob', 'alice']) {
      t.clock.advance(60);
      if (user === 'bob') middle = t.clock.now();
      const s = await login(user);
      if (user === 'bob') expect((await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${s.id}`, headers: BEARER })).statusCode).toBe(200);
      else await s.b.get('/cas/logout');
      ended.push({ id: s.id, user, reason: user === 'bob' ? 'ADMIN' : 'LOGOUT', at: t.clock.now() });
    }
    ended = ended.reverse(); // newest first, as the endpoint answers
  });

  const ids = (res: { json: () => { sessions: { ticket_granting_ticket: string }[] } }) => res.json().sessions.map((s) => s.ticket_granting_ticket);

  it('lists ended sessions newest first, with who, when, why and the services', async () => {
    const res = await get('');
    expect(res.statusCode).toBe(200);
    expect(ids(res)).toEqual(ended.map((e) => e.id));
    expect(res.json().next).toBeUndefined();
    const bob = res.json().sessions.find((s: { principal: string }) => s.principal === 'bob');
    expect(Object.keys(bob)).toEqual([
      'id', 'ticket_granting_ticket', 'principal', 'created_at', 'last_used_at', 'ended_at', 'reason', 'ended_by', 'uses', 'remember_me',
      'authentication_handler', 'authentication_factors', 'client_ip', 'user_agent', 'device', 'location', 'services',
    ]);
    expect(bob).toMatchObject({
      id: expect.any(Number), ticket_granting_ticket: ended[1].id, principal: 'bob', created_at: expect.any(String), last_used_at: expect.any(String),
      ended_at: expect.any(String), reason: 'ADMIN', ended_by: 'ops', uses: 1, remember_me: false, authentication_handler: expect.any(String),
      authentication_factors: null,
      services: [{ service: APP, registered_service_id: 1, ticket_id: expect.stringMatching(/^ST-/), issued_at: expect.any(String), tickets: 1, logout: 'NONE' }],
    });
  });

  it('filters by user (any case), by reason (EXPIRED: both kinds), by end time (a timestamp or a duration back from now)', async () => {
    expect(ids(await get('?username=ALICE'))).toEqual(ended.filter((e) => e.user === 'alice').map((e) => e.id));
    expect(ids(await get('?reason=admin'))).toEqual([ended[1].id]);
    expect(ids(await get('?reason=EXPIRED'))).toEqual([ended[4].id]);
    expect(ids(await get('?reason=EXPIRED_IDLE'))).toEqual([ended[4].id]);
    expect(ids(await get('?reason=EXPIRED_HARD'))).toEqual([]);
    expect(ids(await get(`?since=${middle.toISOString()}`))).toEqual(ended.slice(0, 2).map((e) => e.id));
    expect(ids(await get('?since=PT90S'))).toEqual(ended.slice(0, 2).map((e) => e.id));
    expect(ids(await get(`?since=${encodeURIComponent(middle.toISOString())}&username=alice&reason=LOGOUT`))).toEqual([ended[0].id]);
  });

  it('pages by keyset: count and cursor give every row once, in order', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; ; pages++) {
      const res = await get(`?count=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      seen.push(...ids(res));
      if (!res.json().next) break;
      cursor = res.json().next;
      expect(pages).toBeLessThan(5);
    }
    expect(seen).toEqual(ended.map((e) => e.id));
    // A page after the last row of a filter is empty, not an error.
    const alice = await get('?username=alice&count=3');
    expect((await get(`?username=alice&count=3&cursor=${alice.json().next}`)).json()).toEqual({ sessions: [] });
  });

  it('refuses bad parameters with a 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['?reason=BORED', 'reason'], ['?since=yesterday', 'since'], ['?since=2026-01-31T08:00:00', 'since'], ['?count=0', 'count'],
      ['?count=ten', 'count'], ['?cursor=abc', 'cursor'], ['?username=a&username=b', 'username'],
    ]) {
      const res = await get(query);
      expect([query, res.statusCode]).toEqual([query, 400]);
      expect(res.json()).toMatchObject({ status: 400, message: expect.stringContaining(`'${name}'`) });
    }
  });

  it('is for administrators only, and audited', async () => {
    expect((await get('', {})).statusCode).toBe(401);
    expect((await get('', { authorization: 'Bearer wrong-token-wrong-token-wrong' })).statusCode).toBe(401);
    const { rows } = await t.sql.query(`SELECT actor, status FROM admin_audit WHERE target = '/actuator/ssoSessions/history?reason=LOGOUT' ORDER BY id`);
    await get('?reason=LOGOUT');
    const after = (await t.sql.query(`SELECT actor, status FROM admin_audit WHERE target = '/actuator/ssoSessions/history?reason=LOGOUT' ORDER BY id`)).rows;
    expect(after).toEqual([...rows, { actor: 'ops', status: 200 }]);
  });

  it('keeps rows SESSION_HISTORY_RETENTION (90 days by default): the cleaner purges older ones by the clock, in batches', async () => {
    const count = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM session_history`)).rows[0].n as number;
    expect(await count()).toBe(5);
    t.clock.advance(90 * 86400 - 3 * 60);
    await t.app.get(TicketRegistryCleaner).clean();
    // The oldest (carol's, alice's first) are past 90 days; the rest are not yet.
    expect(ids(await get(''))).toEqual(ended.slice(0, 3).map((e) => e.id));
    t.clock.advance(3 * 60);
    await t.app.get(TicketRegistryCleaner).clean();
    expect(await count()).toBe(0);
  });

  it('SESSION_HISTORY_RETENTION is seconds or an ISO-8601 duration; a bad value stops the boot naming it', () => {
    expect(loadCasConfig({}).sessionHistory).toEqual({ retentionSeconds: 90 * 86400 });
    expect(loadCasConfig({ SESSION_HISTORY_RETENTION: 'P30D' }).sessionHistory.retentionSeconds).toBe(30 * 86400);
    expect(loadCasConfig({ SESSION_HISTORY_RETENTION: '3600' }).sessionHistory.retentionSeconds).toBe(3600);
    expect(() => loadCasConfig({ SESSION_HISTORY_RETENTION: 'forever' })).toThrow(ConfigurationError);
    expect(() => loadCasConfig({ SESSION_HISTORY_RETENTION: 'forever' })).toThrow(/SESSION_HISTORY_RETENTION/);
  });

  it('says where the session came from: the client IP, User-Agent, device and location its tickets row had', async () => {
    const s = await login('alice');
    // As the login records them (session origin); written here so the copy is what is tested.
    await t.sql.query(
      `UPDATE tickets SET client_ip = '2001:db8::7', user_agent = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', device_browser = 'Firefox 133',
              device_os = 'Linux', device_type = 'desktop', location_country = 'FR', location_city = 'Lyon' WHERE id = $1`,
      [s.id],
    );
    await s.b.get('/cas/logout');
    const [entry] = (await get('?count=1')).json().sessions;
    expect(entry).toMatchObject({
      ticket_granting_ticket: s.id, client_ip: '2001:db8::7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
      device: { browser: 'Firefox 133', os: 'Linux', type: 'desktop' }, location: { country: 'FR', city: 'Lyon' },
    });
    const { rows } = await t.sql.query(`SELECT tgt_id FROM sso_session_history WHERE client_ip <<= '2001:db8::/32'`);
    expect(rows).toEqual([{ tgt_id: s.id }]);
  });
});

describe('session history from the cleaner, set-wise', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TICKET_REGISTRY_CLEANER_BATCH_SIZE: '1000', TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '0' } });
  });
  afterAll(() => t.close());

  it('a batch of 600 expired sessions (more than one INSERT chunk) leaves 600 rows, each with the deadline that passed', async () => {
    const now = t.clock.now();
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    // Even: idle deadline passed (expires_at before the hard limit); odd: the hard limit passed.
    await t.sql.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at, idle_timeout_seconds, use_count, remember_me)
       SELECT 'TGT-seed-' || g, 'TGT', 'TGT-seed-' || g, 'user' || g, 'user' || g, $1, $2,
              CASE WHEN g % 2 = 0 THEN $3::timestamptz ELSE $4::timestamptz END, $4, 7200, 0, false
         FROM generate_series(1, 600) g`,
      [ago(9 * HOUR), ago(3 * HOUR), ago(HOUR), ago(60)],
    );
    await t.sql.query(
      `INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
       SELECT 'TGT-seed-' || g, 'ST-seed-' || g, 'https://app.example.org/', 1, $1 FROM generate_series(1, 600) g`,
      [ago(3 * HOUR)],
    );
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed.sessions).toBe(600);
    const { rows } = await t.sql.query(`SELECT reason, min(ended_at) AS first, max(ended_at) AS last, count(*)::int AS n,
                                               count(*) FILTER (WHERE services->0->>'ticket_id' = 'ST-seed-' || substr(session_id, 10))::int AS with_service
                                          FROM session_history GROUP BY reason ORDER BY reason`);
    expect(rows).toEqual([
      { reason: 'EXPIRED_HARD', first: ago(60), last: ago(60), n: 300, with_service: 300 },
      { reason: 'EXPIRED_IDLE', first: ago(HOUR), last: ago(HOUR), n: 300, with_service: 300 },
    ]);
  });
  it('each filter of the endpoint, and the delivery\'s status update, can walk its index (the partial ones included)', async () => {
    const plan = async (sql: string, params: unknown[]) => {
      const c = t.sql;
      await c.query('BEGIN');
      try {
        await c.query('SET LOCAL enable_seqscan = off');
        return JSON.stringify((await c.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows);
      } finally {
        await c.query('ROLLBACK');
      }
    };
    const page = (username: string | null, reason: string | null) => plan(HISTORY_PAGE_SQL, [username, null, reason, null, null, 100]);
    expect(await page('user1', null)).toContain('ix_session_history_user');
    expect(await page(null, 'ADMIN')).toContain('ix_session_history_reason');
    expect(await page(null, null)).toContain('ix_session_history_ended');
    const outcomes = `WITH done AS (SELECT 'LR-1'::varchar AS id, 'TGT-seed-1'::varchar AS session_id, 'SUCCESS'::varchar AS status) ${RECORD_LOGOUT_OUTCOMES_SQL}`;
    expect(await plan(outcomes, [])).toContain('ix_session_history_session');
  });

  it("a logout outcome rewrites the session's row in place (a HOT update: no index reads the services)", async () => {
    const c = t.sql;
    const session = 'TGT-hot-1';
    const services = JSON.stringify([{ service: 'https://app.example.org/', registered_service_id: 1, ticket_id: 'ST-hot-1', issued_at: '2026-01-01T00:00:00.000Z', tickets: 1, logout: 'BACK_CHANNEL', request_id: 'LR-hot1', status: 'PENDING' }]);
    await c.query('BEGIN');
    try {
      await c.query(
        `INSERT INTO session_history (session_id, principal, principal_key, created_at, ended_at, reason, uses, remember_me, services)
         VALUES ($1, 'hot', 'hot', now(), now(), 'LOGOUT', 0, false, $2::jsonb)`,
        [session, services],
      );
      await c.query(`WITH done AS (SELECT 'LR-hot1'::varchar AS id, $1::varchar AS session_id, 'SUCCESS'::varchar AS status) ${RECORD_LOGOUT_OUTCOMES_SQL}`, [session]);
      const { rows } = await c.query(
        `SELECT (SELECT services->0->>'status' FROM session_history WHERE session_id = $1) AS status, n_tup_upd::int AS updated, n_tup_hot_upd::int AS hot
           FROM pg_stat_xact_user_tables WHERE relname = 'session_history'`,
        [session],
      );
      expect(rows).toEqual([{ status: 'SUCCESS', updated: 1, hot: 1 }]);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});

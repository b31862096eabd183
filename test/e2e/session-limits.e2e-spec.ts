import type { Response } from 'light-my-request';
import { Client } from 'pg';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { logoutReceiver, type LogoutReceiver } from '../helpers/logout-receiver';
import { blocksWhile } from '../helpers/pg-locks';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { serviceFor } from '../helpers/test-services';

/**
 * Session limits (issue 14, "Limits"): CAS's cas.authn.policy.unique-principal.* and a maximum of
 * sessions per user, globally and per registered service (`properties.maximumAllowedSessions`),
 * refusing the new login or ending the oldest sessions through the logout pipeline.
 */

/** A service on the logout receiver's port, under `path`, with `extra` fields. */
function localService(rx: LogoutReceiver, id: number, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    id,
    name: path,
    evaluationOrder: id,
    serviceId: `^http://127\\.0\\.0\\.1:${rx.port}/${path}(/.*)?`,
    ...extra,
  };
}

/** CAS's JSON for a registered service property with one value. */
function maximumAllowedSessions(n: string): Record<string, unknown> {
  return {
    properties: {
      '@class': 'java.util.HashMap',
      maximumAllowedSessions: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProperty', values: ['java.util.HashSet', [n]] },
    },
  };
}

const USERS = 'casuser::Mellon,bob::bob-password';

async function liveSessions(t: TestApp, principal: string): Promise<string[]> {
  const r = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = $1 AND expires_at > $2 ORDER BY created_at, id`, [principal, t.clock.now()]);
  return r.rows.map((x) => x.id as string);
}

async function serviceTickets(t: TestApp, principal: string): Promise<number> {
  return (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST' AND principal = $1`, [principal])).rows[0].n;
}

/** Every session, ticket and logout request gone: each test starts from no session. */
async function reset(t: TestApp): Promise<void> {
  await t.sql.query('DELETE FROM tickets');
  await t.sql.query('DELETE FROM session_services');
  await t.sql.query('DELETE FROM slo_outbox');
  await t.sql.query('DELETE FROM session_history');
}

/** The TGT id behind a service ticket. */
async function sessionOf(t: TestApp, st: string): Promise<string> {
  return (await t.sql.query('SELECT session_id FROM tickets WHERE id = $1', [st])).rows[0].session_id;
}

function expectRefusal(res: Response, maximumText: RegExp): void {
  expect(res.statusCode).toBe(403);
  expect(res.headers.location).toBeUndefined();
  expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/TGC=[^;]/);
  expect(res.body).toContain('<h1>Too many sessions</h1>');
  expect(res.body).toMatch(maximumText);
  expect(res.body).toContain('You have not been logged in.');
}

describe('session limits: refuse the new login (CAS unique principal)', () => {
  let t: TestApp;
  let rx: LogoutReceiver;
  let app: string;
  let roomy: string;

  beforeAll(async () => {
    rx = await logoutReceiver();
    app = `http://127.0.0.1:${rx.port}/app`;
    roomy = `http://127.0.0.1:${rx.port}/roomy`;
    t = await startTestApp({
      env: { CAS_AUTHN_ACCEPT_USERS: USERS, CAS_SLO_DISABLED: 'false', AUTHN_THROTTLE_ENABLED: 'false', CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_ENABLED: 'true' },
      services: [localService(rx, 1, 'app'), localService(rx, 2, 'roomy', maximumAllowedSessions('2'))],
    });
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });
  beforeEach(() => reset(t));

  it('a second login of the same user elsewhere is refused: 403 page, no TGC, no session, no ticket; another user is not affected', async () => {
    const first = await new Browser(t.app).login('casuser', 'Mellon', app);
    expect(first.statusCode).toBe(302);
    const sessions = await liveSessions(t, 'casuser');
    expect(sessions).toHaveLength(1);

    const elsewhere = new Browser(t.app);
    const second = await elsewhere.login('casuser', 'Mellon', app);
    expectRefusal(second, /only one session at a time is allowed/);
    expect(elsewhere.cookies.has('TGC')).toBe(false);
    expect(await liveSessions(t, 'casuser')).toEqual(sessions);
    expect(await serviceTickets(t, 'casuser')).toBe(1);
    // Nothing was ended: the first session is untouched, no logout request queued.
    expect((await t.sql.query('SELECT count(*)::int AS n FROM slo_outbox')).rows[0].n).toBe(0);

    expect((await new Browser(t.app).login('bob', 'bob-password', app)).statusCode).toBe(302);
  });

  it('the login is accepted again once the first session is logged out', async () => {
    const first = new Browser(t.app);
    await first.login('casuser', 'Mellon', app);
    expect((await new Browser(t.app).login('casuser', 'Mellon', app)).statusCode).toBe(403);
    await first.get('/cas/logout');
    expect(await liveSessions(t, 'casuser')).toHaveLength(0);
    expect((await new Browser(t.app).login('casuser', 'Mellon', app)).statusCode).toBe(302);
  });

  it('a new login in the same browser (renew) replaces its own session and is not counted against the limit', async () => {
    const browser = new Browser(t.app);
    const first = await browser.login('casuser', 'Mellon', app);
    const old = await sessionOf(t, ticketOf(first));

    const form = await browser.get(`/cas/login?service=${encodeURIComponent(app)}&renew=true`);
    const again = await browser.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body) });
    expect(again.statusCode).toBe(302);
    const renewed = await sessionOf(t, ticketOf(again));
    expect(renewed).not.toBe(old);
    expect(await liveSessions(t, 'casuser')).toEqual([renewed]);
    // Handed over, not logged out: the application the old session reached moved to the new one.
    expect((await t.sql.query('SELECT count(*)::int AS n FROM session_services WHERE session_id = $1', [renewed])).rows[0].n).toBe(2);
  });

  it("a service's maximumAllowedSessions property replaces the global maximum for logins to it", async () => {
    expect((await new Browser(t.app).login('casuser', 'Mellon', app)).statusCode).toBe(302);
    // One session already: the global limit (1) refuses, the service's own (2) lets one more in.
    expect((await new Browser(t.app).login('casuser', 'Mellon', app)).statusCode).toBe(403);
    expect((await new Browser(t.app).login('casuser', 'Mellon', roomy)).statusCode).toBe(302);
    expect(await liveSessions(t, 'casuser')).toHaveLength(2);
    expectRefusal(await new Browser(t.app).login('casuser', 'Mellon', roomy), /at most 2 at a time are allowed/);
    expect(await liveSessions(t, 'casuser')).toHaveLength(2);
  });
});

describe('session limits: end the oldest sessions (SESSION_LIMIT_ACTION=END_OLDEST)', () => {
  let t: TestApp;
  let rx: LogoutReceiver;
  let app: string;
  let strict: string;

  beforeAll(async () => {
    rx = await logoutReceiver();
    app = `http://127.0.0.1:${rx.port}/app`;
    strict = `http://127.0.0.1:${rx.port}/strict`;
    t = await startTestApp({
      env: {
        CAS_AUTHN_ACCEPT_USERS: USERS,
        CAS_SLO_DISABLED: 'false',
        AUTHN_THROTTLE_ENABLED: 'false',
        CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_ENABLED: 'true',
        CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_MAXIMUM_ALLOWED_SESSIONS: '2',
        SESSION_LIMIT_ACTION: 'END_OLDEST',
      },
      services: [localService(rx, 1, 'app'), localService(rx, 2, 'strict', maximumAllowedSessions('1'))],
    });
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });
  beforeEach(() => reset(t));

  /** Logs casuser in from a new browser, a second later on the clock than the previous login. */
  async function loginElsewhere(service: string): Promise<{ browser: Browser; st: string; tgt: string }> {
    t.clock.advance(1);
    const browser = new Browser(t.app);
    const res = await browser.login('casuser', 'Mellon', service);
    expect(res.statusCode).toBe(302);
    const st = ticketOf(res);
    return { browser, st, tgt: await sessionOf(t, st) };
  }

  it('maximum 2: the third login ends the oldest session through the logout pipeline (reason LIMIT, its services logged out); the 2 newest live', async () => {
    const one = await loginElsewhere(app);
    const two = await loginElsewhere(app);
    const three = await loginElsewhere(app);
    expect(await liveSessions(t, 'casuser')).toEqual([two.tgt, three.tgt]);

    const queued = await t.sql.query('SELECT session_id, ticket_id, reason, logout_url FROM slo_outbox');
    expect(queued.rows).toEqual([{ session_id: one.tgt, ticket_id: one.st, reason: 'LIMIT', logout_url: app }]);
    // The ended session leaves its history row, written in the same transaction (session_history).
    const history = await t.sql.query('SELECT session_id, principal, reason FROM session_history');
    expect(history.rows).toEqual([{ session_id: one.tgt, principal: 'casuser', reason: 'LIMIT' }]);
    await rx.receivedAll([one.st]);
    expect(rx.received.filter((x) => x === one.st)).toHaveLength(1);
    // The first browser's cookie names a session that is gone: no SSO there any more.
    const sso = await one.browser.get(`/cas/login?service=${encodeURIComponent(app)}`);
    expect(sso.statusCode).toBe(200);
    expect(sso.body).toContain('name="execution"');
    // The other two still have SSO.
    expect((await two.browser.get(`/cas/login?service=${encodeURIComponent(app)}`)).statusCode).toBe(302);
  });

  it("a service's maximumAllowedSessions of 1 ends every other session of the user at a login to it", async () => {
    const one = await loginElsewhere(app);
    const two = await loginElsewhere(app);
    const three = await loginElsewhere(strict);
    expect(await liveSessions(t, 'casuser')).toEqual([three.tgt]);
    const queued = await t.sql.query('SELECT session_id, reason FROM slo_outbox ORDER BY session_id');
    expect(queued.rows).toEqual([one.tgt, two.tgt].sort().map((session_id) => ({ session_id, reason: 'LIMIT' })));
    await rx.receivedAll([one.st, two.st]);
  });

  it('a same-browser login does not end a session to make room for itself when it replaces its own', async () => {
    const one = await loginElsewhere(app);
    const two = await loginElsewhere(app);
    t.clock.advance(1);
    const form = await two.browser.get(`/cas/login?service=${encodeURIComponent(app)}&renew=true`);
    const again = await two.browser.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body) });
    expect(again.statusCode).toBe(302);
    const renewed = await sessionOf(t, ticketOf(again));
    expect(await liveSessions(t, 'casuser')).toEqual([one.tgt, renewed]);
    expect((await t.sql.query('SELECT count(*)::int AS n FROM slo_outbox')).rows[0].n).toBe(0);
  });
});

describe('session limits: the per-user lock, and the hot path without a limit', () => {
  let t: TestApp;
  let holder: Client;
  let holderPid: number;
  const LOCK = `SELECT pg_advisory_lock(hashtextextended('session-limit:' || $1, 0))`;
  const UNLOCK = `SELECT pg_advisory_unlock(hashtextextended('session-limit:' || $1, 0))`;

  beforeAll(async () => {
    // No global limit; one service with its own.
    t = await startTestApp({
      env: { CAS_AUTHN_ACCEPT_USERS: USERS, AUTHN_THROTTLE_ENABLED: 'false' },
      services: [serviceFor(1, 'free.example.org'), serviceFor(2, 'limited.example.org', maximumAllowedSessions('5'))],
    });
    holder = new Client({ connectionString: t.config.databaseUrl });
    await holder.connect();
    holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  });
  afterAll(async () => {
    await holder?.end();
    await t?.close();
  });

  it("a login under a limit waits for the user's lock (held here by another connection); one without a limit never takes it", async () => {
    await holder.query(LOCK, ['casuser']);
    try {
      // No limit for this service: the login goes through while the lock is held, never waiting.
      const free = new Browser(t.app).login('casuser', 'Mellon', 'https://free.example.org/');
      expect(await blocksWhile(t.sql, holderPid, free)).toBe(false);
      expect((await free).statusCode).toBe(302);
      // Under a limit: the login waits for the lock, and finishes once it is released.
      const limited = new Browser(t.app).login('casuser', 'Mellon', 'https://limited.example.org/');
      expect(await blocksWhile(t.sql, holderPid, limited)).toBe(true);
      expect(await liveSessions(t, 'casuser')).toHaveLength(1);
      await holder.query(UNLOCK, ['casuser']);
      expect((await limited).statusCode).toBe(302);
      expect(await liveSessions(t, 'casuser')).toHaveLength(2);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
    }
  });
});

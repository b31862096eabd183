import { Logger } from '@nestjs/common';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { Client } from 'pg';
import { eventually } from '../helpers/eventually';
import { LogoutReceiver, logoutReceiver } from '../helpers/logout-receiver';
import { untilBlocking } from '../helpers/pg-locks';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Kicks delivery and waits until every one of `tickets` has reached the receiver. A kick resolves
 * once the deliveries it started are done, but not those an earlier pass (the cleaner's own kick,
 * the 1 s poll) still has in flight: those arrive on their own, and the receiver says when.
 */
async function delivered(rx: LogoutReceiver, tickets: string[], kick: () => Promise<void>): Promise<void> {
  await kick();
  await rx.receivedAll(tickets);
}

/** The outbox rows of a ticket once no delivery of them is pending or under way. */
const settledOutbox = (t: TestApp, ticket: string) =>
  eventually(
    async () => (await t.sql.query(`SELECT reason, status FROM slo_outbox WHERE ticket_id = $1`, [ticket])).rows,
    (rows) => rows.every((r) => r.status !== 'PENDING' && r.status !== 'SENDING'),
  );

describe('ticket registry cleaner', () => {
  let rx: Awaited<ReturnType<typeof logoutReceiver>>;
  let t: TestApp;
  let app: string;
  beforeAll(async () => {
    rx = await logoutReceiver();
    app = `http://127.0.0.1:${rx.port}/app`;
    t = await startTestApp({ env: { CAS_SLO_DISABLED: 'false' } });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  const count = async (where: string) => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE ${where}`)).rows[0].n as number;

  it('removes expired sessions with their tickets and sends their single logout; keeps live ones (91)', async () => {
    const old = new Browser(t.app);
    const oldSt = ticketOf(await old.login('casuser', 'Mellon', app));
    t.clock.advance(7201); // the first session is idle for longer than 2 h
    const live = new Browser(t.app);
    const liveSt = ticketOf(await live.login('casuser', 'Mellon', app));
    const before = t.clock.now().getTime();
    const res = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean' });
    const after = t.clock.now().getTime();
    expect(res.statusCode).toBe(200);
    const report = res.json();
    // The run is reported on the server's clock (the one that found the session expired), within
    // this request, and its duration is the time between its start and end.
    expect(Date.parse(report.startTime)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(report.endTime)).toBeGreaterThanOrEqual(Date.parse(report.startTime));
    expect(Date.parse(report.endTime)).toBeLessThanOrEqual(after);
    expect(report.duration).toBe((Date.parse(report.endTime) - Date.parse(report.startTime)) / 1000);
    expect(report.removed).toEqual({ sessions: 1, serviceTickets: 0, logoutRequests: 0 });
    expect(report).toMatchObject({ total: 1 });
    expect(await count(`type = 'TGT'`)).toBe(1);
    expect(await count(`id = '${oldSt}'`)).toBe(0);
    expect(await count(`id = '${liveSt}'`)).toBe(1);
    await delivered(rx, [oldSt], () => t.app.get(SingleLogoutDelivery).kick());
    expect(rx.received).toEqual([oldSt]);
    expect(await settledOutbox(t, oldSt)).toEqual([{ reason: 'EXPIRED', status: 'SUCCESS' }]);
    // The live session's ST expires after 10 s and goes too; the session stays.
    t.clock.advance(11);
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed).toEqual({ sessions: 0, serviceTickets: 1, logoutRequests: 0 });
    expect(await count(`type = 'TGT'`)).toBe(1);
    expect((await live.get(`/cas/login?service=${encodeURIComponent(app)}`)).statusCode).toBe(302);
    // Finished logout requests are kept 7 days, then go (the live session has expired by then too).
    t.clock.advance(8 * 86400);
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed.logoutRequests).toBe(1);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE ticket_id = $1`, [oldSt])).rows[0].n).toBe(0);
    expect(await count(`type = 'TGT'`)).toBe(0);
  });

  it('two nodes cleaning at once end every expired session exactly once, with one logout request each', async () => {
    await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions?type=ALL' });
    rx.received.length = 0;
    const tickets: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = new Browser(t.app);
      tickets.push(ticketOf(await c.login('casuser', 'Mellon', app)));
    }
    t.clock.advance(7201);
    const node2 = await startTestApp({ databaseUrl: t.config.databaseUrl, env: { CAS_SLO_DISABLED: 'false', TICKET_REGISTRY_CLEANER_BATCH_SIZE: '7' } });
    try {
      node2.clock.advance(7201);
      const [r1, r2] = await Promise.all([t.app.get(TicketRegistryCleaner).clean(), node2.app.get(TicketRegistryCleaner).clean()]);
      expect(r1.removed.sessions + r2.removed.sessions).toBe(40);
      expect(await count(`type = 'TGT'`)).toBe(0);
      const { rows } = await t.sql.query(`SELECT ticket_id, count(*)::int AS n FROM slo_outbox WHERE reason = 'EXPIRED' AND ticket_id = ANY($1) GROUP BY ticket_id`, [tickets]);
      expect(rows).toHaveLength(40);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      await delivered(rx, tickets, async () => {
        await Promise.all([t.app.get(SingleLogoutDelivery).kick(), node2.app.get(SingleLogoutDelivery).kick()]);
      });
      // Exactly one request per expired session (requests from the DELETE above may also arrive).
      expect(rx.received.filter((x) => tickets.includes(x)).sort()).toEqual([...tickets].sort());
    } finally {
      await node2.close();
    }
  });
});

describe('the cleaner on its schedule', () => {
  it('runs after the start delay and then every repeat interval', async () => {
    const t = await startTestApp({
      env: {
        CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'true',
        CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: 'PT3H',
        CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: 'PT3H',
        TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '0',
      },
    });
    const THREE_HOURS = 3 * 3600 * 1000;
    const sessions = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n as number;
    try {
      // The schedule waits on the app's clock; frozen, it moves only when the test moves it.
      t.clock.freeze();
      expect(t.clock.sleeps).toEqual([THREE_HOURS]);
      await new Browser(t.app).login('casuser', 'Mellon');
      t.clock.advance(7201);
      // Expired, but the start delay has not passed: no run yet, the first wait is still on.
      expect(t.clock.pendingSleeps()).toHaveLength(1);
      expect(await sessions()).toBe(1);
      t.clock.advance(3 * 3600 - 7201);
      // The start delay is over: one run, then the wait for the repeat interval.
      expect(await t.clock.sleepsAsked(2)).toEqual([THREE_HOURS, THREE_HOURS]);
      expect(await sessions()).toBe(0);

      await new Browser(t.app).login('casuser', 'Mellon');
      t.clock.advance(7201);
      expect(t.clock.pendingSleeps()).toEqual([THREE_HOURS - 7201_000]);
      expect(await sessions()).toBe(1);
      t.clock.advance(3 * 3600 - 7201);
      expect(await t.clock.sleepsAsked(3)).toEqual([THREE_HOURS, THREE_HOURS, THREE_HOURS]);
      expect(await sessions()).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('DELETE /actuator/ticketRegistry/clean', () => {
  const SECRET = '0123456789abcdefghijklmnopqrstuv';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: `ops:${SECRET}` } });
  });
  afterAll(() => t.close());

  it('needs the admin credential and answers {total, removed, startTime, endTime, duration}; logs one line of counts, no ids', async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean' })).statusCode).toBe(401);
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', 'https://app.example.org/'));
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id as string;
    t.clock.advance(7201);
    // Every level, not only the run's own line: an id must not leak through a warning either.
    const levels = ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const;
    const spies = levels.map((level) => jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined));
    const log = spies[0];
    try {
      const res = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean', headers: { authorization: `Bearer ${SECRET}` } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(Object.keys(body)).toEqual(['total', 'removed', 'startTime', 'endTime', 'duration']);
      expect(body).toMatchObject({ total: 1, removed: { sessions: 1, serviceTickets: 0, logoutRequests: 0 } });
      expect(Date.parse(body.endTime) - Date.parse(body.startTime)).toBeCloseTo(body.duration * 1000, -1);
      expect(body.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const lines = log.mock.calls.filter((c) => String(c[0]).includes('expired session'));
      expect(lines).toHaveLength(1);
      expect(String(lines[0][0])).toMatch(/^1 expired session\(s\), 0 expired service ticket\(s\) and 0 finished logout request\(s\) removed in \d+\.\d{3} s$/);
      // The session that went is the one holding `st`; neither its id nor its ticket's was logged.
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [tgt])).rows[0].n).toBe(0);
      const logged = JSON.stringify(spies.map((s) => s.mock.calls));
      expect(logged).not.toContain(tgt);
      expect(logged).not.toContain(st);
      expect(logged).not.toMatch(/TGT-|ST-/);
      // A run with nothing to do still reports itself, with zeros.
      await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean', headers: { authorization: `Bearer ${SECRET}` } });
      expect(log.mock.calls.filter((c) => String(c[0]).startsWith('0 expired session(s), 0 expired'))).toHaveLength(1);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });
});

describe('a session found expired during a request', () => {
  let rx: Awaited<ReturnType<typeof logoutReceiver>>;
  let t: TestApp;
  let app: string;
  beforeAll(async () => {
    rx = await logoutReceiver();
    app = `http://127.0.0.1:${rx.port}/app`;
    t = await startTestApp({ env: { CAS_SLO_DISABLED: 'false', AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });
  const outbox = async (st: string) => (await t.sql.query(`SELECT reason FROM slo_outbox WHERE ticket_id = $1`, [st])).rows;

  it('is treated as absent and ended through the logout pipeline, as the cleaner would (reason EXPIRED)', async () => {
    const b = new Browser(t.app);
    const st = ticketOf(await b.login('casuser', 'Mellon', app));
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id;
    t.clock.advance(7201);
    const res = await b.get(`/cas/login?service=${encodeURIComponent(app)}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('name="execution"');
    expect(b.cookies.has('TGC')).toBe(false);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [tgt])).rows[0].n).toBe(0);
    expect(await outbox(st)).toEqual([{ reason: 'EXPIRED' }]);
    await delivered(rx, [st], () => t.app.get(SingleLogoutDelivery).kick());
    expect(rx.received.filter((x) => x === st)).toEqual([st]);
    // Nothing is left for the cleaner, and nothing is sent twice.
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed.sessions).toBe(0);
    expect(await outbox(st)).toHaveLength(1);
  });

  it('also when a validation meets a ticket whose session has expired; an expired ticket of a live session ends nothing', async () => {
    const b = new Browser(t.app);
    ticketOf(await b.login('casuser', 'Mellon', app));
    const st = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(app)}`));
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id;
    t.clock.advance(11);
    const stale = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(app)}&ticket=${st}` });
    expect(stale.body).toContain('INVALID_TICKET');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id = $1`, [tgt])).rows[0].n).toBe(1);
    expect(await outbox(st)).toEqual([]);

    const last = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(app)}`));
    t.clock.advance(7201);
    const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(app)}&ticket=${last}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('INVALID_TICKET');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [tgt])).rows[0].n).toBe(0);
    expect(await outbox(last)).toEqual([{ reason: 'EXPIRED' }]);
  });

  it('also when the expired cookie comes with a new login (the old session is ended as expired, not dropped)', async () => {
    const b = new Browser(t.app);
    const st = ticketOf(await b.login('casuser', 'Mellon', app));
    t.clock.advance(7201);
    ticketOf(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf((await b.get(`/cas/login?service=${encodeURIComponent(app)}&renew=true`)).body), _eventId: 'submit' }));
    expect(await outbox(st)).toEqual([{ reason: 'EXPIRED' }]);
  });

  it('requests and cleaners racing on expired sessions end each exactly once', async () => {
    const browsers: { b: Browser; st: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const b = new Browser(t.app);
      browsers.push({ b, st: ticketOf(await b.login('casuser', 'Mellon', app)) });
    }
    t.clock.advance(7201);
    const node2 = await startTestApp({ databaseUrl: t.config.databaseUrl, env: { CAS_SLO_DISABLED: 'false', TICKET_REGISTRY_CLEANER_BATCH_SIZE: '3' } });
    try {
      node2.clock.advance(7201);
      await Promise.all([
        t.app.get(TicketRegistryCleaner).clean(),
        node2.app.get(TicketRegistryCleaner).clean(),
        ...browsers.map(({ b }) => b.get(`/cas/login?service=${encodeURIComponent(app)}`)),
      ]);
      const { rows } = await t.sql.query(
        `SELECT ticket_id, count(*)::int AS n FROM slo_outbox WHERE ticket_id = ANY($1) GROUP BY ticket_id`,
        [browsers.map((x) => x.st)],
      );
      expect(rows).toHaveLength(20);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n).toBe(0);
    } finally {
      await node2.close();
    }
  });
});

describe('the cleaner batch', () => {
  it("queues every expired session's logout requests under that session, user and ticket, in one batch", async () => {
    const rx = await logoutReceiver();
    const t = await startTestApp({ env: { CAS_SLO_DISABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'alice::pw-alice,bob::pw-bob' } });
    try {
      const base = `http://127.0.0.1:${rx.port}`;
      const expected: { session_id: string; principal: string; ticket_id: string; service: string }[] = [];
      for (const [user, password] of [['alice', 'pw-alice'], ['bob', 'pw-bob'], ['alice', 'pw-alice']]) {
        const b = new Browser(t.app);
        const st1 = ticketOf(await b.login(user, password, `${base}/app`));
        const st2 = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(`${base}/other`)}`));
        const session = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st1])).rows[0].session_id as string;
        expected.push({ session_id: session, principal: user, ticket_id: st1, service: `${base}/app` });
        expected.push({ session_id: session, principal: user, ticket_id: st2, service: `${base}/other` });
      }
      t.clock.advance(7201);
      expect((await t.app.get(TicketRegistryCleaner).clean()).removed.sessions).toBe(3);
      const { rows } = await t.sql.query(`SELECT session_id, principal, ticket_id, service FROM slo_outbox WHERE reason = 'EXPIRED'`);
      const byTicket = (a: { ticket_id: string }, b: { ticket_id: string }) => a.ticket_id.localeCompare(b.ticket_id);
      expect(rows.sort(byTicket)).toEqual(expected.sort(byTicket));
    } finally {
      await t.close();
      await rx.close();
    }
  });
});

describe('TICKET_REGISTRY_CLEANER_PAUSE_RATIO', () => {
  /** Expired sessions made directly in the table (the clock is real here: their expiry is past). */
  const seedExpired = async (t: TestApp, n: number) =>
    t.sql.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at, hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes)
       SELECT id, 'TGT', id, 'casuser', now() - interval '3 hours', now() - interval '3 hours', now() - interval '1 hour', now() + interval '5 hours', 7200, 1, false, '{}'
         FROM (SELECT 'TGT-pause-' || md5(random()::text) AS id FROM generate_series(1, $1)) s`,
      [n],
    );

  it('pauses after each batch for that many times as long as the batch took, on its clock, and shutdown ends the pause', async () => {
    const t = await startTestApp({ env: { TICKET_REGISTRY_CLEANER_BATCH_SIZE: '1', TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '20' } });
    // The cleaner measures batches and pauses on the app's clock. Frozen, it moves only when the
    // test moves it: a batch takes exactly as long as the test advances it while the batch runs.
    t.clock.freeze();
    const cleaner = t.app.get(TicketRegistryCleaner);
    const table = new Client({ connectionString: t.config.databaseUrl });
    table.on('error', () => undefined);
    await table.connect();
    const pid = (await table.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid as number;
    const left = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id LIKE 'TGT-pause-%'`)).rows[0].n as number;
    /** Starts a run whose first batch takes 50 ms by the clock: held on a table lock meanwhile. */
    const runWithA50msBatch = async () => {
      await table.query(`BEGIN`);
      await table.query(`LOCK TABLE tickets IN SHARE MODE`);
      const run = cleaner.clean();
      await untilBlocking(t.sql, pid);
      t.clock.advance(0.05);
      await table.query(`COMMIT`);
      return run;
    };
    try {
      await seedExpired(t, 3);
      const run = runWithA50msBatch();
      // After the 50 ms batch, a pause of 20 × 50 ms; the next batch waits for it to end.
      expect(await t.clock.sleepsAsked(1)).toEqual([1000]);
      t.clock.advance(0.999);
      expect(t.clock.pendingSleeps()).toEqual([1]);
      expect(await left()).toBe(2);
      t.clock.advance(0.001);
      expect(t.clock.pendingSleeps()).toEqual([]);
      // The other batches took no time by the clock, so they asked for no pause.
      expect((await run).removed.sessions).toBe(3);
      expect(t.clock.sleeps).toEqual([1000]);
      expect(await left()).toBe(0);

      // A pause does not hold up shutdown: the run stops after the batch it is in. This pause would
      // never end on its own (the clock is frozen), so closing returns only if shutdown ends it.
      await seedExpired(t, 3);
      const paused = runWithA50msBatch();
      expect(await t.clock.sleepsAsked(2)).toEqual([1000, 1000]);
      expect(await left()).toBe(2);
      await t.close();
      expect((await paused).removed.sessions).toBe(1);
    } finally {
      await table.end();
      await t.close().catch(() => undefined);
    }
  });
});

import type { Response } from 'light-my-request';
import { Client } from 'pg';
import { SessionTerminator } from '../../src/tickets/logout/session-terminator';
import { newTicketId } from '../../src/tickets/ticket-ids';
import { TicketRegistry } from '../../src/tickets/ticket-registry';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';
import { eventually } from '../helpers/eventually';

/**
 * Every statement that adds rows to a session, or moves rows between sessions, locks what it adds
 * to first (the TGT; for a proxied session, its PGT), so the end of that session, waiting for the
 * lock, then sees those rows and removes and logs them out. Each test holds one transaction open
 * at the critical point (a row lock, or a test-only trigger that waits on an advisory lock) and
 * runs the other in the racing order, through the server's own code paths.
 */
describe('session changes racing the end of a session (lock order)', () => {
  let t: TestApp;
  let receiver: LogoutReceiver;
  let APP: string;
  let BACKEND: string;
  let gate: Client;

  beforeAll(async () => {
    receiver = await logoutReceiver();
    APP = `http://127.0.0.1:${receiver.port}/app/`;
    BACKEND = `http://127.0.0.1:${receiver.port}/backend/api`;
    const svc = (id: number, path: string) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      id,
      name: path,
      evaluationOrder: id,
      serviceId: `^http://127\\.0\\.0\\.1:${receiver.port}/${path}/.*`,
    });
    t = await startTestApp({ env: { CAS_SLO_DISABLED: 'false', AUTHN_THROTTLE_ENABLED: 'false' }, services: [svc(1, 'app'), svc(2, 'backend')] });
    gate = new Client({ connectionString: t.config.databaseUrl });
    await gate.connect();
  });
  afterAll(async () => {
    await gate.end();
    await t.close();
    await receiver.close();
  });

  /**
   * Whether a backend of this database is waiting for a lock (row, transaction, table or
   * advisory) in a statement containing `sql`; other waiters (the delivery worker, say) do not count.
   */
  const waitingIn = async (sql: string) =>
    (await t.sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND strpos(query, $1) > 0`,
      [sql],
    )).rows[0].n > 0;
  /** Waits for the event itself: polls until `done` holds (jest's timeout bounds it). */
  const until = async (done: () => Promise<boolean> | boolean) => {
    await eventually(async () => done(), (d) => d);
  };
  const tracked = <T>(p: Promise<T>): Tracked<T> => {
    const s = { settled: false, promise: p };
    p.then(() => (s.settled = true), () => (s.settled = true));
    return s;
  };
  /**
   * Rows of these sessions that no live session or PGT owns any more: nobody would ever delete
   * them or send their logout.
   */
  const leftBehind = async (sessionIds: string[]) =>
    (await t.sql.query(
      `SELECT (SELECT count(*)::int FROM session_services s WHERE s.session_id = ANY($1)
                  AND NOT EXISTS (SELECT 1 FROM tickets g WHERE g.id = s.session_id AND g.type = 'TGT')) AS services,
              (SELECT count(*)::int FROM tickets x WHERE x.session_id = ANY($1)
                  AND NOT EXISTS (SELECT 1 FROM tickets g WHERE g.id = x.session_id AND g.type = 'TGT')) AS tickets,
              (SELECT count(*)::int FROM tickets x WHERE x.session_id = ANY($1)
                  AND x.type = 'PT' AND NOT EXISTS (SELECT 1 FROM tickets p WHERE p.id = x.parent_id)) AS pts_without_pgt,
              (SELECT count(*)::int FROM session_services s WHERE s.session_id = ANY($1)
                  AND s.granted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tickets p WHERE p.id = s.granted_by)) AS services_without_pgt`,
      [sessionIds],
    )).rows[0];
  const outboxFor = async (ticketId: string) =>
    (await t.sql.query(`SELECT session_id, service, reason FROM slo_outbox WHERE ticket_id = $1`, [ticketId])).rows;
  const tgtIds = async () => (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`)).rows.map((r) => r.id as string);

  describe('hand-over of a session to the same user\'s new login (item 12)', () => {
    it('an admin ending the new session while the hand-over moves rows into it leaves nothing behind', async () => {
      const b = new Browser(t.app);
      const st = ticketOf(await b.login('casuser', 'Mellon', APP));
      const [old] = (await t.sql.query(`SELECT session_id FROM session_services WHERE ticket_id = $1`, [st])).rows.map((r) => r.session_id as string);
      const before = await tgtIds();

      // Hold the hand-over after it moved the service records, before it deletes the old tickets:
      // another transaction holds the old session's ST row.
      await gate.query('BEGIN');
      await gate.query(`SELECT id FROM tickets WHERE id = $1 FOR UPDATE`, [st]);
      let login: Tracked<Response> | undefined;
      let end: Tracked<unknown> | undefined;
      let fresh = '';
      try {
        // The same user logs in again in this browser (renew): a new session takes the old one's services.
        const form = await b.get('/cas/login?renew=true');
        login = tracked(b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' }));
        await until(() => waitingIn('DELETE FROM tickets WHERE session_id'));
        [fresh] = (await tgtIds()).filter((id) => !before.includes(id));
        expect(fresh).toBeDefined();

        // An administrator deletes the new session now (DELETE /cas/actuator/ssoSessions/{id}).
        end = tracked(t.app.get(SessionTerminator).end(fresh, 'ADMIN'));
        // It either finishes (it does not wait for the hand-over) or waits for the new session's lock.
        await until(async () => end!.settled || (await waitingIn(`DELETE FROM tickets WHERE id = $1 AND type = 'TGT'`)));
      } finally {
        await gate.query('COMMIT');
      }
      expect((await login!.promise).statusCode).toBe(200);
      expect(await end!.promise).not.toBeNull();

      expect(await leftBehind([old, fresh])).toEqual({ services: 0, tickets: 0, pts_without_pgt: 0, services_without_pgt: 0 });
      // The application the old session reached gets its logout request, from the new session's end.
      expect(await outboxFor(st)).toEqual([{ session_id: expect.not.stringMatching(old), service: APP, reason: 'ADMIN' }]);
    });

    it('a login for a service whose new session an admin ends meanwhile gets the form again, not a 500', async () => {
      const b = new Browser(t.app);
      const st = ticketOf(await b.login('casuser', 'Mellon', APP));
      const [old] = (await t.sql.query(`SELECT session_id FROM session_services WHERE ticket_id = $1`, [st])).rows.map((r) => r.session_id as string);
      const before = await tgtIds();
      // Test-only: every UPDATE statement on tickets (the login's ticket grant is the only one
      // here) waits, before touching a row, for an advisory lock a second connection holds. So the
      // admin's end runs to its commit between the hand-over and the grant, whatever the load.
      const hold = new Client({ connectionString: t.config.databaseUrl });
      await hold.connect();
      await t.sql.query(`CREATE FUNCTION test_hold_ticket_updates() RETURNS trigger LANGUAGE plpgsql AS
                           $$ BEGIN PERFORM pg_advisory_xact_lock_shared(4343); RETURN NULL; END $$`);
      await t.sql.query(`CREATE TRIGGER test_hold_ticket_updates BEFORE UPDATE ON tickets
                           FOR EACH STATEMENT EXECUTE FUNCTION test_hold_ticket_updates()`);
      await hold.query('SELECT pg_advisory_lock(4343)');
      let login: Tracked<Response> | undefined;
      try {
        await gate.query('BEGIN');
        await gate.query(`SELECT id FROM tickets WHERE id = $1 FOR UPDATE`, [st]);
        let end: Tracked<unknown> | undefined;
        try {
          const form = await b.get(`/cas/login?renew=true&service=${encodeURIComponent(APP)}`);
          login = tracked(b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' }));
          await until(() => waitingIn('DELETE FROM tickets WHERE session_id'));
          const [fresh] = (await tgtIds()).filter((id) => !before.includes(id));
          // The admin's end waits for the hand-over's lock on the new session.
          end = tracked(t.app.get(SessionTerminator).end(fresh, 'ADMIN'));
          await until(() => waitingIn(`DELETE FROM tickets WHERE id = $1 AND type = 'TGT'`));
        } finally {
          await gate.query('COMMIT');
        }
        // The hand-over commits, the admin's end follows; the grant is still held.
        expect(await end!.promise).not.toBeNull();
      } finally {
        await hold.query('SELECT pg_advisory_unlock(4343)');
        await hold.end();
      }
      const res = await login!.promise;
      await t.sql.query(`DROP TRIGGER test_hold_ticket_updates ON tickets; DROP FUNCTION test_hold_ticket_updates()`);
      expect(res.statusCode).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.body).toContain('Your session was ended while you were logging in');
      expect(setCookies(res).filter((c) => c.name === 'TGC' && c.value !== '')).toEqual([]);
      // Neither the old session (handed over, then deleted) nor the new one (ended) is left.
      expect((await tgtIds()).filter((id) => id === old || !before.includes(id))).toEqual([]);
      expect(await leftBehind([old])).toEqual({ services: 0, tickets: 0, pts_without_pgt: 0, services_without_pgt: 0 });
    });

    it('refuses to hand over to a session that is already gone, changing nothing', async () => {
      const b = new Browser(t.app);
      const st = ticketOf(await b.login('casuser', 'Mellon', APP));
      const [old] = (await t.sql.query(`SELECT session_id FROM session_services WHERE ticket_id = $1`, [st])).rows.map((r) => r.session_id as string);
      const other = new Browser(t.app);
      const before = await tgtIds();
      await other.login('casuser', 'Mellon');
      const [gone] = (await tgtIds()).filter((id) => !before.includes(id));
      expect(await t.app.get(SessionTerminator).end(gone, 'ADMIN')).not.toBeNull();

      expect(await t.app.get(TicketRegistry).handOverSession(old, gone, 'casuser')).toBe(false);
      // The old session keeps its services: its own end (what the login does next) logs them out.
      expect((await t.sql.query(`SELECT session_id FROM session_services WHERE ticket_id = $1`, [st])).rows).toEqual([{ session_id: old }]);
      expect(await leftBehind([old, gone])).toEqual({ services: 0, tickets: 0, pts_without_pgt: 0, services_without_pgt: 0 });
      expect(await t.app.get(SessionTerminator).end(old, 'LOGOUT')).not.toBeNull();
      expect(await outboxFor(st)).toEqual([{ session_id: old, service: APP, reason: 'LOGOUT' }]);
    });
  });

  describe('a proxy ticket granted while its proxied session ends (item 13)', () => {
    /** A session with a PGT minted from its ST (what a validation with pgtUrl stores once the callback took it). */
    const proxiedSession = async () => {
      const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
      const registry = t.app.get(TicketRegistry);
      const consumed = (await registry.consumeServiceTicket(st, ['ST']))!;
      const pgt = newTicketId('PGT');
      expect(await registry.grantProxyGrantingTicket(consumed, pgt, 'https://127.0.0.1:1/cb')).toBe(true);
      return { pgt, tgt: consumed.sessionId };
    };
    const proxy = (pgt: string) =>
      t.app.inject({ method: 'GET', url: `/cas/proxy?pgt=${encodeURIComponent(pgt)}&targetService=${encodeURIComponent(BACKEND)}` });

    beforeAll(async () => {
      // Test-only: a PT's service record waits on advisory lock 4242 while the test holds it, so
      // the grant holds its PGT row lock (taken by its UPDATE) at that point.
      await t.sql.query(`CREATE FUNCTION test_hold_proxy_grant() RETURNS trigger LANGUAGE plpgsql AS $$
                           BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$`);
      await t.sql.query(`CREATE TRIGGER test_hold_proxy_grant BEFORE INSERT ON session_services FOR EACH ROW
                           WHEN (NEW.granted_by IS NOT NULL) EXECUTE FUNCTION test_hold_proxy_grant()`);
    });
    afterAll(async () => {
      await t.sql.query(`DROP TRIGGER test_hold_proxy_grant ON session_services; DROP FUNCTION test_hold_proxy_grant()`);
    });

    it('the PT granted first is ended with the proxied session and its service logged out', async () => {
      const { pgt, tgt } = await proxiedSession();
      await gate.query('SELECT pg_advisory_lock(4242)');
      let grant: Tracked<Response> | undefined;
      let end: Tracked<unknown> | undefined;
      try {
        grant = tracked(proxy(pgt));
        await until(() => waitingIn('UPDATE tickets p'));
        // The proxied session ends (DELETE /cas/actuator/ssoSessions/PGT-…) while the grant is under way.
        end = tracked(t.app.get(SessionTerminator).end(pgt, 'ADMIN'));
        await until(async () => end!.settled || (await waitingIn('WITH RECURSIVE root')));
      } finally {
        await gate.query('SELECT pg_advisory_unlock(4242)');
      }
      const granted = await grant!.promise;
      expect(await end!.promise).not.toBeNull();
      expect(granted.statusCode).toBe(200);
      const pt = /<cas:proxyTicket>([^<]+)</.exec(granted.body)?.[1];
      expect(pt).toMatch(/^PT-/);

      expect(await leftBehind([tgt])).toEqual({ services: 0, tickets: 0, pts_without_pgt: 0, services_without_pgt: 0 });
      expect((await t.sql.query(`SELECT id FROM tickets WHERE id = $1 OR parent_id = $2`, [pt, pgt])).rows).toEqual([]);
      expect(await outboxFor(pt!)).toEqual([{ session_id: pgt, service: BACKEND, reason: 'ADMIN' }]);
      // The user's own session lives on.
      expect((await t.sql.query(`SELECT id FROM tickets WHERE id = $1`, [tgt])).rows).toEqual([{ id: tgt }]);
    });

    it('a PGT is not minted from a PT whose proxied session ended meanwhile', async () => {
      const { pgt, tgt } = await proxiedSession();
      const pt = /<cas:proxyTicket>([^<]+)</.exec((await proxy(pgt)).body)?.[1];
      const registry = t.app.get(TicketRegistry);
      // The back-end validates its PT with a pgtUrl; while its callback is being called, the proxied session ends.
      const consumed = (await registry.consumeServiceTicket(pt!, ['PT']))!;
      expect(consumed.live).toBe(true);
      expect(await t.app.get(SessionTerminator).end(pgt, 'ADMIN')).not.toBeNull();
      expect(await registry.grantProxyGrantingTicket(consumed, newTicketId('PGT'), 'https://127.0.0.1:1/cb2')).toBe(false);
      expect((await t.sql.query(`SELECT type FROM tickets WHERE session_id = $1`, [tgt])).rows).toEqual([{ type: 'TGT' }]);
    });

    it('a PT asked for after the proxied session started ending is refused', async () => {
      const { pgt, tgt } = await proxiedSession();
      const first = /<cas:proxyTicket>([^<]+)</.exec((await proxy(pgt)).body)?.[1];
      expect(first).toMatch(/^PT-/);
      await gate.query('BEGIN');
      let end: Tracked<unknown> | undefined;
      try {
        // The end of the proxied session is held after it deleted the PGT: inserting the logout
        // request of the PT granted before waits for this table lock.
        await gate.query(`LOCK TABLE slo_outbox IN EXCLUSIVE MODE`);
        end = tracked(t.app.get(SessionTerminator).end(pgt, 'ADMIN'));
        await until(() => waitingIn('INSERT INTO slo_outbox'));
        const grant = tracked(proxy(pgt));
        await until(async () => grant.settled || (await waitingIn('UPDATE tickets p')));
        await gate.query('COMMIT');
        expect((await grant.promise).body).toContain('INVALID_TICKET');
      } finally {
        await gate.query('ROLLBACK').catch(() => undefined);
      }
      expect(await end!.promise).not.toBeNull();
      expect(await leftBehind([tgt])).toEqual({ services: 0, tickets: 0, pts_without_pgt: 0, services_without_pgt: 0 });
      expect(await outboxFor(first!)).toEqual([{ session_id: pgt, service: BACKEND, reason: 'ADMIN' }]);
    });
  });
});

interface Tracked<T> {
  settled: boolean;
  promise: Promise<T>;
}

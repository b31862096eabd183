import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { openDatabase } from '../../src/database/data-source';
import { SessionTerminator } from '../../src/tickets/logout/session-terminator';
import { TicketRegistry } from '../../src/tickets/ticket-registry';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';
import { eventually } from '../helpers/eventually';

describe('database', () => {
  describe('migrations', () => {
    it('are applied once when several nodes boot at the same time (advisory lock)', async () => {
      const db = await createTestDatabase();
      try {
        const nodes = await Promise.all([openDatabase(db.url), openDatabase(db.url), openDatabase(db.url)]);
        const sql = new Client({ connectionString: db.url });
        await sql.connect();
        const { rows } = await sql.query('SELECT name FROM schema_migrations');
        expect(rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
        expect(rows).toHaveLength(migrations.length);
        await sql.end();
        await Promise.all(nodes.map((n) => n.destroy()));
      } finally {
        await db.drop();
      }
    });
  });

  describe('pool errors (T18)', () => {
    it('an error emitted by the pool is logged, not fatal', async () => {
      const db = await createTestDatabase();
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const ds = await openDatabase(db.url);
        const pool = (ds.driver as unknown as { master: NodeJS.EventEmitter }).master;
        expect(() => pool.emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('idle database connection lost'));
        // The pool still answers afterwards.
        await expect(ds.query('SELECT 1 AS ok')).resolves.toEqual([{ ok: 1 }]);
        await ds.destroy();
      } finally {
        warn.mockRestore();
        await db.drop();
      }
    });

    it('the app survives its idle connections being terminated, and recovers', async () => {
      const t = await startTestApp();
      try {
        await t.app.inject({ method: 'GET', url: '/cas/actuator/health' });
        const killed = await t.sql.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'cas-server'`,
        );
        expect(killed.rowCount).toBeGreaterThan(0);
        // A request on a just-killed connection fails (503, never a crash) and the pool drops that
        // connection; how many requests meet one depends on when each socket's close reaches the
        // pool, so the test waits for the recovery itself (T16), checking every answer on the way.
        const statuses: number[] = [];
        const res = await eventually(
          async () => {
            const r = await t.app.inject({ method: 'GET', url: '/cas/actuator/health' });
            statuses.push(r.statusCode);
            return r;
          },
          (r) => r.statusCode === 200,
        );
        expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
        expect(res.json()).toEqual({ status: 'UP', components: { db: { status: 'UP' } } });
      } finally {
        await t.close();
      }
    });
  });

  describe('schema for DBAs', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it('has typed columns, named indexes and comments on the ticket table', async () => {
      const cols = await t.sql.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tickets' ORDER BY ordinal_position`,
      );
      const types = Object.fromEntries(cols.rows.map((r) => [r.column_name, r.data_type]));
      expect(types).toMatchObject({
        id: 'character varying',
        principal: 'character varying',
        service: 'text',
        session_id: 'character varying',
        created_at: 'timestamp with time zone',
        expires_at: 'timestamp with time zone',
        use_count: 'integer',
        attributes: 'jsonb',
      });
      const idx = await t.sql.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'tickets' ORDER BY indexname`);
      expect(idx.rows.map((r) => r.indexname)).toEqual([
        'ix_tickets_expires',
        'ix_tickets_parent',
        'ix_tickets_pgt_id',
        'ix_tickets_session',
        'ix_tickets_tgt_client_ip',
        'ix_tickets_tgt_expires',
        'ix_tickets_tgt_id_expires',
        'ix_tickets_tgt_principal_prefix',
        'ix_tickets_type_principal_key',
        'pk_tickets',
        'ux_tickets_pgt_granted_from',
      ]);
      const comments = await t.sql.query(
        `SELECT a.attname, col_description(a.attrelid, a.attnum) AS c FROM pg_attribute a
          WHERE a.attrelid = 'tickets'::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      );
      expect(comments.rows.filter((r) => !r.c)).toEqual([]);
      const table = await t.sql.query(`SELECT obj_description('tickets'::regclass) AS c`);
      expect(table.rows[0].c).toMatch(/ticket registry/);
    });

    it('comes from the migrations only, never synchronized', () => {
      expect(t.app.get(DataSource).options.synchronize).toBe(false);
    });
  });

  describe('sessions changed and ended at once, on two nodes (no foreign key: the lock order keeps rows consistent)', () => {
    // No foreign key guards session_id (its cascade triggers were most of the cleaner's time):
    // the TGT row locks taken by every grant, hand-over and end must keep every row owned by a
    // session until that session's end deletes it and queues its logout requests.
    let receiver: LogoutReceiver;
    let a: TestApp;
    let b: TestApp;
    let base: string;
    beforeAll(async () => {
      receiver = await logoutReceiver();
      base = `http://127.0.0.1:${receiver.port}/app`;
      const services = [{
        '@class': 'org.apereo.cas.services.CasRegisteredService',
        id: 1,
        name: 'App',
        evaluationOrder: 1,
        serviceId: `^http://127\\.0\\.0\\.1:${receiver.port}/app/.*`,
      }];
      const env = { CAS_SLO_DISABLED: 'false' };
      a = await startTestApp({ env, services });
      b = await startTestApp({ env, services, databaseUrl: a.config.databaseUrl });
      // Node b's clock is past every session's hard limit: its cleaner ends any session it can claim.
      b.clock.advance(3600);
    });
    afterAll(async () => {
      await b.close();
      await a.close();
      await receiver.close();
    });

    it('leaves no ticket or service record behind, and queues one logout request per service reached, whatever the order', async () => {
      const registry = a.app.get(TicketRegistry);
      const terminator = a.app.get(SessionTerminator);
      const cleaner = b.app.get(SessionTerminator);
      const policy = { maxTimeToLiveSeconds: 600, timeToKillSeconds: 300 };
      const grant = (session: string, service: string) =>
        registry.grantServiceTicket(session, {
          service, registeredServiceId: 1, credentialsProvided: false, policy: { numberOfUses: 1, timeToLiveSeconds: 10 },
        });
      const ROUNDS = 25;
      for (let round = 0; round < ROUNDS; round++) {
        const old = (await registry.createSession({ principal: 'casuser', attributes: {}, rememberMe: false, policy })).id;
        const fresh = (await registry.createSession({ principal: 'casuser', attributes: {}, rememberMe: false, policy })).id;
        const first = await grant(old, `${base}/${round}/first`);
        expect(first).toMatch(/^ST-/);
        // All at once: grants into both sessions, the old one handed over to the new one (a new
        // login of the same user), an administrator ending the new one, a user logging out of the
        // old one, and another node's cleaner ending whichever it can claim.
        const results = await Promise.all([
          grant(old, `${base}/${round}/old-0`),
          registry.handOverSession(old, fresh, 'casuser'),
          grant(fresh, `${base}/${round}/new-0`),
          cleaner.endExpired(10),
          grant(old, `${base}/${round}/old-1`),
          terminator.end(fresh, 'ADMIN'),
          grant(fresh, `${base}/${round}/new-1`),
          terminator.end(old, 'LOGOUT'),
          grant(old, `${base}/${round}/old-2`),
        ]);
        // Whatever was left standing ends too (the cleaner, whose node sees both sessions expired).
        while ((await cleaner.endExpired(10)) > 0);
        const granted = [first!, ...results.filter((r): r is string => typeof r === 'string' && r.startsWith('ST-'))];

        const left = await a.sql.query(
          `SELECT (SELECT count(*)::int FROM tickets WHERE session_id = ANY($1)) AS tickets,
                  (SELECT count(*)::int FROM session_services WHERE session_id = ANY($1)) AS services`,
          [[old, fresh]],
        );
        expect({ round, ...left.rows[0] }).toEqual({ round, tickets: 0, services: 0 });
        // Every service that received a ticket gets exactly one logout request, under whichever
        // session ended with it; none for a ticket that was not granted.
        const queued = await a.sql.query(
          `SELECT ticket_id, count(*)::int AS n FROM slo_outbox WHERE service LIKE $1 GROUP BY ticket_id`,
          [`${base}/${round}/%`],
        );
        const byTicket = (x: { ticket_id: string }, y: { ticket_id: string }) => (x.ticket_id < y.ticket_id ? -1 : 1);
        expect({ round, queued: queued.rows.sort(byTicket) }).toEqual({ round, queued: granted.map((ticket_id) => ({ ticket_id, n: 1 })).sort(byTicket) });
      }
    });
  });
});

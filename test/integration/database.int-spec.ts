import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { openDatabase } from '../../src/database/data-source';
import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';

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
        // Requests on a just-killed connection fail (503, never a crash); the pool evicts dead
        // clients and health is UP again within 2 s (T16).
        const started = Date.now();
        let res = await t.app.inject({ method: 'GET', url: '/cas/actuator/health' });
        while (res.statusCode !== 200 && Date.now() - started < 2000) {
          expect(res.statusCode).toBe(503);
          await new Promise((r) => setTimeout(r, 50));
          res = await t.app.inject({ method: 'GET', url: '/cas/actuator/health' });
        }
        expect(res.statusCode).toBe(200);
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
        'ix_tickets_tgt_expires',
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

    it('leaves no ticket or service record behind when a grant commits while a logout waits for the session; never synchronized', async () => {
      // No foreign key guards session_id (its cascade triggers were most of the cleaner's time):
      // the TGT row lock taken by every grant and every logout must, so nothing is left behind.
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      const { rows } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY created_at DESC LIMIT 1`);
      const tgt = rows[0].id as string;
      // A grant in flight, holding the session's row lock as grantServiceTicket does.
      const grant = new Client({ connectionString: t.config.databaseUrl });
      await grant.connect();
      try {
        await grant.query('BEGIN');
        await grant.query(`UPDATE tickets SET use_count = use_count + 1 WHERE id = $1`, [tgt]);
        await grant.query(
          `INSERT INTO tickets (id, type, session_id, parent_id, principal, service, created_at, last_used_at, expires_at, max_uses)
           VALUES ('ST-race0000000000000000000000000', 'ST', $1, $1, 'casuser', 'https://app.example.org/', now(), now(), now() + interval '10 s', 1)`,
          [tgt],
        );
        await grant.query(
          `INSERT INTO session_services (session_id, ticket_id, service, issued_at) VALUES ($1, 'ST-race0000000000000000000000000', 'https://app.example.org/', now())`,
          [tgt],
        );
        const logout = b.get('/cas/logout');
        const waiting = async () =>
          (await t.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n;
        for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(await waiting()).toBe(1);
        await grant.query('COMMIT');
        expect((await logout).statusCode).toBe(200);
      } finally {
        await grant.end();
      }
      const left = await t.sql.query(
        `SELECT (SELECT count(*)::int FROM tickets WHERE session_id = $1) AS tickets,
                (SELECT count(*)::int FROM session_services WHERE session_id = $1) AS services`,
        [tgt],
      );
      expect(left.rows[0]).toEqual({ tickets: 0, services: 0 });
      expect(t.app.get(DataSource).options.synchronize).toBe(false);
    });
  });
});

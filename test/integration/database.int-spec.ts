import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { openDatabase } from '../../src/database/data-source';
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
        'ix_tickets_type_principal',
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

    it('refuses a ticket row whose session does not exist; the schema is never synchronized', async () => {
      await expect(
        t.sql.query(
          `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at)
           VALUES ('ST-orphan000000000000000000000000', 'ST', 'TGT-none', 'x', now(), now(), now())`,
        ),
      ).rejects.toThrow(/fk_tickets_session/);
      expect(t.app.get(DataSource).options.synchronize).toBe(false);
    });
  });
});

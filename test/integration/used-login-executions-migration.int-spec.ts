import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { dataSourceOptions } from '../../src/database/data-source';
import { startTestApp, TestApp } from '../helpers/test-app';

/** Migration 1764000011000: login_flows gives way to used_login_executions, and back. */
describe('migration ReplaceLoginFlowsByUsedExecutions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('leaves only used_login_executions, commented; down brings login_flows back, up again', async () => {
    const ds = new DataSource(dataSourceOptions(t.config.databaseUrl!));
    await ds.initialize();
    const runner = ds.createQueryRunner();
    const sql = new Client({ connectionString: t.config.databaseUrl });
    await sql.connect();
    try {
      const tables = async () =>
        (await sql.query(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`)).rows.map((r) => r.relname);
      const after = await tables();
      expect(after).toContain('used_login_executions');
      expect(after).not.toContain('login_flows');
      const { rows } = await sql.query(`SELECT obj_description('used_login_executions'::regclass) AS comment`);
      expect(rows[0].comment).toMatch(/already posted/);

      const migration = new (migrations.find((m) => m.name === 'ReplaceLoginFlowsByUsedExecutions1764000011000')!)();
      await migration.down(runner);
      expect(await tables()).toEqual([...after.filter((n) => n !== 'used_login_executions'), 'login_flows'].sort());
      await migration.up(runner);
      expect(await tables()).toEqual(after);
    } finally {
      await sql.end();
      await runner.release();
      await ds.destroy();
    }
  });
});

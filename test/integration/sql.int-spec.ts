import { Sql } from '../../src/database/sql';
import { startTestApp, TestApp } from '../helpers/test-app';

/** The SQL helper every table owner uses: results without TypeORM's shapes, prepared statements, transactions. */
describe('Sql helper', () => {
  let t: TestApp;
  let sql: Sql;
  beforeAll(async () => {
    t = await startTestApp();
    sql = t.app.get(Sql);
    await t.sql.query(`CREATE TABLE sql_helper_test (id int PRIMARY KEY, v text)`);
  });
  afterAll(() => t.close());

  it('case=rows: the rows of a SELECT and of a statement with RETURNING; none without', async () => {
    expect(await sql.rows(`INSERT INTO sql_helper_test VALUES (1, 'a'), (2, 'b') RETURNING id`)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await sql.rows(`SELECT v FROM sql_helper_test WHERE id > $1 ORDER BY id`, [0])).toEqual([{ v: 'a' }, { v: 'b' }]);
    expect(await sql.rows(`UPDATE sql_helper_test SET v = v WHERE id = 1`)).toEqual([]);
    expect(await sql.rows(`DELETE FROM sql_helper_test WHERE id = 99 RETURNING id`)).toEqual([]);
  });

  it('case=one: the first row or null', async () => {
    expect(await sql.one(`SELECT v FROM sql_helper_test WHERE id = $1`, [2])).toEqual({ v: 'b' });
    expect(await sql.one(`SELECT v FROM sql_helper_test WHERE id = $1`, [99])).toBeNull();
  });

  it('case=affected: rows inserted, updated or deleted', async () => {
    expect(await sql.affected(`INSERT INTO sql_helper_test VALUES (3, 'c') ON CONFLICT DO NOTHING`)).toBe(1);
    expect(await sql.affected(`INSERT INTO sql_helper_test VALUES (3, 'c') ON CONFLICT DO NOTHING`)).toBe(0);
    expect(await sql.affected(`UPDATE sql_helper_test SET v = 'x' WHERE id >= $1`, [2])).toBe(2);
    expect(await sql.affected(`DELETE FROM sql_helper_test WHERE id = $1`, [3])).toBe(1);
  });

  it('case=prepared: a named statement, run again with other values', async () => {
    const text = `SELECT v FROM sql_helper_test WHERE id = $1`;
    expect(await sql.prepared('sql_helper_test_get', text, [1])).toEqual([{ v: 'a' }]);
    expect(await sql.prepared('sql_helper_test_get', text, [2])).toEqual([{ v: 'x' }]);
  });

  it('case=transaction: committed when the callback resolves, rolled back when it throws', async () => {
    expect(await sql.transaction(async (tx) => tx.affected(`INSERT INTO sql_helper_test VALUES (10, 'kept')`))).toBe(1);
    await expect(
      sql.transaction(async (tx) => {
        await tx.rows(`INSERT INTO sql_helper_test VALUES (11, 'lost') RETURNING id`);
        expect(await tx.one(`SELECT v FROM sql_helper_test WHERE id = 11`)).toEqual({ v: 'lost' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await t.sql.query(`SELECT id FROM sql_helper_test WHERE id >= 10 ORDER BY id`)).rows).toEqual([{ id: 10 }]);
  });

  it("case=transaction prepared: a named statement on the transaction's connection, in it (sees its writes, rolled back with it)", async () => {
    const insert = `INSERT INTO sql_helper_test VALUES ($1, $2) RETURNING id`;
    const read = `SELECT v FROM sql_helper_test WHERE id = $1`;
    await sql.transaction(async (tx) => {
      expect(await tx.prepared('sql_helper_test_insert', insert, [20, 'tx'])).toEqual([{ id: 20 }]);
      expect(await tx.prepared('sql_helper_test_read', read, [20])).toEqual([{ v: 'tx' }]);
      // The same name outside the transaction: the pool's connections prepare it as well.
      expect(await sql.prepared('sql_helper_test_read', read, [20])).toEqual([]);
    });
    await expect(
      sql.transaction(async (tx) => {
        await tx.prepared('sql_helper_test_insert', insert, [21, 'lost']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await t.sql.query(`SELECT id FROM sql_helper_test WHERE id >= 20 ORDER BY id`)).rows).toEqual([{ id: 20 }]);
    // This test's database only: the suites running beside it share the cluster.
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()`);
    expect(rows[0].n).toBe(0);
  });
});

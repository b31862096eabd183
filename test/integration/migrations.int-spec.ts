import { Client } from 'pg';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { migrations } from '../../migrations';
import { dataSourceOptions, MIGRATION_LOCK_KEY, openDatabase } from '../../src/database/data-source';
import { createTestDatabase } from '../helpers/test-database';

/** Advisory lock the test holds to keep the slow migration running as long as it needs. */
const SLOW_MIGRATION_BLOCKER = 4_242_001;

/**
 * Stands for a long index build on a big table: it runs until the test lets it finish, so it
 * takes longer than the request statement timeout without the test sleeping. Defined here, not
 * in migrations/: it is never shipped.
 */
class SlowTestMigration9999999999999 implements MigrationInterface {
  name = 'SlowTestMigration9999999999999';

  async up(q: QueryRunner): Promise<void> {
    await q.query('SELECT pg_advisory_xact_lock($1)', [SLOW_MIGRATION_BLOCKER]);
    await q.query('CREATE TABLE slow_migration_ran (at timestamptz NOT NULL DEFAULT now())');
    await q.query('INSERT INTO slow_migration_ran DEFAULT VALUES');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE slow_migration_ran');
  }
}

/** A logger that remembers its lines and lets the test wait for one. */
class RecordingLogger {
  readonly lines: string[] = [];
  private waiting: { pattern: RegExp; count: number; resolve(): void }[] = [];

  log(message: string): void {
    this.lines.push(message);
    this.waiting = this.waiting.filter((w) => (this.matches(w.pattern) >= w.count ? (w.resolve(), false) : true));
  }

  /** Resolves once `count` lines matching `pattern` have been logged. */
  seen(pattern: RegExp, count = 1): Promise<void> {
    if (this.matches(pattern) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ pattern, count, resolve }));
  }

  private matches(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }
}

/** A node booting in the background; a failure is kept so the test reports it instead of waiting on. */
function boot(p: Promise<DataSource>): { done: Promise<DataSource>; error?: unknown } {
  const node: { done: Promise<DataSource>; error?: unknown } = { done: p };
  p.catch((e) => (node.error = e));
  return node;
}

/** `p`, or the first node's boot failure, whichever comes first. */
function unlessAFails<T>(p: Promise<T>, nodes: { done: Promise<unknown> }[]): Promise<T> {
  return Promise.race([p, ...nodes.map((n) => n.done.then(() => new Promise<never>(() => undefined)))]);
}

/** Waits for a condition on the database itself, with no fixed sleep: each check is one round trip. */
async function until(check: () => Promise<boolean>, nodes: { error?: unknown }[]): Promise<void> {
  for (;;) {
    const failed = nodes.find((n) => n.error !== undefined);
    if (failed) throw failed.error;
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
  }
}

describe('migrations on their own connection (no statement timeout)', () => {
  it('a migration slower than the request statement timeout and a node waiting for it: both boot, each migration applied once', async () => {
    const db = await createTestDatabase();
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    const nodes: DataSource[] = [];
    try {
      // A default a DBA might set on the database; the migrations must not be subject to it either.
      await sql.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET statement_timeout = '200ms'`);
      const waitingFor = async (key: number) =>
        (
          await sql.query(
            `SELECT count(*)::int AS n FROM pg_locks
              WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND classid::bigint * 4294967296 + objid::bigint = $1`,
            [key],
          )
        ).rows[0].n as number;
      await sql.query('SELECT pg_advisory_lock($1)', [SLOW_MIGRATION_BLOCKER]);

      // The request pools get a 200 ms statement timeout here instead of 5 s, so it elapses quickly.
      const options = (logger: RecordingLogger) => ({
        migrations: [...migrations, SlowTestMigration9999999999999],
        statementTimeoutMs: 200,
        logger,
        waitLogIntervalMs: 20,
      });
      const log1 = new RecordingLogger();
      const log2 = new RecordingLogger();
      const node1 = boot(openDatabase(db.url, options(log1)));
      await until(async () => (await waitingFor(SLOW_MIGRATION_BLOCKER)) === 1, [node1]);
      // Node 1 is in the slow migration, holding the migration lock: node 2 boots and waits.
      const node2 = boot(openDatabase(db.url, options(log2)));
      await until(async () => (await waitingFor(MIGRATION_LOCK_KEY)) === 1, [node1, node2]);
      await unlessAFails(
        log2.seen(/^waiting for another node's migrations: advisory lock \d+ is taken \(held by backend \d+, cas-server migrations/),
        [node1, node2],
      );

      // A request-pool statement that waits as long is cancelled by the request timeout…
      const requests = new DataSource(dataSourceOptions(db.url, { statementTimeoutMs: 200 }));
      await requests.initialize();
      await expect(requests.query('SELECT pg_advisory_lock($1)', [SLOW_MIGRATION_BLOCKER])).rejects.toThrow(
        'canceling statement due to statement timeout',
      );
      await requests.destroy();
      // …which has elapsed for both nodes too, and they still wait: node 1 in its migration, node 2
      // for the lock, saying so again while it waits.
      await until(async () => (await waitingFor(SLOW_MIGRATION_BLOCKER)) === 1 && (await waitingFor(MIGRATION_LOCK_KEY)) === 1, [node1, node2]);
      await unlessAFails(log2.seen(/^still waiting for another node's migrations \(\d+ s\)$/, 2), [node1, node2]);

      await sql.query('SELECT pg_advisory_unlock($1)', [SLOW_MIGRATION_BLOCKER]);
      nodes.push(await node1.done, await node2.done);

      const applied = await sql.query('SELECT name FROM schema_migrations ORDER BY id');
      expect(applied.rows.map((r) => r.name)).toEqual([...migrations.map((m) => m.name), 'SlowTestMigration9999999999999']);
      expect((await sql.query('SELECT count(*)::int AS n FROM slow_migration_ran')).rows[0].n).toBe(1);
      expect(log1.lines).toEqual([`applied ${migrations.length + 1} migration(s): ${[...migrations.map((m) => m.name), 'SlowTestMigration9999999999999'].join(', ')}`]);
      expect(log2.lines[log2.lines.length - 1]).toMatch(/^the other node's migrations are done/);
      expect(log2.lines.join('\n')).not.toContain('applied');
      // The request pools keep their statement timeout.
      for (const ds of nodes) expect(await ds.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '200ms' }]);
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()));
      await sql.end();
      await db.drop();
    }
  });
});

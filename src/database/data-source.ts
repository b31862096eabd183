import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { migrations } from '../../migrations';
import { poolOf } from './sql';

/** Advisory lock key for migrations: several nodes may boot at once, one migrates, the rest wait. */
export const MIGRATION_LOCK_KEY = 7_210_411_001;

/** Per-statement limit of the request pool: a slow or stuck query fails its request fast (T16/T17). */
const REQUEST_STATEMENT_TIMEOUT_MS = 5000;

export interface RequestPoolOptions {
  /** The request pool's statement_timeout in ms (5000 unless a test lowers it). */
  statementTimeoutMs?: number;
}

/** The one DataSource definition for the app, the migration CLI and the tests. Never synchronize. */
export function dataSourceOptions(url: string, o: RequestPoolOptions = {}): PostgresConnectionOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations,
    migrationsTableName: 'schema_migrations',
    entities: [],
    applicationName: 'cas-server',
    // pg.Pool settings: bounded waits so a slow or lost database fails requests fast (T16/T17).
    // They are for requests only: migrations run on a connection of their own (runMigrations).
    poolSize: 10,
    connectTimeoutMS: 5000,
    extra: {
      statement_timeout: o.statementTimeoutMs ?? REQUEST_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: 10000,
    },
  };
}

export interface MigrationOptions {
  /** The migrations to apply, oldest first (default: every migration in migrations/). */
  migrations?: PostgresConnectionOptions['migrations'];
  logger?: Pick<Logger, 'log'>;
  /** How often a node waiting for another node's migrations says so again, in ms. */
  waitLogIntervalMs?: number;
}

/**
 * Brings the schema up to date on a connection of its own, never the request pool: a migration
 * may build an index on a big table for minutes, and a node booting meanwhile waits for it as
 * long, so neither may be cut short by the request pool's statement timeout. The advisory lock,
 * session-level, is held by that same connection while it migrates; a node that finds it taken
 * says so in the log, then again every `waitLogIntervalMs`, until the other node is done (then
 * it finds nothing pending). Returns the names of the migrations it applied.
 */
export async function runMigrations(url: string, o: MigrationOptions = {}): Promise<string[]> {
  const logger = o.logger ?? new Logger('Migrations');
  const ds = new DataSource({
    ...dataSourceOptions(url),
    migrations: o.migrations ?? migrations,
    applicationName: 'cas-server migrations',
    poolSize: 1,
    extra: {}, // none of the request pool's timeouts: see the SET below
  });
  await ds.initialize();
  attachPoolErrorHandler(ds);
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    // Set in SQL, not as connection parameters: pg does not send a 0, and a database or role
    // default (ALTER ROLE … SET statement_timeout) would then apply to the migrations.
    await runner.query('SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0');
    await takeMigrationLock(runner, logger, o.waitLogIntervalMs ?? 5000);
    try {
      const executor = new MigrationExecutor(ds, runner);
      executor.transaction = 'each';
      const applied = (await executor.executePendingMigrations()).map((m) => m.name);
      if (applied.length > 0) logger.log(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
      return applied;
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await runner.release();
    await ds.destroy();
  }
}

/** Takes the migration lock, waiting as long as another node migrates and logging while it waits. */
async function takeMigrationLock(runner: ReturnType<DataSource['createQueryRunner']>, logger: Pick<Logger, 'log'>, everyMs: number): Promise<void> {
  const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
  if (locked) return;
  const holder = await runner.query(
    `SELECT a.pid, a.application_name, a.client_addr::text AS addr FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint * 4294967296 + l.objid::bigint = $1`,
    [MIGRATION_LOCK_KEY],
  );
  const by = holder[0] ? ` (held by backend ${holder[0].pid}, ${holder[0].application_name || 'no application name'}${holder[0].addr ? ` from ${holder[0].addr}` : ''})` : '';
  logger.log(`waiting for another node's migrations: advisory lock ${MIGRATION_LOCK_KEY} is taken${by}`);
  const since = Date.now();
  const reminder = setInterval(
    () => logger.log(`still waiting for another node's migrations (${Math.round((Date.now() - since) / 1000)} s)`),
    everyMs,
  );
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } finally {
    clearInterval(reminder);
  }
  logger.log(`the other node's migrations are done (waited ${Math.round((Date.now() - since) / 1000)} s)`);
}

/** Brings the schema up to date (runMigrations), then opens the request pool. */
export async function openDatabase(url: string, o: MigrationOptions & RequestPoolOptions = {}): Promise<DataSource> {
  await runMigrations(url, o);
  const ds = new DataSource(dataSourceOptions(url, o));
  await ds.initialize();
  attachPoolErrorHandler(ds);
  return ds;
}

/**
 * An idle pooled client that loses its server emits 'error' on the pool; unhandled, that kills
 * the process. TypeORM attaches a handler of its own; ours makes the guarantee explicit (T18).
 */
export function attachPoolErrorHandler(ds: DataSource, logger = new Logger('Database')): void {
  const pool = poolOf(ds);
  pool?.on('error', (e) => logger.warn(`idle database connection lost: ${e.message}`));
}

import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations';

/** Advisory lock key for migrations: several nodes may boot at once, one migrates, the rest wait. */
const MIGRATION_LOCK_KEY = 7_210_411_001;

/** The one DataSource definition for the app, the migration CLI and the tests. Never synchronize. */
export function dataSourceOptions(url: string): DataSourceOptions {
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
    poolSize: 10,
    connectTimeoutMS: 5000,
    extra: {
      statement_timeout: 5000,
      idle_in_transaction_session_timeout: 10000,
    },
  };
}

/** Runs pending migrations under a Postgres advisory lock held on a dedicated connection. */
export async function runMigrations(ds: DataSource, logger = new Logger('Migrations')): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    if (applied.length > 0) logger.log(`applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

/** Opens the DataSource and brings the schema up to date. */
export async function openDatabase(url: string): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(url));
  await ds.initialize();
  attachPoolErrorHandler(ds);
  await runMigrations(ds);
  return ds;
}

/**
 * An idle pooled client that loses its server emits 'error' on the pool; unhandled, that kills
 * the process. TypeORM attaches a handler of its own; ours makes the guarantee explicit (T18).
 */
export function attachPoolErrorHandler(ds: DataSource, logger = new Logger('Database')): void {
  const pool = (ds.driver as unknown as { master?: { on(ev: 'error', fn: (e: Error) => void): void } }).master;
  pool?.on('error', (e) => logger.warn(`idle database connection lost: ${e.message}`));
}

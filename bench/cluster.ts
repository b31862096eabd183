/** The bench's Postgres: an embedded cluster of its own in a scratch directory, or DATABASE_URL. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedCluster } from '../src/database/embedded-postgres';

export interface BenchDatabase {
  /** The `cas` database (on the embedded cluster) or DATABASE_URL. */
  url: string;
  /** The embedded cluster's postmaster, to read Postgres CPU from /proc; null with DATABASE_URL. */
  postmasterPid: number | null;
  stop(): Promise<void>;
}

/**
 * Durability as in production, fsync and synchronous_commit on (both defaults, stated anyway), and
 * pg_stat_statements loaded so each measured run can name its top statements.
 */
export const PRODUCTION_FLAGS = [
  '-c', 'shared_buffers=256MB', '-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'max_connections=200',
  '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'pg_stat_statements.track_planning=on',
];

/**
 * `databaseUrl` as given (a throwaway database: the bench creates and truncates tables in it), or
 * an embedded cluster in `dir`/pg started with `postgresFlags`, with an empty `cas` database.
 */
export async function benchDatabase(dir: string, postgresFlags: string[], databaseUrl?: string): Promise<BenchDatabase> {
  if (databaseUrl) return { url: databaseUrl, postmasterPid: null, stop: async () => undefined };
  const databaseDir = join(dir, 'pg');
  const cluster = await startEmbeddedCluster({ databaseDir, password: 'bench', persistent: false, postgresFlags });
  const admin = new Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE cas');
  await admin.end();
  return {
    url: cluster.adminUrl.replace(/\/postgres$/, '/cas'),
    postmasterPid: Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
    stop: cluster.stop,
  };
}

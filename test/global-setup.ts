// Starts one throwaway embedded Postgres for the whole jest run, unless DATABASE_URL points at a
// server already (its role then needs CREATEDB). Each test file creates its own database on it
// (test/helpers/test-database.ts), so files run in parallel without sharing rows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedCluster } from '../src/database/embedded-postgres';

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const base = mkdtempSync(join(tmpdir(), 'cas-test-pg-'));
  const cluster = await startEmbeddedCluster({
    databaseDir: join(base, 'data'),
    password: 'test-only',
    persistent: false,
    // Throwaway data: durability off to keep the suite quick.
    postgresFlags: ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
  });
  (globalThis as Record<string, unknown>).__CAS_TEST_PG__ = { cluster, base };
  process.env.TEST_ADMIN_DATABASE_URL = cluster.adminUrl;
}

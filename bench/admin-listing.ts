/**
 * `npm run bench:admin`: the ssoSessions listing over 1,000,000 tickets, on its own.
 *
 * Seeds 200,000 live sessions (50,000 users, 4 sessions each) with 4 STs and 4 session_services
 * rows each (seed.ts, the rows `npm run bench` seeds), then times through HTTP, in process: one
 * user's sessions (the user path; `?username=` is a prefix search, timed beside it), arbitrary pages (keyset cursor at random points), and the first page; p50/p99
 * over sequential requests. Also prints the table size per ticket row. BENCH_EXPLAIN=1: the plans.
 */
import 'reflect-metadata';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApp } from '../src/app.setup';
import { loadCasConfig } from '../src/config/cas-config';
import { openDatabase } from '../src/database/data-source';
import { benchDatabase } from './cluster';
import { explain } from './explain';
import { timeRequests } from './measure';
import { seedBulk } from './seed';
import { settings } from './settings';

const TICKETS = 1_000_000;
const USERS = 50_000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cas-bench-admin-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'services'));
  const db = await benchDatabase(dir, ['-c', 'shared_buffers=256MB', '-c', 'synchronous_commit=on']);
  try {
    await (await openDatabase(db.url)).destroy();
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    const t0 = Date.now();
    await seedBulk(sql, { service: 'https://app.example.org/', expired: 0, live: TICKETS, users: USERS });
    await sql.query('VACUUM ANALYZE tickets');
    await sql.query('VACUUM ANALYZE session_services');
    const size = (await sql.query(`SELECT pg_total_relation_size('tickets') AS bytes, (SELECT count(*) FROM tickets) AS n`)).rows[0];
    const ids = (await sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY random() LIMIT 1000`)).rows.map((r) => r.id as string);
    if (process.env.BENCH_EXPLAIN) {
      const page = `SELECT t.id FROM tickets t WHERE t.type = 'TGT' AND t.expires_at > now() AND t.id > $1 AND ($2::text IS NULL OR t.principal_key = $2::text) ORDER BY t.id LIMIT 50`;
      const timing = /Execution Time|Scan|Sort/;
      await explain(sql, 'session totals', `SELECT count(*) FILTER (WHERE type = 'TGT'), count(DISTINCT principal_key) FILTER (WHERE type = 'TGT') FROM tickets WHERE type IN ('TGT', 'PGT') AND expires_at > now()`, [], timing);
      await explain(sql, "one user's first page", page, ['TGT-', 'user5'], timing);
      await explain(sql, 'a page at a random cursor', page, [ids[0], null], timing);
    }
    await sql.end();
    console.log(`seeded ${Number(size.n).toLocaleString()} tickets in ${((Date.now() - t0) / 1000).toFixed(1)} s; tickets table with indexes: ${(Number(size.bytes) / 1e6).toFixed(0)} MB = ${(Number(size.bytes) / Number(size.n)).toFixed(0)} bytes per row`);

    const config = loadCasConfig({
      DATABASE_URL: db.url,
      CAS_DATA_DIR: join(dir, 'data'),
      CAS_SERVICE_REGISTRY_JSON_LOCATION: join(dir, 'services'),
      LOG_LEVEL: 'error',
      CAS_SLO_DISABLED: 'true',
    });
    const app = await createApp(config);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/cas/actuator/ssoSessions`;
    const n = settings.adminRequests;
    try {
      console.log(`GET /cas/actuator/ssoSessions over 1M tickets, ${n} sequential requests each:`);
      await timeRequests("one user's sessions (/ssoSessions/users/{username})", n, (i) => `${base}/users/user${(i * 7919) % USERS}`);
      await timeRequests('usernames starting with (?username=, a prefix search)', n, (i) => `${base}?username=user${(i * 7919) % USERS}`);
      await timeRequests('a page of 50 at a random cursor', n, (i) => `${base}?count=50&cursor=${ids[i % ids.length]}`);
      await timeRequests('a page of 1000 at a random cursor', n, (i) => `${base}?count=1000&cursor=${ids[i % ids.length]}`);
      await timeRequests('the first page, default size (100)', n, () => base);
    } finally {
      await app.close();
    }
  } finally {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

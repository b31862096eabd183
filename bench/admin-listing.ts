/**
 * `npm run bench:admin`: the ssoSessions listing over 1,000,000 tickets.
 *
 * Seeds 200,000 TGTs (50,000 users, 4 sessions each), 800,000 STs (half expired) and 400,000
 * session_services rows, then times through HTTP: one user's sessions, arbitrary pages (keyset
 * cursor at random points), and the first page; p50/p99 over sequential requests. Also prints the
 * table size per ticket row.
 */
import 'reflect-metadata';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApp } from '../src/app.setup';
import { loadCasConfig } from '../src/config/cas-config';
import { openDatabase } from '../src/database/data-source';
import { startEmbeddedCluster } from '../src/database/embedded-postgres';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timeRequests(label: string, urlFor: (i: number) => string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = process.hrtime.bigint();
    const res = await fetch(urlFor(i));
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(44)} p50 ${pct(times, 50).toFixed(2)} ms   p99 ${pct(times, 99).toFixed(2)} ms`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cas-bench-admin-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'services'));
  const cluster = await startEmbeddedCluster({
    databaseDir: join(dir, 'pg'),
    password: 'bench',
    persistent: false,
    postgresFlags: ['-c', 'shared_buffers=256MB', '-c', 'synchronous_commit=on'],
  });
  try {
    const admin = new Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE cas');
    await admin.end();
    const url = cluster.adminUrl.replace(/\/postgres$/, '/cas');
    await (await openDatabase(url)).destroy();

    const sql = new Client({ connectionString: url });
    await sql.connect();
    const t0 = Date.now();
    await sql.query(`
      INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at, idle_timeout_seconds, use_count, attributes)
      SELECT 'TGT-' || lpad(g::text, 12, '0') || md5(g::text), 'TGT', 'TGT-' || lpad(g::text, 12, '0') || md5(g::text),
             'user' || (g % 50000), 'user' || (g % 50000), now() - interval '1 hour', now(), now() + interval '1 hour', now() + interval '7 hours', 7200, 2,
             '{"mail":["u@example.org"]}'::jsonb
        FROM generate_series(1, 200000) g`);
    await sql.query(`
      INSERT INTO tickets (id, type, session_id, parent_id, principal, service, created_at, last_used_at, expires_at, from_new_login)
      SELECT 'ST-' || md5(g::text || 'st'), 'ST', 'TGT-' || lpad((g % 200000 + 1)::text, 12, '0') || md5((g % 200000 + 1)::text),
             'TGT-' || lpad((g % 200000 + 1)::text, 12, '0') || md5((g % 200000 + 1)::text),
             'user' || ((g % 200000 + 1) % 50000), 'https://app.example.org/', now(), now(),
             CASE WHEN g % 2 = 0 THEN now() - interval '1 minute' ELSE now() + interval '10 seconds' END, false
        FROM generate_series(1, 800000) g`);
    await sql.query(`
      INSERT INTO session_services (session_id, ticket_id, service, issued_at)
      SELECT 'TGT-' || lpad((g % 200000 + 1)::text, 12, '0') || md5((g % 200000 + 1)::text), 'ST-x' || g, 'https://app' || (g % 7) || '.example.org/', now()
        FROM generate_series(1, 400000) g`);
    await sql.query('VACUUM ANALYZE tickets');
    await sql.query('VACUUM ANALYZE session_services');
    const size = (await sql.query(`SELECT pg_total_relation_size('tickets') AS bytes, (SELECT count(*) FROM tickets) AS n`)).rows[0];
    const ids = (await sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY random() LIMIT 1000`)).rows.map((r) => r.id as string);
    if (process.env.BENCH_EXPLAIN) {
      for (const q of [
        `EXPLAIN ANALYZE SELECT count(*) FILTER (WHERE type = 'TGT'), count(DISTINCT principal_key) FILTER (WHERE type = 'TGT') FROM tickets WHERE type IN ('TGT', 'PGT') AND expires_at > now()`,
        `EXPLAIN ANALYZE SELECT t.id FROM tickets t WHERE t.type = 'TGT' AND t.expires_at > now() AND t.id > 'TGT-' AND ('user5'::text IS NULL OR t.principal_key = 'user5') ORDER BY t.id LIMIT 50`,
        `EXPLAIN ANALYZE SELECT t.id FROM tickets t WHERE t.type = 'TGT' AND t.expires_at > now() AND t.id > '${ids[0]}' AND (NULL::text IS NULL OR t.principal_key = NULL::text) ORDER BY t.id LIMIT 50`,
      ]) {
        const plan = await sql.query(q);
        console.log(plan.rows.map((r) => r['QUERY PLAN']).filter((l: string) => /Execution Time|Scan|Sort/.test(l)).join('\n'));
      }
    }
    await sql.end();
    console.log(`seeded ${Number(size.n).toLocaleString()} tickets in ${((Date.now() - t0) / 1000).toFixed(1)} s; tickets table with indexes: ${(Number(size.bytes) / 1e6).toFixed(0)} MB = ${(Number(size.bytes) / Number(size.n)).toFixed(0)} bytes per row`);

    const config = loadCasConfig({
      DATABASE_URL: url,
      CAS_DATA_DIR: join(dir, 'data'),
      CAS_SERVICE_REGISTRY_JSON_LOCATION: join(dir, 'services'),
      LOG_LEVEL: 'error',
      CAS_SLO_DISABLED: 'true',
    });
    const app = await createApp(config);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/cas/actuator/ssoSessions`;
    try {
      console.log(`GET /cas/actuator/ssoSessions over 1M tickets, ${REQUESTS} sequential requests each:`);
      await timeRequests("one user's sessions (?username=)", (i) => `${base}?username=user${(i * 7919) % 50000}`);
      await timeRequests('a page of 50 at a random cursor', (i) => `${base}?count=50&cursor=${ids[i % ids.length]}`);
      await timeRequests('a page of 1000 at a random cursor', (i) => `${base}?count=1000&cursor=${ids[i % ids.length]}`);
      await timeRequests('the first page, default size (100)', () => base);
    } finally {
      await app.close();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

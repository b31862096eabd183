/** What every step of `npm run bench` works on: the scratch directory, the database, the logout sink, the nodes running. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchDatabase, benchDatabase, PRODUCTION_FLAGS } from './cluster';
import { f0, load, log } from './lib';
import { Node, TinyServer, tinyServer } from './nodes';
import { ARGON2, settings } from './settings';
import { enableStatements } from './statements';

export interface BenchContext {
  dir: string;
  url: string;
  /** The bench's own connection: seeding, counting, EXPLAIN. */
  sql: Client;
  postmasterPid: number | null;
  /** The registered service (id 1) every ticket is for: the sink's logout endpoint. */
  service: string;
  sink: TinyServer;
  /** Nodes running now, stopped at the end whatever happens. */
  nodes: Node[];
  /** The machine, settings and Postgres lines, printed first and kept with the results. */
  environment: string[];
  loadAtStart: string;
  startedAt: Date;
  database: BenchDatabase;
}

/** Prints the environment, starts Postgres and the logout sink, registers the bench's service. */
export async function openBench(): Promise<BenchContext> {
  const dir = mkdtempSync(join(tmpdir(), 'cas-bench-'));
  chmodSync(dir, 0o755);
  const startedAt = new Date();
  const loadAtStart = load();
  const environment = [
    `machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}; load average at start ${loadAtStart}`,
    `settings: ${settings.duration} s runs after ${settings.warmup} s warm-up, ${settings.connections} connections, ${f0(settings.tickets)} expired + ${f0(settings.liveTickets)} live tickets, argon2id m=${ARGON2.ARGON2_MEMORY_KIB} KiB t=${ARGON2.ARGON2_TIME_COST} p=${ARGON2.ARGON2_PARALLELISM}`,
  ];
  console.log(`npm run bench — ${startedAt.toISOString()}`);
  environment.forEach((l) => console.log(l));

  // BENCH_PG_SETTINGS ("name=value name=value"): settings on top of production's, to measure one (e.g. wal_compression=on).
  const extra = settings.pgSettings.flatMap((kv) => ['-c', kv]);
  const database = await benchDatabase(dir, [...PRODUCTION_FLAGS, ...extra], settings.databaseUrl);
  const sql = new Client({ connectionString: database.url });
  sql.on('error', (e) => log(`bench connection lost: ${e.message}`));
  await sql.connect();
  if (database.postmasterPid && settings.statements) await enableStatements(sql);
  const pg = (await sql.query(`SELECT version() v, current_setting('fsync') f, current_setting('synchronous_commit') s, current_setting('shared_buffers') b`)).rows[0];
  environment.push(`postgres: ${String(pg.v).split(' on ')[0]}, fsync=${pg.f}, synchronous_commit=${pg.s}, shared_buffers=${pg.b}${settings.pgSettings.length ? `, ${settings.pgSettings.join(', ')}` : ''}${database.postmasterPid ? ' (embedded)' : ' (DATABASE_URL: Postgres CPU not measured)'}`);
  console.log(environment[environment.length - 1]);

  const sink = await tinyServer('sink', '');
  mkdirSync(join(dir, 'services'));
  writeFileSync(join(dir, 'services', 'bench-1.json'), JSON.stringify({
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    id: 1,
    name: 'Bench application',
    serviceId: `^http://127\\.0\\.0\\.1:${sink.port}/app.*`,
    attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
  }));
  return { dir, url: database.url, sql, postmasterPid: database.postmasterPid, service: `http://127.0.0.1:${sink.port}/app`, sink, nodes: [], environment, loadAtStart, startedAt, database };
}

export async function closeBench(ctx: BenchContext): Promise<void> {
  await Promise.all(ctx.nodes.map((n) => n.stop().catch(() => undefined)));
  await ctx.sink.stop().catch(() => undefined);
  await ctx.sql.end().catch(() => undefined);
  await ctx.database.stop().catch(() => undefined);
  if (!settings.keep) rmSync(ctx.dir, { recursive: true, force: true });
  else console.log(`kept ${ctx.dir}`);
}

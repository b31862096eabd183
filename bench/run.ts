/**
 * `npm run bench`: the ceilings and the product, measured in one run on this machine, printed as
 * raw figures and as ratios against the goals of performance.md (its last table), PASS/MISS each.
 *
 *   1. Postgres: an embedded cluster (fsync and synchronous_commit on, shared_buffers=256MB), or
 *      DATABASE_URL (a throwaway database: the bench creates and truncates tables in it).
 *   2. Ceilings, tiny servers in bench/servers.ts as child processes: C1, C2, the bare login route (e).
 *   3. The product, `node dist/src/main.js` as child processes: /p3/serviceValidate, SSO re-entry,
 *      password login, admin listing over 1M tickets, the cleaner on 2 nodes under validation load,
 *      RSS, bytes per ticket row, cold start.
 *
 * Scale down for a quick run: BENCH_TICKETS=100000 BENCH_DURATION=5 npm run bench
 */
import 'reflect-metadata';
import { ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type autocannon from 'autocannon';
import { Client } from 'pg';
import { startEmbeddedCluster } from '../src/database/embedded-postgres';
import { newTicketId } from '../src/tickets/ticket-ids';
import { CLAIM_EXPIRED_SESSIONS_SQL, REMOVE_SESSION_ROWS_SQL } from '../src/tickets/ticket-statements';
import { BENCH_TABLE, cannon, Cannon, CpuMeter, CpuSplit, freePort, GiveUp, load, pct, rssMb, sleep, waitFor } from './lib';

const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
/** Expired tickets the cleaner removes (1 TGT : 4 STs), also the bulk the admin listing runs over. */
const TICKETS = Number(env.BENCH_TICKETS ?? 1_000_000);
/** Live tickets seeded beside them (must all survive the cleaner). */
const LIVE_TICKETS = Number(env.BENCH_LIVE_TICKETS ?? Math.round(TICKETS / 10));
const ADMIN_REQUESTS = Number(env.BENCH_REQUESTS ?? 300);
const SSO_SESSIONS = Number(env.BENCH_SSO_SESSIONS ?? 200);
/** Single-use login forms fetched beforehand: 160 logins/s (performance.md (e)) × 13 s, with room. */
const LOGIN_FORMS = Number(env.BENCH_LOGIN_FORMS ?? 3000);
/** Sessions per cleaner batch; unset: the product's default. */
const CLEANER_BATCH = env.BENCH_CLEANER_BATCH;
const CLEAN_TIMEOUT = Number(env.BENCH_CLEAN_TIMEOUT ?? 300);
/**
 * Validation load while the cleaner runs, as a share of the /p3/serviceValidate rate measured
 * before: 0.5 is T26's soak level, a box with room to spare as a production one has; `max` is
 * closed-loop saturation, where any extra work shows as queueing in the p99.
 */
const CLEAN_LOAD = env.BENCH_CLEAN_LOAD ?? '0.5';
/** Single-connection load streams per node for a rate-limited load, started evenly through a second. */
const CLEAN_STREAMS = 10;
const ARGON2 = { ARGON2_MEMORY_KIB: env.ARGON2_MEMORY_KIB ?? '19456', ARGON2_TIME_COST: env.ARGON2_TIME_COST ?? '2', ARGON2_PARALLELISM: env.ARGON2_PARALLELISM ?? '1' };
const UA = 'cas-bench/1.0';
const ROOT = resolve(__dirname, '../..');
const ADMIN_SECRET = randomBytes(24).toString('base64url');
const TGC_KEYS = { CAS_TGC_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), CAS_TGC_CRYPTO_SIGNING_KEY: randomBytes(64).toString('base64url') };
const ATTRS = JSON.stringify({ mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'] });

/** pg_stat_statements on the embedded cluster: the top statements of each measured run. */
let pgss: Client | null = null;
async function resetStatements(): Promise<void> {
  await pgss?.query('SELECT pg_stat_statements_reset()');
}
async function topStatements(label: string, n = 5): Promise<void> {
  if (!pgss) return;
  const { rows } = await pgss.query(
    `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, mean_plan_time AS plan, toplevel, regexp_replace(query, '\\s+', ' ', 'g') AS q
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
      ORDER BY total_exec_time DESC LIMIT $1`,
    [n],
  );
  const all = Number((await pgss.query(`SELECT sum(total_exec_time) FILTER (WHERE toplevel) AS t FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'`)).rows[0].t);
  console.log(`#   pg_stat_statements, ${label}: top statements by execution time (top-level total ${f0(all)} ms; nested ones, e.g. FK cascades, also count inside their parent)`);
  for (const r of rows) {
    console.log(`#     ${f0(Number(r.total)).padStart(7)} ms ${((Number(r.total) / all) * 100).toFixed(0).padStart(3)}%  ${f0(Number(r.calls)).padStart(8)} calls  ${Number(r.mean).toFixed(3)} ms each${r.toplevel ? ` + ${Number(r.plan).toFixed(3)} ms planning` : ' (nested)'}  ${String(r.q).slice(0, 110)}`);
  }
}

function log(line: string): void {
  console.log(`# ${new Date().toISOString().slice(11, 19)} [load ${load()}] ${line}`);
}

interface LoadResult {
  label: string;
  rps: number;
  ok: number;
  bad: number;
  errors: number;
  p50: number;
  p99: number;
  cpu: CpuSplit;
  rssMaxMb?: number;
  /** The measured run on the monotonic clock (µs), to cut a CPU profile to it. */
  window: [number, number];
}

function describe(r: LoadResult): string {
  const n = r.ok || 1;
  const perReq = (x: number) => ((x / n) * 1000).toFixed(3);
  return (
    `${r.label}: ${r.rps.toFixed(0)}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.bad + r.errors} failed; ` +
    `CPU per request Node ${perReq(r.cpu.nodeCpu)} ms, PG ${Number.isNaN(r.cpu.pgCpu) ? 'n/a' : perReq(r.cpu.pgCpu)} ms; ` +
    `cores Node ${r.cpu.nodeCores.toFixed(2)}, PG ${r.cpu.pgCores.toFixed(2)}, load generator ${r.cpu.loadGenCores.toFixed(2)}, other processes ${r.cpu.otherCores.toFixed(2)}` +
    (r.rssMaxMb ? `; RSS max ${r.rssMaxMb.toFixed(0)} MB` : '')
  );
}

/**
 * Warm-up then the measured run, 50 connections. `request` may rotate paths, headers and bodies
 * (setupRequest); `good` judges a response (status, body, headers).
 */
async function measure(
  label: string,
  url: string,
  request: autocannon.Request,
  good: (status: number, body: string, headers: Record<string, string>) => boolean,
  pids: number[],
  postmasterPid: number | null,
  rssPid?: number,
): Promise<LoadResult> {
  let ok = 0;
  let bad = 0;
  const req: autocannon.Request = {
    ...request,
    onResponse: (status, body, _ctx, headers) => (good(status, body, (headers ?? {}) as Record<string, string>) ? ok++ : bad++),
  };
  const base = { url, connections: CONNECTIONS, headers: { 'user-agent': UA }, requests: [req] };
  await cannon({ ...base, duration: WARMUP });
  ok = bad = 0;
  let rssMax = 0;
  const rssTimer = rssPid ? setInterval(() => (rssMax = Math.max(rssMax, rssMb(rssPid))), 250) : undefined;
  const meter = new CpuMeter(pids, postmasterPid);
  await resetStatements();
  meter.start();
  const w0 = Number(process.hrtime.bigint() / 1000n);
  const r = await cannon({ ...base, duration: DURATION });
  const w1 = Number(process.hrtime.bigint() / 1000n);
  const cpu = meter.stop();
  clearInterval(rssTimer);
  if (rssPid) rssMax = Math.max(rssMax, rssMb(rssPid));
  const result: LoadResult = {
    label, rps: ok / r.duration, ok, bad, errors: r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99, cpu, rssMaxMb: rssPid ? rssMax : undefined, window: [w0, w1],
  };
  log(describe(result));
  await topStatements(label);
  return result;
}

/** A tiny server of bench/servers.ts as a child process. */
async function tinyServer(mode: string, url: string): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void> }> {
  const child = fork(join(__dirname, 'servers.js'), [mode, url], { env: { ...process.env, ...ARGON2 }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((ok, ko) => {
    child.once('message', (m: { port: number }) => ok(m.port));
    child.once('exit', (code) => ko(new Error(`${mode} server exited with ${code}`)));
  });
  return {
    child,
    port,
    stop: async () => {
      child.send('stop');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

interface Node {
  name: string;
  proc: ChildProcess;
  pid: number;
  base: string;
  readyMs: number;
  logFile: string;
  stop(): Promise<void>;
}

/** The real server, `node dist/src/main.js`, as a child process; resolves at its first 200 on /cas/login. */
async function startNode(name: string, dir: string, extra: Record<string, string>, nodeFlags: string[] = []): Promise<Node> {
  const port = await freePort();
  const logFile = join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(childEnv)) if (/^(CAS_|AUTHN_|ARGON2_|TICKET_|DATABASE_URL|PORT$|LOG_LEVEL)/.test(k)) delete childEnv[k];
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...nodeFlags, join(ROOT, 'dist/src/main.js')], {
    env: {
      ...childEnv,
      PORT: String(port),
      CAS_SERVER_PREFIX: `http://127.0.0.1:${port}/cas`,
      CAS_DATA_DIR: join(dir, `data-${name}`),
      CAS_SERVICE_REGISTRY_JSON_LOCATION: join(dir, 'services'),
      CAS_ADMIN_TOKENS: `bench:${ADMIN_SECRET}`,
      // DATABASE_URL is set, so this is no development server: the demo user is named explicitly.
      CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      AUTHN_THROTTLE_ENABLED: 'false', // every request comes from 127.0.0.1
      CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS: '300', // pre-issued STs must outlive warm-up and run
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false',
      LOG_LEVEL: 'log',
      ...TGC_KEYS,
      ...ARGON2,
      ...extra,
    },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited = false;
  proc.once('exit', () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to answer /cas/login`, async () => {
    if (exited) throw new GiveUp(`${name} exited; its log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    const res = await fetch(`${base}/cas/login`);
    await res.arrayBuffer();
    return res.status === 200;
  }, 120_000, 10);
  const readyMs = performance.now() - t0;
  return {
    name, proc, pid: proc.pid!, base, readyMs, logFile,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

function cookiesOf(res: Response): string[] {
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !c.endsWith('='));
}

/** GET the login form as a browser: its cookies (CASLOGIN) and the single-use execution token. */
async function loginForm(base: string, service: string): Promise<{ cookie: string; execution: string }> {
  const res = await fetch(`${base}/cas/login?service=${encodeURIComponent(service)}`, { headers: { 'user-agent': UA } });
  const html = await res.text();
  const execution = /name="execution" value="([^"]+)"/.exec(html)?.[1];
  if (!execution) throw new Error(`no execution token (HTTP ${res.status})`);
  return { cookie: cookiesOf(res).join('; '), execution };
}

/** A real browser login (form + POST); returns the TGC cookie pair. */
async function browserLogin(base: string, service: string): Promise<string> {
  const f = await loginForm(base, service);
  const res = await fetch(`${base}/cas/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie, 'user-agent': UA },
    body: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution: f.execution, _eventId: 'submit' }).toString(),
  });
  await res.arrayBuffer();
  const tgc = cookiesOf(res).find((c) => c.startsWith('TGC='));
  if (res.status !== 302 || !tgc) throw new Error(`login failed: HTTP ${res.status}`);
  return tgc;
}

async function parallel<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

/**
 * STs issued beforehand by SQL, row for row what TicketRegistry.createSession/grantServiceTicket
 * write (ids from the app's own generator, a session_services row per ST), under `sessions` TGTs.
 */
async function seedServiceTickets(sql: Client, service: string, count: number, sessions: number): Promise<string[]> {
  const tgts = Array.from({ length: sessions }, () => newTicketId('TGT'));
  await sql.query(
    `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at,
                          idle_timeout_seconds, use_count, remember_me, attributes)
     SELECT id, 'TGT', id, 'casuser', 'casuser', now(), now(), now() + interval '2 hours', now() + interval '8 hours', 7200, $2, false, $3::jsonb
       FROM unnest($1::varchar[]) id`,
    [tgts, Math.ceil(count / sessions), ATTRS],
  );
  const sts: string[] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(20_000, count - done);
    const ids = Array.from({ length: n }, () => newTicketId('ST'));
    const parents = ids.map((_, i) => tgts[(done + i) % sessions]);
    await sql.query(
      `WITH st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses)
         SELECT s.id, 'ST', s.tgt, s.tgt, 'casuser', $3, 1, now(), now(), now() + interval '300 seconds', false, 1
           FROM unnest($1::varchar[], $2::varchar[]) s(id, tgt)
         RETURNING id, session_id
       )
       INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
       SELECT session_id, id, $3, 1, now() FROM st`,
      [ids, parents, service],
    );
    sts.push(...ids);
    done += n;
  }
  return sts;
}

/** /p3/serviceValidate requests, each with the next fresh ST of the pool. */
function validationRequest(pool: string[], service: string, cursor: { next: number }): autocannon.Request {
  const prefix = `/cas/p3/serviceValidate?service=${encodeURIComponent(service)}&ticket=`;
  return {
    method: 'GET',
    setupRequest: (r) => ({ ...r, path: prefix + pool[cursor.next++ % pool.length] }),
  };
}
const validated = (status: number, body: string) => status === 200 && body.includes('<cas:authenticationSuccess>');

/**
 * Seeds `expired` tickets (TGTs, 4 STs each, a session_services row per ST, all past their idle
 * limit) and `live` ones the same way, by SQL in the shape the app writes (ids are md5-based: same
 * length and alphabet subset as the app's). FK triggers are skipped for the seed (the rows are
 * consistent by construction); live ids are remembered in bench_live_ids.
 */
async function seedBulk(sql: Client, service: string, expired: number, live: number): Promise<void> {
  await sql.query(`SET session_replication_role = replica`);
  await sql.query(`CREATE TABLE bench_live_ids (id varchar(256) PRIMARY KEY)`);
  // Secondary indexes are dropped for the bulk insert and rebuilt from their own definitions
  // after it (about twice as fast); primary keys stay.
  const { rows: indexes } = await sql.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'session_services') AND indexname NOT LIKE 'pk\\_%'`,
  );
  for (const i of indexes) await sql.query(`DROP INDEX ${i.indexname}`);
  for (const [kind, tickets] of [['x', expired], ['L', live]] as const) {
    const sessions = Math.round(tickets / 5);
    const tgt = (g: string) => `'TGT-' || md5('${kind}' || ${g}) || substr(md5('${kind}t' || ${g}), 1, 16)`;
    // Expired: idle for 3 h (idle limit 2 h); live: used just now.
    const lastUsed = kind === 'x' ? `now() - interval '3 hours' - (g % 3600) * interval '1 second'` : `now() - (g % 600) * interval '1 second'`;
    const stExpires = kind === 'x' ? `created + interval '10 seconds'` : `now() + interval '1 hour'`;
    await sql.query(`
      INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at,
                           idle_timeout_seconds, use_count, remember_me, attributes)
      SELECT ${tgt('g')}, 'TGT', ${tgt('g')}, 'user' || (g % 10000), 'user' || (g % 10000), lu - interval '1 hour', lu,
             LEAST(lu - interval '1 hour' + interval '8 hours', lu + interval '2 hours'), lu - interval '1 hour' + interval '8 hours',
             7200, 4, false, $1::jsonb
        FROM generate_series(1, ${sessions}) g, LATERAL (SELECT ${lastUsed} AS lu) t`, [ATTRS]);
    await sql.query(`
      WITH st AS (
        INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                             created_at, last_used_at, expires_at, from_new_login, max_uses)
        SELECT 'ST-' || md5('${kind}s' || g || '-' || k), 'ST', ${tgt('g')}, ${tgt('g')}, 'user' || (g % 10000), $1, 1,
               created, created, ${stExpires}, k = 0, 1
          FROM generate_series(1, ${sessions}) g, generate_series(0, 3) k,
               LATERAL (SELECT ${lastUsed} - (3 - k) * interval '10 minutes' AS created) t
        RETURNING id, session_id, created_at
      )
      INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
      SELECT session_id, id, $1, 1, created_at FROM st`, [service]);
    if (kind === 'L') {
      await sql.query(`INSERT INTO bench_live_ids SELECT ${tgt('g')} FROM generate_series(1, ${sessions}) g`);
      await sql.query(`INSERT INTO bench_live_ids SELECT 'ST-' || md5('Ls' || g || '-' || k) FROM generate_series(1, ${sessions}) g, generate_series(0, 3) k`);
    }
  }
  for (const i of indexes) await sql.query(i.indexdef);
  await sql.query(`SET session_replication_role = origin`);
}

async function timeRequests(label: string, n: number, urlFor: (i: number) => string): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  await resetStatements();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(urlFor(i), { headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const r = { p50: pct(times, 50), p99: pct(times, 99) };
  log(`admin listing, ${label}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${n} sequential requests)`);
  await topStatements(`admin listing, ${label}`, 3);
  return r;
}

/** A performance.now() time on process.hrtime's clock, in µs (the clock V8 stamps profile samples with). */
const hrMicros = (perfNow: number) => Number(process.hrtime.bigint() / 1000n) - Math.round((performance.now() - perfNow) * 1000);

/** Self time of a .cpuprofile by where the code lives (package, app, Node core, GC, native). */
function summariseProfile(profDir: string, window: [number, number], label = 'the server during /p3/serviceValidate', byFunction = false): void {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return log('no CPU profile written');
  const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  // V8 stamps samples on the same monotonic clock as process.hrtime: keep the measured run only
  // (not module loading at boot, nor warm-up).
  let t = prof.startTime;
  const inWindow = prof.timeDeltas.map((d) => ((t += d), t >= window[0] && t <= window[1]));
  const cut = inWindow.some(Boolean);
  const where = new Map<number, string>();
  for (const n of prof.nodes) {
    const { url, functionName } = n.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const place = pkg ?? (url.includes('/dist/src/') ? 'app (dist/src)' : url.startsWith('node:') ? 'node core (JS)' : url ? url : functionName || '(native)');
    where.set(n.id, byFunction && url ? `${place}: ${functionName || '(anonymous)'} ${url.split('/').pop()}` : place);
  }
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    if (cut && !inWindow[i]) return;
    const k = where.get(id) ?? '?';
    self.set(k, (self.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const busy = [...self].filter(([k]) => k !== '(idle)').reduce((t, [, v]) => t + v, 0);
  console.log(`#   node --cpu-prof of ${label}: self time by ${byFunction ? 'function' : 'location'} (${f0(busy / 1000)} ms busy; idle excluded; ${cut ? 'measured run only' : 'whole process life: clocks did not match'})`);
  for (const [k, v] of [...self].filter(([k2]) => k2 !== '(idle)').sort((x, y) => y[1] - x[1]).slice(0, byFunction ? 25 : 12)) {
    console.log(`#     ${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
}

/** EXPLAIN ANALYZE in a transaction that is rolled back: the plan and where its time goes. */
async function explain(sql: Client, label: string, text: string, params: unknown[], filter = /./): Promise<void> {
  await sql.query('BEGIN');
  try {
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
    console.log(`#   EXPLAIN ANALYZE, ${label}:`);
    for (const r of rows) {
      const line = String(r['QUERY PLAN']);
      if (filter.test(line)) console.log(`#     ${line}`);
    }
  } finally {
    await sql.query('ROLLBACK');
  }
}

/** One cleaner batch, EXPLAINed statement by statement in a transaction that is rolled back. */
async function explainCleanerBatch(sql: Client, sessions: number): Promise<void> {
  await sql.query('BEGIN');
  try {
    await sql.query('SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
    const ids = (await sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND expires_at <= now() ORDER BY expires_at LIMIT $1`, [sessions])).rows.map((r) => r.id as string);
    for (const [label, text, params] of [
      ['claim and delete the TGTs', CLAIM_EXPIRED_SESSIONS_SQL, [new Date(), sessions]],
      ["delete the sessions' tickets and service records", REMOVE_SESSION_ROWS_SQL, [ids]],
    ] as const) {
      const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, [...params]);
      console.log(`#   EXPLAIN ANALYZE, cleaner batch of ${sessions} sessions, ${label} (rolled back):`);
      for (const r of rows) console.log(`#     ${String(r['QUERY PLAN'])}`);
    }
  } finally {
    await sql.query('ROLLBACK');
  }
}

/**
 * The cleaner's ceiling on this box (performance.md (g)): two loops at once, each deleting
 * batches of expired rows from a copy of the seeded tickets with
 * `DELETE … WHERE id IN (SELECT … LIMIT 5000 FOR UPDATE SKIP LOCKED)`, and nothing else:
 * no sessions ended, no logout requests, no validation load.
 */
async function cleanerCeiling(sql: Client, url: string): Promise<{ rows: number; seconds: number }> {
  await sql.query('CREATE TABLE bench_clean (LIKE tickets INCLUDING DEFAULTS INCLUDING INDEXES)');
  try {
    await sql.query('INSERT INTO bench_clean SELECT * FROM tickets');
    await sql.query('VACUUM ANALYZE bench_clean');
    await sql.query('CHECKPOINT');
    const loops = [0, 1].map(async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      let rows = 0;
      try {
        for (let n = 5000; n === 5000; rows += n) {
          n = (await c.query(`DELETE FROM bench_clean WHERE id IN (SELECT id FROM bench_clean WHERE expires_at <= now() LIMIT 5000 FOR UPDATE SKIP LOCKED)`)).rowCount ?? 0;
        }
      } finally {
        await c.end();
      }
      return rows;
    });
    const t0 = performance.now();
    const rows = (await Promise.all(loops)).reduce((x, y) => x + y, 0);
    return { rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await sql.query('DROP TABLE bench_clean');
    await sql.query('CHECKPOINT');
  }
}

type Verdict = 'PASS' | 'MISS';
interface Row {
  figure: string;
  raw: string;
  ratio: string;
  goal: string;
  verdict: Verdict;
}
const rows: Row[] = [];
const goal = (figure: string, raw: string, ratio: string, target: string, pass: boolean) =>
  rows.push({ figure, raw, ratio, goal: target, verdict: pass ? 'PASS' : 'MISS' });

function table(): string {
  const head = ['figure', 'measured', 'ratio / reference', 'goal', ''];
  const body = rows.map((r) => [r.figure, r.raw, r.ratio, r.goal, r.verdict]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const f0 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const f1 = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'cas-bench-'));
  chmodSync(dir, 0o755);
  const loadAtStart = load();
  console.log(`npm run bench — ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}; load average at start ${loadAtStart}`);
  console.log(`settings: ${DURATION} s runs after ${WARMUP} s warm-up, ${CONNECTIONS} connections, ${f0(TICKETS)} expired + ${f0(LIVE_TICKETS)} live tickets, argon2id m=${ARGON2.ARGON2_MEMORY_KIB} KiB t=${ARGON2.ARGON2_TIME_COST} p=${ARGON2.ARGON2_PARALLELISM}`);

  // 1. Postgres
  let url = env.DATABASE_URL;
  let postmasterPid: number | null = null;
  let stopCluster: (() => Promise<void>) | null = null;
  if (!url) {
    const cluster = await startEmbeddedCluster({
      databaseDir: join(dir, 'pg'),
      password: 'bench',
      persistent: false,
      // Durability as in production: fsync and synchronous_commit on (both defaults, stated anyway).
      postgresFlags: ['-c', 'shared_buffers=256MB', '-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'max_connections=200',
        '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all',
        '-c', 'pg_stat_statements.track_planning=on'],
    });
    stopCluster = cluster.stop;
    const admin = new Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE cas');
    await admin.end();
    url = cluster.adminUrl.replace(/\/postgres$/, '/cas');
    postmasterPid = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }
  const sql = new Client({ connectionString: url });
  sql.on('error', (e) => log(`bench connection lost: ${e.message}`));
  await sql.connect();
  if (postmasterPid && env.BENCH_PGSS !== '0') {
    await sql.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    pgss = sql;
  }
  const settings = (await sql.query(`SELECT version() v, current_setting('fsync') f, current_setting('synchronous_commit') s, current_setting('shared_buffers') b`)).rows[0];
  console.log(`postgres: ${String(settings.v).split(' on ')[0]}, fsync=${settings.f}, synchronous_commit=${settings.s}, shared_buffers=${settings.b}${postmasterPid ? ' (embedded)' : ' (DATABASE_URL: Postgres CPU not measured)'}`);

  const nodes: Node[] = [];
  const sink = await tinyServer('sink', '');
  const service = `http://127.0.0.1:${sink.port}/app`;
  mkdirSync(join(dir, 'services'));
  writeFileSync(join(dir, 'services', 'bench-1.json'), JSON.stringify({
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    id: 1,
    name: 'Bench application',
    serviceId: `^http://127\\.0\\.0\\.1:${sink.port}/app.*`,
    attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
  }));

  try {
    // 2. Ceilings and the product, in pairs measured back to back: the neighbours' load on this
    //    box drifts from minute to minute, and a ratio is only fair within a pair.
    await sql.query(BENCH_TABLE);
    const ceiling = async (mode: string, label: string, request: autocannon.Request, good: (s: number) => boolean) => {
      const s = await tinyServer(mode, url!);
      try {
        await sql.query('TRUNCATE bench_tickets');
        await sql.query('CHECKPOINT');
        return await measure(label, `http://127.0.0.1:${s.port}`, request, good, [s.child.pid!], postmasterPid);
      } finally {
        await s.stop();
      }
    };
    log('product: node A (node dist/src/main.js), first boot runs the migrations');
    const a = await startNode('A', dir, { DATABASE_URL: url });
    nodes.push(a);
    const firstBootMs = a.readyMs;
    const stPool = await seedServiceTickets(sql, service, Math.ceil(Math.max(20_000, 4000 * (WARMUP + DURATION) * (env.BENCH_CPU_PROF ? 2 : 1))), 1000);
    await sql.query('VACUUM ANALYZE tickets');
    // SSO sessions from real logins, and single-use login forms (execution token + CASLOGIN cookie).
    const tgcs = await parallel(SSO_SESSIONS, 10, () => browserLogin(a.base, service));
    const forms = await parallel(LOGIN_FORMS, 20, () => loginForm(a.base, service));
    log(`pairs: each ceiling (bench/servers.ts, a child process) right before the product route it bounds; ${f0(stPool.length)} STs, ${tgcs.length} SSO sessions, ${f0(forms.length)} login forms issued beforehand`);

    const c1 = await ceiling('c1', 'C1 (INSERT + SELECT by PK)', { method: 'GET', path: '/' }, (s) => s === 200);
    await sql.query('CHECKPOINT');
    const g1Cursor = { next: 0 };
    const g1 = await measure('/p3/serviceValidate', a.base, validationRequest(stPool, service, g1Cursor), validated, [a.pid], postmasterPid, a.pid);
    if (g1.ok + g1.bad > stPool.length) log(`WARNING: the ST pool (${stPool.length}) ran out; reused tickets count as failures`);

    const c2 = await ceiling('c2', 'C2 (INSERT + consume UPDATE … RETURNING)', { method: 'GET', path: '/' }, (s) => s === 200);
    await sql.query('CHECKPOINT');
    let nextTgc = 0;
    const ssoPath = `/cas/login?service=${encodeURIComponent(service)}`;
    const g2 = await measure('SSO re-entry GET /login?service= with TGC', a.base, {
      method: 'GET',
      setupRequest: (r) => ({ ...r, path: ssoPath, headers: { ...r.headers, cookie: tgcs[nextTgc++ % tgcs.length] } }),
    }, (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], postmasterPid, a.pid);

    const bare = await ceiling('login', 'bare login route (argon2id verify + INSERT TGT + INSERT ST + 302)', {
      method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }, body: 'username=casuser&password=Mellon',
    }, (s) => s === 302);
    await sql.query('DROP TABLE bench_tickets');
    await sql.query('CHECKPOINT');
    let nextForm = 0;
    const g3 = await measure('POST /login with password', a.base, {
      method: 'POST',
      path: '/cas/login',
      setupRequest: (r) => {
        const f = forms[nextForm++ % forms.length];
        return {
          ...r,
          headers: { ...r.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
          body: `username=casuser&password=Mellon&execution=${encodeURIComponent(f.execution)}&_eventId=submit`,
        };
      },
    }, (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], postmasterPid, a.pid);
    if (nextForm > forms.length) log(`WARNING: the login form pool (${forms.length}) ran out; reused execution tokens count as failures`);
    if (env.BENCH_CPU_PROF) {
      await a.stop();
      const profDir = join(dir, 'prof');
      const ap = await startNode('A-prof', dir, { DATABASE_URL: url }, ['--cpu-prof', '--cpu-prof-dir', profDir]);
      const profiled = await measure('/p3/serviceValidate under --cpu-prof (not a goal figure)', ap.base, validationRequest(stPool, service, g1Cursor), validated, [ap.pid], postmasterPid);
      await ap.stop();
      summariseProfile(profDir, profiled.window);
    }
    const rssAtLoad = Math.max(g1.rssMaxMb ?? 0, g2.rssMaxMb ?? 0, g3.rssMaxMb ?? 0);
    await a.stop();
    nodes.length = 0;

    // 4. A million tickets
    log(`seeding ${f0(TICKETS)} expired tickets (TGTs with 4 STs each) and ${f0(LIVE_TICKETS)} live ones`);
    await sql.query('TRUNCATE tickets, session_services, slo_outbox, used_login_executions, admin_audit');
    const seed0 = Date.now();
    await seedBulk(sql, service, TICKETS, LIVE_TICKETS);
    await sql.query('VACUUM ANALYZE tickets');
    await sql.query('VACUUM ANALYZE session_services');
    await sql.query('CHECKPOINT');
    const size = (await sql.query(`
      SELECT pg_total_relation_size('tickets')::bigint AS t, pg_total_relation_size('session_services')::bigint AS s,
             (SELECT count(*) FROM tickets)::int AS n,
             (SELECT count(*) FROM tickets WHERE expires_at <= now())::int AS expired`)).rows[0];
    const bytesPerRow = Number(size.t) / size.n;
    log(`seeded in ${((Date.now() - seed0) / 1000).toFixed(1)} s: ${f0(size.n)} tickets (${f0(size.expired)} expired); tickets with indexes ${f0(Number(size.t) / 1e6)} MB = ${f0(bytesPerRow)} B/row; ` +
      `with session_services ${f0((Number(size.t) + Number(size.s)) / size.n)} B/ticket`);

    log('admin listing over the seeded table (node A restarted: cold start with DATABASE_URL, schema up to date)');
    const a2 = await startNode('A2', dir, { DATABASE_URL: url });
    nodes.push(a2);
    const warmBootMs = a2.readyMs;
    const cursors = (await sql.query(`SELECT id FROM bench_live_ids WHERE id LIKE 'TGT-%' ORDER BY random() LIMIT 1000`)).rows.map((r) => r.id as string);
    const adminBase = `${a2.base}/cas/actuator/ssoSessions`;
    await timeRequests('warm-up', 50, (i) => `${adminBase}?username=user${i}`);
    const oneUser = await timeRequests("one user's sessions (?username=)", ADMIN_REQUESTS, (i) => `${adminBase}?username=user${(i * 7919) % 10000}`);
    const page50 = await timeRequests('a page of 50 at a random keyset cursor', ADMIN_REQUESTS, (i) => `${adminBase}?count=50&cursor=${cursors[i % cursors.length]}`);
    const first = await timeRequests('the first page (default 100)', ADMIN_REQUESTS, () => adminBase);
    // Walk pages by following `next`, as a client would.
    const walk: number[] = [];
    let next: string | undefined;
    for (let i = 0; i < Math.min(ADMIN_REQUESTS, 100); i++) {
      const t0 = performance.now();
      const res = await fetch(`${adminBase}?count=100${next ? `&cursor=${next}` : ''}`, { headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
      const body = (await res.json()) as { next?: string };
      walk.push(performance.now() - t0);
      next = body.next;
      if (!next) break;
    }
    walk.sort((x, y) => x - y);
    log(`admin listing, walking ${walk.length} pages of 100 via next: p50 ${pct(walk, 50).toFixed(2)} ms, p99 ${pct(walk, 99).toFixed(2)} ms`);
    const anyPageP99 = Math.max(page50.p99, first.p99, pct(walk, 99));
    await a2.stop();
    nodes.length = 0;

    if (env.BENCH_EXPLAIN !== '0') {
      await explainCleanerBatch(sql, Number(CLEANER_BATCH ?? 1000));
      await explain(sql, 'admin listing, a page of 50 at a random cursor', `SELECT t.id, t.principal, t.created_at, t.last_used_at, t.expires_at, t.hard_expires_at, t.idle_timeout_seconds,
              t.use_count, t.remember_me, t.attributes,
              COALESCE((SELECT json_agg(json_build_object('ticket_id', s.ticket_id, 'service', s.service, 'issued_at', s.issued_at) ORDER BY s.issued_at)
                          FROM session_services s WHERE s.session_id = t.id), '[]'::json) AS services
         FROM tickets t
        WHERE t.type = 'TGT' AND t.expires_at > $1 AND t.id > $2 AND ($3::text IS NULL OR t.principal_key = $3::text)
        ORDER BY t.id LIMIT $4`, [new Date(), cursors[0], null, 50]);
    }

    log('cleaner ceiling: 2 plain DELETE … LIMIT 5000 FOR UPDATE SKIP LOCKED loops on a copy of the seeded tickets, nothing else running');
    const ceil = env.BENCH_CEILING === '0' ? { rows: NaN, seconds: NaN } : await cleanerCeiling(sql, url);
    const ceilingRate = ceil.rows / ceil.seconds;
    log(`cleaner ceiling: ${f0(ceil.rows)} expired rows in ${ceil.seconds.toFixed(2)} s = ${f0(ceilingRate)} rows/s`);

    // 5. The cleaner on two nodes under validation load. Its STs are issued last: they live 300 s.
    const cleanPool = await seedServiceTickets(sql, service, Math.ceil(Math.max(30_000, 3000 * (WARMUP + DURATION + 30))), 1000);
    await sql.query('ANALYZE tickets');
    const deadlocks0 = Number((await sql.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)).rows[0].deadlocks);
    const expiredBefore = Number(size.expired);
    const startDelay = WARMUP + DURATION + 4;
    const cleanRate = CLEAN_LOAD === 'max' ? 0 : Math.max(1, Math.round((Number(CLEAN_LOAD) * g1.rps) / 2));
    const loadLabel = cleanRate ? `${f0(2 * cleanRate)} validations/s (${CLEAN_LOAD} × G1)` : 'validations closed-loop at saturation';
    log(`cleaner: nodes B and C, cleaner every 1 s from ${startDelay} s after boot, batch ${CLEANER_BATCH ?? 'default (1000)'} sessions; ${loadLabel} on both meanwhile`);
    const cleanerEnv = {
      DATABASE_URL: url,
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'true',
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: String(startDelay),
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: '1',
      ...(CLEANER_BATCH ? { TICKET_REGISTRY_CLEANER_BATCH_SIZE: CLEANER_BATCH } : {}),
      // The cleaner's own settings pass through, to measure them (e.g. TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY=false).
      ...Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TICKET_REGISTRY_CLEANER_') && e[1] !== undefined)),
    };
    // BENCH_CLEAN_PROF=1: node B runs under --cpu-prof; its profile is summarised after the clean.
    const cleanProfDir = join(dir, 'prof-clean');
    const [b, c] = await Promise.all([
      startNode('B', dir, cleanerEnv, env.BENCH_CLEAN_PROF ? ['--cpu-prof', '--cpu-prof-dir', cleanProfDir] : []),
      // BENCH_CLEAN_NODES=1: only node B cleans; C serves validations only (to tell the cleaner's
      // effect on its own node from its effect through the shared database and CPU).
      startNode('C', dir, env.BENCH_CLEAN_NODES === '1' ? { ...cleanerEnv, CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false' } : cleanerEnv),
    ]);
    nodes.push(b, c);
    const ready = performance.now();
    const samples: { t: number; ms: number; node: string }[] = [];
    let cleanOk = 0;
    let cleanBad = 0;
    const cursor = { next: 0 };
    const instances: Cannon[] = [];
    const request = { ...validationRequest(cleanPool, service, cursor), onResponse: (s: number, body: string) => (validated(s, body) ? cleanOk++ : cleanBad++) };
    const onInstance = (node: string) => (i: Cannon) => {
      instances.push(i);
      i.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => samples.push({ t: performance.now(), ms, node }));
    };
    // A rate-limited autocannon connection sends its quota back to back at the start of each of its
    // seconds, and connections made together start their seconds together: one instance with
    // overallRate is a burst at full concurrency every second. Single-connection instances started
    // evenly through the second spread the same rate out, about one request in flight per node.
    const runs = [b, c].flatMap((n) =>
      cleanRate
        ? Array.from({ length: CLEAN_STREAMS }, (_, k) =>
            sleep((k * 1000) / CLEAN_STREAMS).then(() =>
              cannon({ url: n.base, connections: 1, connectionRate: Math.max(1, Math.round(cleanRate / CLEAN_STREAMS)), duration: CLEAN_TIMEOUT, headers: { 'user-agent': UA }, requests: [request] }, onInstance(n.name)),
            ),
          )
        : [cannon({ url: n.base, connections: Math.ceil(CONNECTIONS / 2), duration: CLEAN_TIMEOUT, headers: { 'user-agent': UA }, requests: [request] }, onInstance(n.name))],
    );
    let cleanStart = 0;
    let cleanEnd = 0;
    let rssMax = 0;
    const meter = new CpuMeter([b.pid, c.pid], postmasterPid);
    const deadline = ready + CLEAN_TIMEOUT * 1000;
    while (performance.now() < deadline) {
      rssMax = Math.max(rssMax, rssMb(b.pid), rssMb(c.pid));
      if (!cleanStart) {
        const { rows: act } = await sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND (query LIKE '%WITH victims AS%' OR query LIKE '%INSERT INTO slo_outbox%')`,
        );
        if (act[0].n > 0) {
          cleanStart = performance.now();
          meter.start();
          await resetStatements();
          log('cleaner started');
        }
      } else {
        const { rows: left } = await sql.query(`SELECT EXISTS (SELECT 1 FROM tickets WHERE expires_at <= now()) AS e`);
        if (!left[0].e) {
          cleanEnd = performance.now();
          break;
        }
      }
      await sleep(cleanStart ? 100 : 50);
    }
    const cleanCpu = cleanStart ? meter.stop() : null;
    if (cleanEnd) await topStatements('while cleaning (validations on 2 nodes + both cleaners)', 8);
    await sleep(1000);
    instances.forEach((i) => i.stop());
    await Promise.all(runs);
    if (!cleanEnd) log(`WARNING: expired rows still left after ${CLEAN_TIMEOUT} s`);
    const cleanSeconds = cleanEnd && cleanStart ? (cleanEnd - cleanStart) / 1000 : NaN;
    const rowsPerSecond = expiredBefore / cleanSeconds;
    const window = (from: number, to: number, node?: string) =>
      samples.filter((s) => s.t >= from && s.t < to && (!node || s.node === node)).map((s) => s.ms).sort((x, y) => x - y);
    const baseline = window(ready + WARMUP * 1000, cleanStart || deadline);
    const during = window(cleanStart || deadline, cleanEnd || deadline);
    const baseP99 = Math.round(pct(baseline, 99) * 10) / 10;
    const duringP99 = Math.round(pct(during, 99) * 10) / 10;
    log(`cleaner: ${f0(expiredBefore)} expired rows gone in ${cleanSeconds.toFixed(2)} s = ${f0(rowsPerSecond)} rows/s; ` +
      `validation p99 ${duringP99} ms during (${during.length} requests) vs ${baseP99} ms before (${baseline.length} requests, same 2 nodes, ${f0(size.n + cleanPool.length)} tickets); ` +
      `${cleanBad} failed validations of ${cleanOk + cleanBad}` + (cleanCpu ? `; while cleaning: cores Node ${cleanCpu.nodeCores.toFixed(2)}, PG ${cleanCpu.pgCores.toFixed(2)}, load generator ${cleanCpu.loadGenCores.toFixed(2)}, other processes ${cleanCpu.otherCores.toFixed(2)}` : ''));
    for (const n of [b, c]) {
      const p99 = (xs: number[]) => (Math.round(pct(xs, 99) * 10) / 10).toString();
      log(`  node ${n.name}${env.BENCH_CLEAN_NODES === '1' && n === c ? ' (not cleaning)' : ''}: validation p99 ${p99(window(cleanStart || deadline, cleanEnd || deadline, n.name))} ms during vs ${p99(window(ready + WARMUP * 1000, cleanStart || deadline, n.name))} ms before`);
    }
    if (baseline.length < 1000) log('WARNING: short baseline window (the machine is slow or the cleaner started early)');
    if (cursor.next > cleanPool.length) log(`WARNING: the ST pool (${cleanPool.length}) ran out during the clean; reused tickets count as failures`);

    // Give the runs under way on both nodes a moment to finish, then count.
    await sleep(1500);
    const deadlocks = Number((await sql.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)).rows[0].deadlocks) - deadlocks0;
    const nodeLogs = [b, c].map((n) => readFileSync(n.logFile, 'utf8'));
    const deadlockLines = nodeLogs.reduce((s, l) => s + (l.match(/40P01|deadlock/gi)?.length ?? 0), 0);
    const errorLines = nodeLogs.reduce((s, l) => s + (l.match(/cleaning stopped early/g)?.length ?? 0), 0);
    const perNode = nodeLogs.map((l) => [...l.matchAll(/(\d+) expired session\(s\), (\d+) expired service ticket\(s\) and \d+ finished logout request\(s\) removed/g)].reduce((s, m) => s + Number(m[1]), 0));
    const liveDeleted = Number((await sql.query(`SELECT count(*)::int AS n FROM bench_live_ids l WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = l.id)`)).rows[0].n);
    const expiredLeft = Number((await sql.query(`SELECT count(*)::int AS n FROM tickets WHERE expires_at <= now()`)).rows[0].n);
    const outbox = (await sql.query(`
      SELECT count(*)::int AS total, count(DISTINCT session_id)::int AS sessions,
             (SELECT count(*)::int FROM (SELECT 1 FROM slo_outbox GROUP BY session_id, service HAVING count(*) > 1) d) AS duplicated
        FROM slo_outbox WHERE reason = 'EXPIRED'`)).rows[0];
    const expiredSessions = Math.round(TICKETS / 5);
    const sinkStats = (await (await fetch(`http://127.0.0.1:${sink.port}/stats`)).json()) as { received: number; distinct: number; duplicates: number };
    log(`cleaner: sessions ended per node ${perNode.map(f0).join(' + ')} = ${f0(perNode.reduce((x, y) => x + y, 0))} (expected ${f0(expiredSessions)}); ` +
      `deadlocks ${deadlocks} (pg_stat_database), ${deadlockLines} deadlock lines and ${errorLines} "stopped early" in node logs; live rows deleted ${liveDeleted}; expired rows left ${expiredLeft}; ` +
      `outbox: ${f0(outbox.total)} EXPIRED logout requests for ${f0(outbox.sessions)} sessions, ${outbox.duplicated} duplicated (session, service); ` +
      `delivered so far ${f0(sinkStats.received)} (${sinkStats.duplicates} SessionIndex received twice); RSS max ${rssMax.toFixed(0)} MB`);
    await Promise.all(nodes.map((n) => n.stop()));
    nodes.length = 0;
    if (env.BENCH_CLEAN_PROF && cleanStart && cleanEnd) summariseProfile(cleanProfDir, [hrMicros(cleanStart), hrMicros(cleanEnd)], 'node B while cleaning', true);

    // 6. Cold start: main.ts with its own embedded Postgres, the cluster already initialised
    log('cold start: node dist/src/main.js with its embedded Postgres (initialised by a first run, not timed)');
    const coldDir = join(dir, 'cold');
    const init = await startNode('cold-init', dir, { CAS_DATA_DIR: coldDir });
    await init.stop();
    const cold = await startNode('cold', dir, { CAS_DATA_DIR: coldDir });
    await cold.stop();
    const coldLog = readFileSync(cold.logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    const bootMs = Number(/ready at \S+ \(port \d+\) in (\d+) ms/.exec(coldLog)?.[1] ?? NaN);
    log(`cold start to first 200 on /cas/login: ${f0(cold.readyMs)} ms (embedded Postgres initialised): ` +
      `${f0(bootMs)} ms in bootstrap() (embedded Postgres start, Nest init, migrations check), the rest Node start and module loading; with DATABASE_URL ${f0(warmBootMs)} ms; first boot with migrations ${f0(firstBootMs)} ms`);

    // 7. The goals table
    const c1r = c1.rps;
    const others = (x: LoadResult, y: LoadResult) => `; others ${x.cpu.otherCores.toFixed(1)}/${y.cpu.otherCores.toFixed(1)} cores`;
    goal('/p3/serviceValidate (ST issued beforehand by SQL), 50 conns', `${f0(g1.rps)}/s, p99 ${g1.p99} ms, ${g1.bad + g1.errors} errors`,
      `${(g1.rps / c1r).toFixed(2)} × C1 (${f0(c1r)}/s)${others(c1, g1)}`, '≥ 0.5 × C1, p99 ≤ 50 ms, 0 errors', g1.rps >= 0.5 * c1r && g1.p99 <= 50 && g1.bad + g1.errors === 0);
    goal('SSO re-entry GET /login?service= + TGC → 302 + ST', `${f0(g2.rps)}/s, p99 ${g2.p99} ms, ${g2.bad + g2.errors} errors`,
      `${(g2.rps / c2.rps).toFixed(2)} × C2 (${f0(c2.rps)}/s)${others(c2, g2)}`, '≥ 0.5 × C2, p99 ≤ 50 ms', g2.rps >= 0.5 * c2.rps && g2.p99 <= 50);
    goal('POST /login with password → TGT + ST + 302', `${f1(g3.rps)}/s, p99 ${g3.p99} ms, ${g3.bad + g3.errors} errors`,
      `${(g3.rps / bare.rps).toFixed(2)} × bare route (${f1(bare.rps)}/s)${others(bare, g3)}`, '≥ 0.8 × bare login route', g3.rps >= 0.8 * bare.rps);
    goal(`admin: one user's sessions (${f0(size.n)} tickets)`, `p50 ${oneUser.p50.toFixed(2)} ms, p99 ${oneUser.p99.toFixed(2)} ms`, '—', '≤ 5 ms p99', oneUser.p99 <= 5);
    goal('admin: any page (keyset cursor, no OFFSET)', `p50 ${page50.p50.toFixed(2)} ms, p99 ${anyPageP99.toFixed(2)} ms`, '—', '≤ 20 ms p99', anyPageP99 <= 20);
    goal(`cleaner, 2 nodes, ${f0(expiredBefore)} expired rows`, `${f0(rowsPerSecond)} rows/s (${cleanSeconds.toFixed(2)} s)`,
      `${(rowsPerSecond / ceilingRate).toFixed(2)} × plain DELETE (${f0(ceilingRate)}/s)`, '≥ 100k rows/s', rowsPerSecond >= 100_000);
    goal('validation p99 while cleaning', `${duringP99} ms vs ${baseP99} ms before`, `${(duringP99 / baseP99).toFixed(2)} × baseline, ${cleanRate ? `${f0(2 * cleanRate)}/s` : 'max load'}`,
      '≤ 2 × baseline', duringP99 <= 2 * baseP99);
    goal('cleaner: deadlocks / live rows deleted', `${deadlocks + deadlockLines} / ${liveDeleted}`, `of ${f0(LIVE_TICKETS)} live`, '0 / 0', deadlocks + deadlockLines === 0 && liveDeleted === 0);
    goal('cleaner: expired left / duplicate logout msgs', `${expiredLeft} / ${outbox.duplicated}`, `${f0(outbox.sessions)} of ${f0(expiredSessions)} sessions queued`, '0 / 0 (one per session)', expiredLeft === 0 && outbox.duplicated === 0 && outbox.sessions === expiredSessions);
    goal('Node RSS at load (one server process)', `${f0(rssAtLoad)} MB (cleaning: ${f0(rssMax)} MB)`, '—', '≤ 200 MB', rssAtLoad <= 200 && rssMax <= 200);
    goal('bytes per ticket row with indexes', `${f0(bytesPerRow)} B`, `${f0(size.n)} rows`, '≤ 600 B', bytesPerRow <= 600);
    goal('cold start to first 200 (embedded PG initialised)', `${(cold.readyMs / 1000).toFixed(2)} s`, `DATABASE_URL: ${(warmBootMs / 1000).toFixed(2)} s`, '≤ 3 s', cold.readyMs <= 3000);

    console.log('\nCeilings and product, in pairs (CPU per request from /proc: server process vs all Postgres processes; "other processes" is everyone else on the box):\n');
    for (const r of [c1, g1, c2, g2, bare, g3]) console.log(`  ${describe(r)}`);
    console.log(`\nGoals (performance.md, last table), ${new Date().toISOString()}, load average at start ${loadAtStart}, at end ${load()}, ${((Date.now() - started) / 60000).toFixed(1)} min:\n`);
    console.log(table());
    console.log(`\n${rows.filter((r) => r.verdict === 'PASS').length} PASS, ${rows.filter((r) => r.verdict === 'MISS').length} MISS`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await sink.stop().catch(() => undefined);
    await sql.end().catch(() => undefined);
    if (stopCluster) await stopCluster().catch(() => undefined);
    if (!env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

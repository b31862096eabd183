/**
 * The cleaner on two nodes (B and C) under validation load: how fast the expired rows go, what
 * it does to the validations' p99 meanwhile, and whether it stayed correct (no deadlock, no live
 * row deleted, every expired session's logout queued once).
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import type { BenchContext } from '../context';
import { hrMicros, summariseProfile } from '../cpu-profile';
import { explainDeliveryClaim } from '../explain';
import { cannon, Cannon, CpuMeter, CpuSplit, f0, log, pct, rssMb, sleep } from '../lib';
import { Node, startNode } from '../nodes';
import { LIVE_IDS_TABLE, seedServiceTickets } from '../seed';
import { settings, UA } from '../settings';
import { resetStatements, topStatements } from '../statements';
import type { TableSize } from './tickets';
import { validated, validationRequest } from './validation';
import { measuredCeiling, pacedSameWork, sameWorkCopies } from './cleaner-ceiling';
import { IoMeter } from './cleaner-io';

export interface CleanerFigures {
  expiredBefore: number;
  cleanSeconds: number;
  rowsPerSecond: number;
  /** Validations per second on both nodes together; 0: closed loop at saturation. */
  loadRate: number;
  baseP99: number;
  duringP99: number;
  deadlocks: number;
  liveDeleted: number;
  expiredLeft: number;
  /** Sessions with EXPIRED logout requests queued, and (session, service) pairs queued twice. */
  queuedSessions: number;
  duplicated: number;
  expiredSessions: number;
  /** Max RSS of either node from the clean's start until its logout requests were delivered (or the timeout). */
  rssMaxMb: number;
  /** EXPIRED logout requests queued, delivered to the sink, and when the last was (seconds after the clean began). */
  queuedRequests: number;
  delivered: number;
  deliverySeconds: number;
  /** BENCH_CLEAN_CEILING_UNDER_LOAD=1: the same-work SQL paced to a share of its own speed under the same load, before the cleaner. */
  ceilingUnderLoad?: { share: number; rowsPerSecond: number; ofFullSpeed: number; p99: number; requests: number };
}

/** BENCH_CLEAN_NODE_FLAGS: extra node flags for node B, space-separated (e.g. `--expose-gc`: heap used after a full GC in its memory lines, and a probe halfway through the delivery). */
const cleanNodeFlags = (process.env.BENCH_CLEAN_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/**
 * BENCH_CLEAN_CEILING_UNDER_LOAD=1: before the cleaner starts, the same-work ceiling's SQL runs on
 * copies of the seeded tables (made before the nodes start), its two loops paced together to
 * BENCH_CLEAN_CEILING_SHARE (0.5) × the speed the ceiling step measured alone, under the same
 * validation load; the validations' p99 meanwhile is the bound for any cleaner doing that work at
 * that rate on this box. Costs the copies (about 20 s at 1M) and the run (about 2 × the ceiling's).
 * First measured (1M expired rows, batch 1000, 1,000 validations/s, other processes 0.05 cores):
 * the bare SQL at 0.49 × its speed alone took the validations' p99 from 5.4 to 60.3 ms (11.2 ×),
 * every second of it at 11 to 100 ms, the validations waiting on LWLock:WALWrite and IO:WalSync.
 * Batches of 100 (200k rows) did no better: 0.41 × its speed, 52 to 64 ms in every second.
 */
const ceilingUnderLoad = process.env.BENCH_CLEAN_CEILING_UNDER_LOAD === '1';
const ceilingShare = Number(process.env.BENCH_CLEAN_CEILING_SHARE ?? 0.5);

const deadlockCount = async (sql: Client) =>
  Number((await sql.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)).rows[0].deadlocks);

export async function cleanerStep(ctx: BenchContext, validationRps: number, size: TableSize): Promise<CleanerFigures> {
  const { sql } = ctx;
  const { warmup, duration, cleanTimeout, cleanLoad, cleanerBatch } = settings;
  const io = new IoMeter(sql);
  await io.init();
  const fullSpeed = measuredCeiling.sameWork;
  const copies = ceilingUnderLoad && Number.isFinite(fullSpeed) ? await sameWorkCopies(sql) : null;
  if (ceilingUnderLoad && !copies) log('cleaner: BENCH_CLEAN_CEILING_UNDER_LOAD=1 needs the ceiling step (BENCH_CEILING unset): not run');
  // The paced ceiling's window: its expected time at the share, with room for the load slowing it; it stops at the window's end.
  const ceilingBudget = copies ? Math.ceil((size.expired / (ceilingShare * fullSpeed)) * 1.5) + 3 : 0;
  const startDelay = warmup + duration + 4 + ceilingBudget;
  const cleanRate = cleanLoad === 'max' ? 0 : Math.max(1, Math.round((Number(cleanLoad) * validationRps) / 2));
  // Its STs are issued last: they live 300 s. Enough for the rate-limited load on both nodes until
  // the timeout (the old 3,000 × 43 ran out 110 s into a clean, and the reused ones were refused).
  const poolSize = Math.ceil(Math.max(30_000, 3000 * (warmup + duration + 30), 2 * cleanRate * (startDelay + cleanTimeout)));
  const cleanPool = await seedServiceTickets(sql, ctx.service, poolSize, 1000);
  await sql.query('ANALYZE tickets');
  const deadlocks0 = await deadlockCount(sql);
  const received0 = await sinkReceived(ctx);
  const expiredBefore = size.expired;
  const loadLabel = cleanRate ? `${f0(2 * cleanRate)} validations/s (${cleanLoad} × G1)` : 'validations closed-loop at saturation';
  log(`cleaner: nodes B and C, cleaner every 1 s from ${startDelay} s after boot, batch ${cleanerBatch ?? 'default (1000)'} sessions; ${loadLabel} on both meanwhile`);
  const cleanerEnv = {
    DATABASE_URL: ctx.url,
    CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'true',
    CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: String(startDelay),
    CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: '1',
    ...(cleanerBatch ? { TICKET_REGISTRY_CLEANER_BATCH_SIZE: cleanerBatch } : {}),
    // The cleaner's own settings pass through, to measure them (e.g. TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY=false).
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('TICKET_REGISTRY_CLEANER_') && e[1] !== undefined)),
  };
  const cleanProfDir = join(ctx.dir, 'prof-clean');
  const probeFile = join(ctx.dir, 'memory-probe-clean.json');
  const [b, c] = await Promise.all([
    // B carries the memory probe (bench/memory-probe.ts): where its RSS goes at its peak, in each phase.
    startNode('B', ctx.dir, { ...cleanerEnv, MEMORY_PROBE_FILE: probeFile }, [
      ...(settings.cleanProfile ? ['--cpu-prof', '--cpu-prof-dir', cleanProfDir] : []), ...cleanNodeFlags, '-r', join(__dirname, '..', 'memory-probe.js'),
    ]),
    // BENCH_CLEAN_NODES=1: C serves validations only (to tell the cleaner's effect on its own
    // node from its effect through the shared database and CPU).
    startNode('C', ctx.dir, settings.oneCleaner ? { ...cleanerEnv, CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false' } : cleanerEnv),
  ]);
  ctx.nodes.push(b, c);
  const ready = performance.now();
  const samples: { t: number; ms: number; node: string }[] = [];
  let cleanOk = 0;
  let cleanBad = 0;
  const cursor = { next: 0 };
  const instances: Cannon[] = [];
  const request = { ...validationRequest(cleanPool, ctx.service, cursor), onResponse: (s: number, body: string) => (validated(s, body) ? cleanOk++ : cleanBad++) };
  const onInstance = (node: string) => (i: Cannon) => {
    instances.push(i);
    i.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => samples.push({ t: performance.now(), ms, node }));
  };
  // A rate-limited autocannon connection sends its quota back to back at the start of each of its
  // seconds, and connections made together start their seconds together: one instance with
  // overallRate is a burst at full concurrency every second. Single-connection instances started
  // evenly through the second spread the same rate out, about one request in flight per node.
  const streams = settings.cleanStreams;
  const runs = [b, c].flatMap((n) =>
    cleanRate
      ? Array.from({ length: streams }, (_, k) =>
          sleep((k * 1000) / streams).then(() =>
            cannon({ url: n.base, connections: 1, connectionRate: Math.max(1, Math.round(cleanRate / streams)), duration: cleanTimeout, headers: { 'user-agent': UA }, requests: [request] }, onInstance(n.name)),
          ),
        )
      : [cannon({ url: n.base, connections: Math.ceil(settings.connections / 2), duration: cleanTimeout, headers: { 'user-agent': UA }, requests: [request] }, onInstance(n.name))],
  );
  let cleanStart = 0;
  let cleanEnd = 0;
  let wal0: WalStats | null = null;
  const validationWaits = new Map<string, number>();
  let rssMax = 0;
  // Each node's RSS before the clean, at its end, and its max through the delivery (B runs under --cpu-prof with BENCH_CLEAN_PROF).
  const rssOf: Record<string, { before: number; cleaned: number; max: number }> = { B: { before: 0, cleaned: 0, max: 0 }, C: { before: 0, cleaned: 0, max: 0 } };
  const meter = new CpuMeter([b.pid, c.pid], ctx.postmasterPid);
  const deadline = ready + cleanTimeout * 1000;
  // The phases, by performance.now(): the baseline from the warm-up's end, the paced ceiling if any, the clean.
  let ceilStart = 0;
  let ceilEnd = 0;
  let ceilIo = '';
  let baseIoStarted = false;
  let baseIo = '';
  const ceilingWaits = new Map<string, number>();
  const ceilMeter = new CpuMeter([b.pid, c.pid], ctx.postmasterPid);
  let ceilCpu: CpuSplit | null = null;
  const ceilingRun = copies
    ? sleep((warmup + duration) * 1000 - (performance.now() - ready)).then(async () => {
        baseIo = await io.stop();
        ceilStart = performance.now();
        await io.start();
        ceilMeter.start();
        log(`cleaner ceiling under load: same-work SQL, 2 loops paced together to ${ceilingShare} × ${f0(fullSpeed)} rows/s, at most ${ceilingBudget} s`);
        const r = await pacedSameWork(ctx.url, Number(cleanerBatch ?? 1000), ceilingShare * fullSpeed, ceilStart + ceilingBudget * 1000);
        ceilEnd = performance.now();
        ceilCpu = ceilMeter.stop();
        ceilIo = await io.stop();
        // Dropped now: autovacuum of the copies' dead rows must not run into the cleaner's window.
        await copies.drop();
        return r;
      })
    : null;
  while (performance.now() < deadline) {
    rssMax = Math.max(rssMax, rssMb(b.pid), rssMb(c.pid));
    for (const n of [b, c]) {
      const r = rssMb(n.pid);
      rssOf[n.name].max = Math.max(rssOf[n.name].max, r);
      if (!cleanStart) rssOf[n.name].before = r;
      else rssOf[n.name].cleaned = r;
    }
    if (!baseIoStarted && performance.now() >= ready + warmup * 1000) {
      baseIoStarted = true;
      await io.start();
    }
    const inCeiling = ceilStart > 0 && !ceilEnd;
    if (inCeiling) await sampleWaits(sql, ceilingWaits);
    if (!cleanStart) {
      const { rows: act } = await sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND query NOT LIKE '%bench_clean%'
            AND (query LIKE '%WITH victims AS%' OR query LIKE '%INSERT INTO slo_outbox%' OR query LIKE 'SELECT id FROM tickets WHERE type = ''TGT'' AND expires_at <= $1%')`,
      );
      if (act[0].n > 0) {
        if (inCeiling) log('WARNING: the cleaner started before the paced ceiling ended');
        await memoryOf(b, probeFile, 'before the clean (validation load)');
        if (!ceilStart) baseIo = await io.stop();
        cleanStart = performance.now();
        wal0 = await walStats(sql);
        meter.start();
        await io.start();
        await resetStatements();
        log('cleaner started');
      }
    } else {
      // What the validations' backends wait for while the cleaners run (a sample every 100 ms).
      if (!inCeiling) await sampleWaits(sql, validationWaits);
      const { rows: left } = await sql.query(`SELECT EXISTS (SELECT 1 FROM tickets WHERE expires_at <= now()) AS e`);
      if (!left[0].e) {
        cleanEnd = performance.now();
        break;
      }
    }
    await sleep(cleanStart ? 100 : 50);
  }
  const cleanCpu = cleanStart ? meter.stop() : null;
  const cleanIo = cleanStart ? await io.stop() : '';
  if (wal0) {
    const w = await walStats(sql);
    log(`cleaner: WAL while cleaning ${((w.bytes - wal0.bytes) / 1048576).toFixed(0)} MB (${f0(w.fpi - wal0.fpi)} full-page images), ${f0(w.syncs - wal0.syncs)} WAL syncs; ` +
      `validation backends seen active (samples every 100 ms): ${waitList(validationWaits)}`);
  }
  if (baseIo) log(`cleaner: I/O before the clean (validations only) ${baseIo}`);
  if (cleanIo) log(`cleaner: I/O while cleaning ${cleanIo}`);
  await memoryOf(b, probeFile, 'during the clean');
  if (cleanEnd) await topStatements('while cleaning (validations on 2 nodes + both cleaners)', 8);
  await sleep(1000);
  instances.forEach((i) => i.stop());
  await Promise.all(runs);
  if (!cleanEnd) log(`WARNING: expired rows still left after ${cleanTimeout} s`);
  const cleanSeconds = cleanEnd && cleanStart ? (cleanEnd - cleanStart) / 1000 : NaN;
  const rowsPerSecond = expiredBefore / cleanSeconds;
  const window = (from: number, to: number, node?: string) =>
    samples.filter((s) => s.t >= from && s.t < to && (!node || s.node === node)).map((s) => s.ms).sort((x, y) => x - y);
  const baseline = window(ready + warmup * 1000, ceilStart || cleanStart || deadline);
  const during = window(cleanStart || deadline, cleanEnd || deadline);
  const p99 = (xs: number[]) => Math.round(pct(xs, 99) * 10) / 10;
  const baseP99 = p99(baseline);
  const duringP99 = p99(during);
  log(`cleaner: ${f0(expiredBefore)} expired rows gone in ${cleanSeconds.toFixed(2)} s = ${f0(rowsPerSecond)} rows/s; ` +
    `validation p99 ${duringP99} ms during (${during.length} requests) vs ${baseP99} ms before (${baseline.length} requests, same 2 nodes, ${f0(size.n + cleanPool.length)} tickets); ` +
    `${cleanBad} failed validations of ${cleanOk + cleanBad}` + (cleanCpu ? `; while cleaning: ${cores(cleanCpu)}` : ''));
  for (const n of [b, c]) {
    log(`  node ${n.name}${settings.oneCleaner && n === c ? ' (not cleaning)' : ''}: validation p99 ${p99(window(cleanStart || deadline, cleanEnd || deadline, n.name))} ms during vs ${p99(window(ready + warmup * 1000, ceilStart || cleanStart || deadline, n.name))} ms before`);
  }
  // Where the slow validations are: p99 of each second, from the baseline's start to 2 s after the clean.
  if (cleanEnd) {
    const from = ready + warmup * 1000;
    const marks: string[] = [];
    for (let t = from; t < cleanEnd + 2000; t += 1000) {
      const tag = ceilStart && t >= ceilStart && t < (ceilEnd || cleanStart) ? 'S' : t >= cleanStart && t < cleanEnd ? 'C' : '';
      marks.push(`${tag}${Math.round(pct(window(t, t + 1000), 99))}`);
    }
    log(`  validation p99 per second (ms; S: same-work SQL under load, C: the cleaner): ${marks.join(' ')}`);
  }
  let underLoad: CleanerFigures['ceilingUnderLoad'];
  if (ceilingRun) {
    const r = await ceilingRun;
    const w = window(ceilStart, ceilEnd);
    const rate = r.rows / r.seconds;
    underLoad = { share: ceilingShare, rowsPerSecond: rate, ofFullSpeed: rate / fullSpeed, p99: p99(w), requests: w.length };
    log(`cleaner ceiling under load: ${f0(r.rows)} rows (${f0(r.sessions)} sessions) in ${r.seconds.toFixed(2)} s = ${f0(rate)} rows/s = ${(rate / fullSpeed).toFixed(2)} × its speed alone; ` +
      `validation p99 ${underLoad.p99} ms meanwhile (${w.length} requests) vs ${baseP99} ms before = ${(underLoad.p99 / baseP99).toFixed(2)} × baseline; ` +
      `validation backends seen active: ${waitList(ceilingWaits)}` + (ceilCpu ? `; meanwhile: ${cores(ceilCpu)}` : ''));
    if (ceilIo) log(`cleaner ceiling under load: I/O ${ceilIo}`);
  }
  if (baseline.length < 1000) log('WARNING: short baseline window (the machine is slow or the cleaner started early)');
  if (cursor.next > cleanPool.length) log(`WARNING: the ST pool (${cleanPool.length}) ran out during the clean; reused tickets count as failures`);

  // Both nodes deliver what they queued: RSS is watched until the sink has every request.
  await resetStatements();
  // With --expose-gc (BENCH_CLEAN_NODE_FLAGS), B is also probed halfway through the delivery: heap used then, and after a full GC there.
  const halfway = cleanNodeFlags.includes('--expose-gc') ? () => memoryOf(b, probeFile, 'halfway through delivering the logout requests') : undefined;
  const delivery = await awaitDelivery(ctx, [b, c], received0, cleanStart || deadline, deadline + cleanTimeout * 1000, halfway);
  await topStatements('while delivering the rest of the logout requests (no load)', 6);
  await memoryOf(b, probeFile, 'delivering the rest of the logout requests');
  rssMax = Math.max(rssMax, delivery.rssMax);
  for (const n of [b, c]) rssOf[n.name].max = Math.max(rssOf[n.name].max, delivery.rssOf[n.name] ?? 0);
  log(`cleaner: ${f0(delivery.delivered)} of ${f0(delivery.queued)} logout requests delivered ${delivery.seconds.toFixed(1)} s after the clean began; RSS max ${rssMax.toFixed(0)} MB; ` +
    Object.entries(rssOf).map(([k, v]) => `node ${k}: ${f0(v.before)} MB before the clean, ${f0(v.cleaned)} MB at its end, max ${f0(v.max)} MB`).join('; '));
  // Give the runs under way on both nodes a moment to finish, then count.
  await sleep(1500);
  const after = await afterTheClean(ctx, [b, c], deadlocks0, rssMax);
  await Promise.all(ctx.nodes.map((n) => n.stop()));
  ctx.nodes.length = 0;
  if (copies && !ceilEnd) await copies.drop();
  if (settings.cleanProfile && cleanStart && cleanEnd) summariseProfile(cleanProfDir, [hrMicros(cleanStart), hrMicros(cleanEnd)], 'node B while cleaning', true);
  return {
    expiredBefore, cleanSeconds, rowsPerSecond, loadRate: 2 * cleanRate, baseP99, duringP99, rssMaxMb: rssMax, ...after,
    queuedRequests: delivery.queued, delivered: delivery.delivered, deliverySeconds: delivery.seconds, ceilingUnderLoad: underLoad,
  };
}

/** One sample of what the validations' backends wait for, and whether autovacuum is working, added to `into`. */
async function sampleWaits(sql: Client, into: Map<string, number>): Promise<void> {
  const { rows } = await sql.query(
    `SELECT CASE WHEN backend_type = 'autovacuum worker' THEN 'autovacuum running' ELSE COALESCE(wait_event_type || ':' || wait_event, 'CPU') END AS w, count(*)::int AS n
       FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND (backend_type = 'autovacuum worker' OR (datname = current_database() AND state = 'active' AND query LIKE 'WITH last_use AS%')) GROUP BY 1`,
  );
  for (const w of rows) into.set(w.w, (into.get(w.w) ?? 0) + w.n);
}

const waitList = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

interface WalStats {
  bytes: number;
  fpi: number;
  syncs: number;
}
const walStats = async (sql: Client): Promise<WalStats> => {
  const r = (await sql.query(`SELECT wal_bytes::float8 AS bytes, wal_fpi::float8 AS fpi, wal_sync::float8 AS syncs FROM pg_stat_wal`)).rows[0];
  return { bytes: Number(r.bytes), fpi: Number(r.fpi), syncs: Number(r.syncs) };
};

/** The probe's sample at node B's highest RSS since the last call: V8's heap (by space), buffers, the rest. */
async function memoryOf(n: Node, probeFile: string, label: string): Promise<void> {
  if (existsSync(probeFile)) unlinkSync(probeFile);
  n.proc.kill('SIGUSR2');
  for (let i = 0; i < 50 && !existsSync(probeFile); i++) await sleep(20);
  if (!existsSync(probeFile)) return log(`memory of node B, ${label}: no probe sample`);
  type Sample = Record<string, number> & { spacesKb: Record<string, number> };
  const { peak, now, heapUsedAfterGc, rssAfterGc } = JSON.parse(readFileSync(probeFile, 'utf8')) as { peak: Sample; now: Sample; heapUsedAfterGc?: number; rssAfterGc?: number };
  const mb = (x: number) => (x / 1048576).toFixed(0);
  const sp = (k: string) => ((peak.spacesKb[k] ?? 0) / 1024).toFixed(0);
  log(`memory of node B, ${label}, at its highest RSS: rss ${mb(peak.rss)} MB = V8 heap ${mb(peak.heapTotal)} MB (used ${mb(peak.heapUsed)}; new ${sp('new_space')}, old ${sp('old_space')}, ` +
    `code ${sp('code_space')}, large objects ${sp('large_object_space')}) + array buffers ${mb(peak.arrayBuffers)} MB (external ${mb(peak.external)}) + the rest (native) ${mb(peak.rss - peak.heapTotal - peak.arrayBuffers)} MB` +
    // --expose-gc: live objects (a leak would stay) against garbage V8 had not collected yet.
    (heapUsedAfterGc === undefined ? '' : `; at the probe: heap used ${mb(now.heapUsed)} MB (old space ${((now.spacesKb.old_space ?? 0) / 1024).toFixed(0)}), rss ${mb(now.rss)} MB → after a full GC heap used ${mb(heapUsedAfterGc)} MB, rss ${mb(rssAfterGc ?? 0)} MB`));
}

/** Samples the nodes' RSS until the sink received every EXPIRED logout request queued (or `until`). */
const sinkReceived = async (ctx: BenchContext) => ((await (await fetch(`http://127.0.0.1:${ctx.sink.port}/stats`)).json()) as { received: number }).received;

async function awaitDelivery(ctx: BenchContext, nodes: Node[], received0: number, from: number, until: number, halfway?: () => Promise<void>) {
  let rssMax = 0;
  const rssOf: Record<string, number> = {};
  let explained = false;
  let delivered = 0;
  let queued = 0;
  for (let k = 0; performance.now() < until; k++) {
    for (const n of nodes) {
      const r = rssMb(n.pid);
      rssMax = Math.max(rssMax, r);
      rssOf[n.name] = Math.max(rssOf[n.name] ?? 0, r);
    }
    if (k % 5 === 0) {
      queued = Number((await ctx.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE reason = 'EXPIRED' AND kind = 'LOGOUT'`)).rows[0].n);
      delivered = (await sinkReceived(ctx)) - received0;
      if (delivered >= queued) break;
      if (halfway && delivered >= queued / 2) {
        await halfway();
        halfway = undefined;
      }
      if (!explained && settings.explain && delivered >= queued / 2) {
        explained = true;
        await explainDeliveryClaim(ctx.sql, `${f0(delivered)} of ${f0(queued)} delivered`);
      }
    }
    await sleep(100);
  }
  return { rssMax, rssOf, delivered, queued, seconds: (performance.now() - from) / 1000 };
}

const cores = (cpu: CpuSplit) =>
  `cores Node ${cpu.nodeCores.toFixed(2)}, PG ${cpu.pgCores.toFixed(2)}, load generator ${cpu.loadGenCores.toFixed(2)}, other processes ${cpu.otherCores.toFixed(2)}`;

/** What the clean left: deadlocks, live rows lost, expired rows left, logout requests queued and delivered. */
async function afterTheClean(ctx: BenchContext, nodes: Node[], deadlocks0: number, rssMax: number) {
  const { sql } = ctx;
  const deadlocks = (await deadlockCount(sql)) - deadlocks0;
  const nodeLogs = nodes.map((n) => readFileSync(n.logFile, 'utf8'));
  const deadlockLines = nodeLogs.reduce((s, l) => s + (l.match(/40P01|deadlock/gi)?.length ?? 0), 0);
  const errorLines = nodeLogs.reduce((s, l) => s + (l.match(/cleaning stopped early/g)?.length ?? 0), 0);
  const perNode = nodeLogs.map((l) => [...l.matchAll(/(\d+) expired session\(s\), (\d+) expired service ticket\(s\) and \d+ finished logout request\(s\) removed/g)].reduce((s, m) => s + Number(m[1]), 0));
  const liveDeleted = Number((await sql.query(`SELECT count(*)::int AS n FROM ${LIVE_IDS_TABLE} l WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = l.id)`)).rows[0].n);
  const expiredLeft = Number((await sql.query(`SELECT count(*)::int AS n FROM tickets WHERE expires_at <= now()`)).rows[0].n);
  const outbox = (await sql.query(`
    SELECT count(*)::int AS total, count(DISTINCT session_id)::int AS sessions,
           (SELECT count(*)::int FROM (SELECT 1 FROM slo_outbox GROUP BY session_id, service HAVING count(*) > 1) d) AS duplicated
      FROM slo_outbox WHERE reason = 'EXPIRED'`)).rows[0];
  const expiredSessions = Math.round(settings.tickets / 5);
  // Whether the delivery's outcome records rewrote the history rows in place (HOT) or as new versions with new index entries.
  const hot = (await sql.query(`SELECT n_tup_upd::bigint AS upd, n_tup_hot_upd::bigint AS hot FROM pg_stat_user_tables WHERE relname = 'session_history'`)).rows[0];
  log(`cleaner: session_history updates ${f0(Number(hot.upd))}, HOT ${f0(Number(hot.hot))} (pg_stat_user_tables, whole run)`);
  const sinkStats = (await (await fetch(`http://127.0.0.1:${ctx.sink.port}/stats`)).json()) as { received: number; distinct: number; duplicates: number };
  log(`cleaner: sessions ended per node ${perNode.map(f0).join(' + ')} = ${f0(perNode.reduce((x, y) => x + y, 0))} (expected ${f0(expiredSessions)}); ` +
    `deadlocks ${deadlocks} (pg_stat_database), ${deadlockLines} deadlock lines and ${errorLines} "stopped early" in node logs; live rows deleted ${liveDeleted}; expired rows left ${expiredLeft}; ` +
    `outbox: ${f0(outbox.total)} EXPIRED logout requests for ${f0(outbox.sessions)} sessions, ${outbox.duplicated} duplicated (session, service); ` +
    `delivered so far ${f0(sinkStats.received)} (${sinkStats.duplicates} SessionIndex received twice); RSS max ${rssMax.toFixed(0)} MB`);
  return {
    deadlocks: deadlocks + deadlockLines, liveDeleted, expiredLeft, queuedSessions: Number(outbox.sessions), duplicated: Number(outbox.duplicated), expiredSessions,
  };
}

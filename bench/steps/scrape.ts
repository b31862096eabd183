/**
 * GET /cas/actuator/prometheus over the seeded table (issue 15: "scraping costs < 1 ms of CPU at
 * 1M tickets"): BENCH_SCRAPES sequential scrapes with the bench's admin token on a node of its own,
 * the CPU of the server process and of Postgres from /proc around them, divided by the scrapes.
 * A scrape is what Prometheus makes: HTTP, the admin guard, the audit row, the registry's text, and
 * the two scrape-time reads (the session counter, the outbox backlog), whose plans are printed
 * with a backlog of pending logout requests in place (inserted, explained, rolled back, after the scrapes).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summariseProfile } from '../cpu-profile';
import type { BenchContext } from '../context';
import { CpuMeter, f0, log, pct } from '../lib';
import { startNode } from '../nodes';
import { ADMIN_SECRET, settings } from '../settings';
import { resetStatements, topStatements } from '../statements';

export interface ScrapeFigures {
  scrapes: number;
  /**
   * The same for an admin request that does nothing (GET /actuator/sso without a TGC: the guard,
   * the audit row, a 400): what any admin call costs, so what is left is the metrics' own.
   */
  envelopeNodeMs: number;
  envelopePgMs: number;
  /** CPU per scrape, ms: the server process, and every Postgres process. */
  nodeMs: number;
  pgMs: number;
  p50: number;
  p99: number;
  /** Size of one scrape's text, bytes; the live-sessions gauge it read. */
  bytes: number;
  sessions: number;
}

export async function scrapeStep(ctx: BenchContext): Promise<ScrapeFigures> {
  log('Prometheus scrapes over the seeded table (node P, its own process)');
  // BENCH_CPU_PROF: node P runs under --cpu-prof, summarised over the measured scrapes once it exits.
  const profDir = join(ctx.dir, 'prof-scrape');
  const p = await startNode('P', ctx.dir, { DATABASE_URL: ctx.url }, settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []);
  ctx.nodes.push(p);
  let window: [number, number] | undefined;
  try {
    const url = `${p.base}/cas/actuator/prometheus`;
    const auth = { authorization: `Bearer ${ADMIN_SECRET}` };
    const scrape = async () => {
      const res = await fetch(url, { headers: auth });
      if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
      return res.text();
    };
    for (let i = 0; i < 50; i++) await scrape();
    const n = settings.scrapes;
    const envelope = await cpuPer(ctx, p.pid, n, async () => {
      const res = await fetch(`${p.base}/cas/actuator/sso`, { headers: auth });
      await res.arrayBuffer();
      if (res.status !== 400) throw new Error(`GET /actuator/sso answered ${res.status}`);
    });
    log(`${f0(n)} admin requests that do nothing (GET /actuator/sso, 400): CPU per request Node ${envelope.nodeMs.toFixed(3)} ms, PG ${envelope.pgMs.toFixed(3)} ms`);
    const times: number[] = [];
    let text = '';
    const meter = new CpuMeter([p.pid], ctx.postmasterPid);
    await resetStatements();
    meter.start();
    const w0 = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      text = await scrape();
      times.push(performance.now() - t0);
    }
    window = [w0, Number(process.hrtime.bigint() / 1000n)];
    const cpu = meter.stop();
    times.sort((x, y) => x - y);
    const sessions = Number(/^cas_sso_sessions (\S+)$/m.exec(text)?.[1]);
    const figures: ScrapeFigures = {
      scrapes: n, envelopeNodeMs: envelope.nodeMs, envelopePgMs: envelope.pgMs, nodeMs: (cpu.nodeCpu / n) * 1000, pgMs: (cpu.pgCpu / n) * 1000, p50: pct(times, 50), p99: pct(times, 99), bytes: Buffer.byteLength(text), sessions,
    };
    log(
      `${f0(n)} scrapes: CPU per scrape Node ${figures.nodeMs.toFixed(3)} ms, PG ${figures.pgMs.toFixed(3)} ms; p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms; ` +
        `${f0(figures.bytes)} bytes; cas_sso_sessions ${f0(sessions)}; other processes ${cpu.otherCores.toFixed(2)} cores`,
    );
    await topStatements('Prometheus scrapes');
    // After the scrapes: its rolled-back rows stay in the table as dead tuples until a vacuum.
    await explainScrapeReads(ctx);
    return figures;
  } finally {
    await p.stop();
    ctx.nodes.length = 0;
    if (settings.cpuProfile && window) {
      summariseProfile(profDir, window, 'node P during the scrapes');
      summariseProfile(profDir, window, 'node P during the scrapes', true);
    }
  }
}

/** CPU per call of `fn`, called `n` times in sequence: the server process and Postgres. */
async function cpuPer(ctx: BenchContext, pid: number, n: number, fn: () => Promise<void>): Promise<{ nodeMs: number; pgMs: number }> {
  const meter = new CpuMeter([pid], ctx.postmasterPid);
  meter.start();
  for (let i = 0; i < n; i++) await fn();
  const cpu = meter.stop();
  return { nodeMs: (cpu.nodeCpu / n) * 1000, pgMs: (cpu.pgCpu / n) * 1000 };
}

/** The plans of the scrape-time reads at this table size, with 50,000 pending logout requests (rolled back). */
async function explainScrapeReads(ctx: BenchContext): Promise<void> {
  const { sql } = ctx;
  await sql.query('BEGIN');
  try {
    await sql.query(`
      INSERT INTO slo_outbox (id, session_id, ticket_id, principal, service, logout_url, reason, next_attempt_at, created_at)
      SELECT 'bench-' || g, 'TGT-x', 'ST-x', 'user', 'https://app.example.org/', 'https://app.example.org/logout', 'EXPIRED', now(), now() - g * interval '1 ms'
        FROM generate_series(1, 50000) g`);
    await sql.query('ANALYZE slo_outbox');
    for (const [label, text] of [
      ['live sessions', `SELECT coalesce(sum(sessions), 0)::bigint AS sessions FROM sso_session_counts`],
      ['outbox backlog', `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM slo_outbox WHERE status IN ('PENDING', 'SENDING') ORDER BY created_at LIMIT 10000) p) AS pending,
              (SELECT min(created_at) FROM slo_outbox WHERE status IN ('PENDING', 'SENDING')) AS oldest`],
    ]) {
      const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`);
      console.log(`#   EXPLAIN scrape read, ${label}:`);
      for (const r of rows) console.log(`#     ${r['QUERY PLAN']}`);
    }
  } finally {
    await sql.query('ROLLBACK');
  }
}

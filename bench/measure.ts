/** How the bench measures: autocannon runs with CPU split and RSS, and sequential timed requests. */
import type autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './context';
import { cannon, CpuMeter, CpuSplit, log, pct, rssMb } from './lib';
import { tinyServer } from './nodes';
import { settings, UA } from './settings';
import { resetStatements, topStatements } from './statements';

export interface LoadResult {
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

export function describe(r: LoadResult): string {
  const n = r.ok || 1;
  const perReq = (x: number) => ((x / n) * 1000).toFixed(3);
  return (
    `${r.label}: ${r.rps.toFixed(0)}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.bad + r.errors} failed; ` +
    `CPU per request Node ${perReq(r.cpu.nodeCpu)} ms, PG ${Number.isNaN(r.cpu.pgCpu) ? 'n/a' : perReq(r.cpu.pgCpu)} ms; ` +
    `cores Node ${r.cpu.nodeCores.toFixed(2)}, PG ${r.cpu.pgCores.toFixed(2)}, load generator ${r.cpu.loadGenCores.toFixed(2)}, other processes ${r.cpu.otherCores.toFixed(2)}` +
    (r.rssMaxMb ? `; RSS max ${r.rssMaxMb.toFixed(0)} MB` : '')
  );
}

export type Judge = (status: number, body: string, headers: Record<string, string>) => boolean;

/**
 * Warm-up then the measured run, BENCH_CONNECTIONS connections. `request` may rotate paths,
 * headers and bodies (setupRequest); `good` judges a response (status, body, headers). CPU is
 * read for `pids` and the cluster of `postmasterPid`, RSS for `rssPid`.
 */
export async function measure(
  label: string,
  url: string,
  request: autocannon.Request,
  good: Judge,
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
  const base = { url, connections: settings.connections, headers: { 'user-agent': UA }, requests: [req] };
  await cannon({ ...base, duration: settings.warmup });
  ok = bad = 0;
  let rssMax = 0;
  const rssTimer = rssPid ? setInterval(() => (rssMax = Math.max(rssMax, rssMb(rssPid))), 250) : undefined;
  const meter = new CpuMeter(pids, postmasterPid);
  await resetStatements();
  meter.start();
  const w0 = Number(process.hrtime.bigint() / 1000n);
  const r = await cannon({ ...base, duration: settings.duration });
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

/**
 * A ceiling: the tiny server `mode` of servers.ts measured like the product, on an emptied
 * bench_tickets table after a CHECKPOINT (no earlier run's dirty pages to write meanwhile).
 */
export async function measureCeiling(ctx: BenchContext, mode: string, label: string, request: autocannon.Request, good: (status: number) => boolean): Promise<LoadResult> {
  const s = await tinyServer(mode, ctx.url);
  try {
    await ctx.sql.query('TRUNCATE bench_tickets');
    await ctx.sql.query('CHECKPOINT');
    return await measure(label, `http://127.0.0.1:${s.port}`, request, good, [s.child.pid!], ctx.postmasterPid);
  } finally {
    await s.stop();
  }
}

/** `n` sequential GETs, each must answer 200; their p50 and p99 in ms, logged with the run's top statements. */
export async function timeRequests(label: string, n: number, urlFor: (i: number) => string, headers: Record<string, string> = {}): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  await resetStatements();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(urlFor(i), { headers });
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

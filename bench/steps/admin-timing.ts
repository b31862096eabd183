/**
 * The admin steps' sequential timing (admin-listing, session-filters, console-pages) with where the
 * time went: the server process's and Postgres's CPU per request from /proc, and the rest of the
 * box ("other processes", the run's noise). BENCH_CPU_PROF: the node runs under --cpu-prof and
 * its profile is summarised, by function, over the timed requests only.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { summariseProfile } from '../cpu-profile';
import { CpuMeter, log } from '../lib';
import { timeRequests } from '../measure';
import type { Node } from '../nodes';
import { settings } from '../settings';

export interface TimedFigures {
  p50: number;
  p99: number;
  /** CPU per request, ms: the server process, every Postgres process. */
  nodeMs: number;
  pgMs: number;
}

/**
 * BENCH_ADMIN_NODE_FLAGS="--trace-gc --max-semi-space-size=16": V8 flags for the admin steps' nodes
 * only, after the shipped ones (a later flag wins). With --trace-gc, each timed run's line counts
 * the node's collections and their pauses from its log.
 */
const ADMIN_NODE_FLAGS = (process.env.BENCH_ADMIN_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.startsWith('--'));

/** The node flags of an admin step's node: BENCH_ADMIN_NODE_FLAGS, and --cpu-prof into `dir`/prof-`name` under BENCH_CPU_PROF. */
export function profileFlags(ctx: BenchContext, name: string): string[] {
  return [...ADMIN_NODE_FLAGS, ...(settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', join(ctx.dir, `prof-${name}`)] : [])];
}

/** The node's resident set now and at its peak (MB), from /proc. */
function rssOf(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
    return `RSS ${kb('VmRSS').toFixed(0)} MB (peak ${kb('VmHWM').toFixed(0)})`;
  } catch {
    return 'RSS n/a';
  }
}

/** --trace-gc lines the node logged from byte `from` on: collections by kind, and their pauses (ms). */
function gcSince(logFile: string, from: number): string {
  const text = readFileSync(logFile).subarray(from).toString('utf8');
  const kinds = new Map<string, { n: number; ms: number; max: number }>();
  for (const m of text.matchAll(/ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms/g)) {
    const k = kinds.get(m[1]) ?? { n: 0, ms: 0, max: 0 };
    const pause = Number(m[2]);
    kinds.set(m[1], { n: k.n + 1, ms: k.ms + pause, max: Math.max(k.max, pause) });
  }
  return [...kinds].map(([kind, k]) => `${kind} ${k.n} (${k.ms.toFixed(1)} ms, max ${k.max.toFixed(2)})`).join(', ') || 'no collections';
}

/** Collects the monotonic windows of the timed requests, to cut the node's profile to them once it exits. */
export class AdminTimer {
  private readonly windows: [number, number][] = [];

  constructor(
    private readonly ctx: BenchContext,
    private readonly node: Node,
  ) {}

  /** timeRequests, with the CPU per request of the node and Postgres logged beside it. */
  async time(label: string, n: number, urlFor: (i: number) => string, headers: Record<string, string> = {}): Promise<TimedFigures> {
    const meter = new CpuMeter([this.node.pid], this.ctx.postmasterPid);
    const logFrom = statSync(this.node.logFile).size;
    meter.start();
    const w0 = Number(process.hrtime.bigint() / 1000n);
    const r = await timeRequests(label, n, urlFor, headers);
    this.windows.push([w0, Number(process.hrtime.bigint() / 1000n)]);
    const cpu = meter.stop();
    const f = { ...r, nodeMs: (cpu.nodeCpu / n) * 1000, pgMs: (cpu.pgCpu / n) * 1000 };
    log(`  ${label}: CPU per request Node ${f.nodeMs.toFixed(2)} ms, PG ${Number.isNaN(f.pgMs) ? 'n/a' : f.pgMs.toFixed(2)} ms; other processes ${cpu.otherCores.toFixed(2)} cores; ${rssOf(this.node.pid)}`);
    if (ADMIN_NODE_FLAGS.includes('--trace-gc')) log(`    GC over these ${n} requests: ${gcSince(this.node.logFile, logFrom)}`);
    return f;
  }

  /** After the node exited: its profile over every timed request (BENCH_CPU_PROF). */
  summarise(label: string): void {
    if (!settings.cpuProfile || !this.windows.length) return;
    const window: [number, number] = [this.windows[0][0], this.windows[this.windows.length - 1][1]];
    const dir = join(this.ctx.dir, `prof-${this.node.name}`);
    summariseProfile(dir, window, label);
    summariseProfile(dir, window, label, true);
  }
}

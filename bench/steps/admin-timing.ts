/**
 * The admin steps' sequential timing (admin-listing, session-filters, console-pages) with where the
 * time went: the server process's and Postgres's CPU per request from /proc, and the rest of the
 * box ("other processes", the run's noise). BENCH_CPU_PROF: the node runs under --cpu-prof and
 * its profile is summarised, by function, over the timed requests only.
 */
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

/** The node flags of an admin step's node: --cpu-prof into `dir`/prof-`name` under BENCH_CPU_PROF. */
export function profileFlags(ctx: BenchContext, name: string): string[] {
  return settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', join(ctx.dir, `prof-${name}`)] : [];
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
    meter.start();
    const w0 = Number(process.hrtime.bigint() / 1000n);
    const r = await timeRequests(label, n, urlFor, headers);
    this.windows.push([w0, Number(process.hrtime.bigint() / 1000n)]);
    const cpu = meter.stop();
    const f = { ...r, nodeMs: (cpu.nodeCpu / n) * 1000, pgMs: (cpu.pgCpu / n) * 1000 };
    log(`  ${label}: CPU per request Node ${f.nodeMs.toFixed(2)} ms, PG ${Number.isNaN(f.pgMs) ? 'n/a' : f.pgMs.toFixed(2)} ms; other processes ${cpu.otherCores.toFixed(2)} cores`);
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

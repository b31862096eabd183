/** Helpers shared by the bench's steps, its scripts (run.ts, login.ts, admin-listing.ts) and its tiny servers. */
import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** The ceilings' ticket-shaped table (varchar PK, jsonb): the rows C1, C2 and the bare login route write (GOALS.md). */
export const BENCH_TABLE = `
  CREATE TABLE IF NOT EXISTS bench_tickets (
    id         varchar(256) NOT NULL PRIMARY KEY,
    type       varchar(8)   NOT NULL,
    session_id varchar(256) NOT NULL,
    principal  varchar(512) NOT NULL,
    service    text,
    created_at timestamptz  NOT NULL,
    expires_at timestamptz  NOT NULL,
    consumed   boolean      NOT NULL DEFAULT false,
    attributes jsonb
  )`;

export const CLK_TCK = 100; // USER_HZ on Linux

export function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { freePort } from '../src/database/embedded-postgres';

export function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** A progress line: time of day and load average, so a slow figure can be told from a busy box. */
export function log(line: string): void {
  console.log(`# ${new Date().toISOString().slice(11, 19)} [load ${load()}] ${line}`);
}

export const f0 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
export const f1 = (x: number) => x.toFixed(1);

/** utime + stime of a process, in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The postmaster and every backend it forked (only our cluster: other clusters run on this box). */
export function postgresPids(postmasterPid: number): number[] {
  const pids = [postmasterPid];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * CPU used by the server process(es) and by Postgres between start() and stop(). Postgres backends
 * come and go, so their CPU is sampled every 200 ms and the last value of each pid kept.
 */
export class CpuMeter {
  private node0 = 0;
  private pg = new Map<number, { first: number; last: number }>();
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private machine0 = 0;
  private self0 = 0;

  constructor(
    private readonly nodePids: number[],
    private readonly postmasterPid: number | null,
  ) {}

  start(): void {
    this.t0 = Date.now();
    this.machine0 = machineBusySeconds();
    this.self0 = cpuSeconds(process.pid);
    this.node0 = this.nodePids.reduce((s, p) => s + cpuSeconds(p), 0);
    this.samplePg(true);
    this.timer = setInterval(() => this.samplePg(false), 200);
  }

  stop(): CpuSplit {
    clearInterval(this.timer);
    this.samplePg(false);
    const seconds = (Date.now() - this.t0) / 1000;
    const nodeCpu = this.nodePids.reduce((s, p) => s + cpuSeconds(p), 0) - this.node0;
    let pgCpu = 0;
    for (const v of this.pg.values()) pgCpu += v.last - v.first;
    const loadGenCpu = cpuSeconds(process.pid) - this.self0;
    const busy = machineBusySeconds() - this.machine0;
    return {
      seconds,
      nodeCores: nodeCpu / seconds,
      pgCores: this.postmasterPid ? pgCpu / seconds : NaN,
      loadGenCores: loadGenCpu / seconds,
      // Everything else on the box (other people's test suites): the noise in this run.
      otherCores: this.postmasterPid ? Math.max(0, (busy - nodeCpu - pgCpu - loadGenCpu) / seconds) : NaN,
      nodeCpu,
      pgCpu: this.postmasterPid ? pgCpu : NaN,
    };
  }

  private samplePg(initial: boolean): void {
    if (!this.postmasterPid) return;
    for (const pid of postgresPids(this.postmasterPid)) {
      const c = cpuSeconds(pid);
      const seen = this.pg.get(pid);
      if (seen) seen.last = Math.max(seen.last, c);
      // A backend first seen after start() was forked during the run: all its CPU counts.
      else this.pg.set(pid, { first: initial ? c : 0, last: c });
    }
  }
}

export interface CpuSplit {
  seconds: number;
  nodeCores: number;
  pgCores: number;
  loadGenCores: number;
  otherCores: number;
  nodeCpu: number;
  pgCpu: number;
}

export type Cannon = autocannon.Instance;

/** Runs autocannon and resolves with its result; `onInstance` sees the instance (events, stop()). */
export function cannon(opts: autocannon.Options, onInstance?: (i: Cannon) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    onInstance?.(inst);
  });
}

/** Thrown inside a waitFor() callback to stop waiting at once. */
export class GiveUp extends Error {}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK;
}

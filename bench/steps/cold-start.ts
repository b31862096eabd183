/**
 * Cold start: main.ts with its own embedded Postgres, the cluster already initialised by a first,
 * untimed run; and `npm start` with DATABASE_URL on an up-to-date build, as an operator starts it
 * (npm, its prestart's staleness check of scripts/build-if-stale.js, then the server).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../context';
import { CLK_TCK, f0, freePort, GiveUp, log, waitFor } from '../lib';
import { startNode } from '../nodes';
import { ADMIN_SECRET, ARGON2, ROOT, TGC_KEYS } from '../settings';

export interface ColdStartFigures {
  /** Spawn of `node dist/src/main.js` to its first 200 on /cas/login, embedded Postgres initialised. */
  coldStartMs: number;
  /** Spawn of `npm start` (DATABASE_URL, schema and build up to date) to its first 200 on /cas/login. */
  npmStartMs: number;
  /** CPU seconds npm start's processes (npm, shells, prestart, server) used until that first 200: the figure noise cannot move much. */
  npmStartCpu: number;
}

/** `warmBootMs`, `firstBootMs`: the `node dist/src/main.js` boots with DATABASE_URL, for the log line. */
export async function coldStartStep(ctx: BenchContext, warmBootMs: number, firstBootMs: number): Promise<ColdStartFigures> {
  log('cold start: node dist/src/main.js with its embedded Postgres (initialised by a first run, not timed)');
  const coldDir = join(ctx.dir, 'cold');
  const init = await startNode('cold-init', ctx.dir, { CAS_DATA_DIR: coldDir });
  await init.stop();
  const cold = await startNode('cold', ctx.dir, { CAS_DATA_DIR: coldDir });
  await cold.stop();
  const coldLog = readFileSync(cold.logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const bootMs = Number(/ready at \S+ \(port \d+\) in (\d+) ms/.exec(coldLog)?.[1] ?? NaN);
  log(`cold start to first 200 on /cas/login: ${f0(cold.readyMs)} ms (embedded Postgres initialised): ` +
    `${f0(bootMs)} ms in bootstrap() (embedded Postgres start, Nest init, migrations check), the rest Node start and module loading; with DATABASE_URL ${f0(warmBootMs)} ms; first boot with migrations ${f0(firstBootMs)} ms`);
  // The first npm start brings the build up to date if it is not (the bench compiled with tsc -p, which does not stamp it).
  const first = await npmStart(ctx, 'npm-start-1');
  const { ms: npmStartMs, cpu: npmStartCpu } = await npmStart(ctx, 'npm-start-2');
  log(`npm start with DATABASE_URL to first 200 on /cas/login, build up to date: ${f0(npmStartMs)} ms, ${npmStartCpu.toFixed(2)} s of CPU ` +
    `(the untimed one before it, which may compile: ${f0(first.ms)} ms, ${first.cpu.toFixed(2)} s of CPU)`);
  return { coldStartMs: cold.readyMs, npmStartMs, npmStartCpu };
}

/**
 * `npm start` in the repository with DATABASE_URL and the settings of the bench's nodes
 * (nodes.ts): ms from spawn to the first 200 on /cas/login; the whole process group is stopped.
 */
async function npmStart(ctx: BenchContext, name: string): Promise<{ ms: number; cpu: number }> {
  const port = await freePort();
  const logFile = join(ctx.dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (/^(CAS_|AUTHN_|ARGON2_|TICKET_|DATABASE_URL|PORT$|LOG_LEVEL|npm_)/.test(k)) delete env[k];
  const t0 = performance.now();
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...env,
      DATABASE_URL: ctx.url,
      PORT: String(port),
      CAS_SERVER_PREFIX: `http://127.0.0.1:${port}/cas`,
      CAS_DATA_DIR: join(ctx.dir, `data-${name}`),
      CAS_SERVICE_REGISTRY_JSON_LOCATION: join(ctx.dir, 'services'),
      CAS_ADMIN_TOKENS: `bench:${ADMIN_SECRET}`,
      CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false',
      LOG_LEVEL: 'log',
      ...TGC_KEYS,
      ...ARGON2,
    },
  });
  closeSync(out);
  let exited = false;
  const gone = new Promise((r) => npm.once('exit', r));
  npm.once('exit', () => (exited = true));
  try {
    await waitFor(`${name} to answer /cas/login`, async () => {
      if (exited) throw new GiveUp(`${name} exited; its log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      const res = await fetch(`http://127.0.0.1:${port}/cas/login`);
      await res.arrayBuffer();
      return res.status === 200;
    }, 120_000, 10);
    return { ms: performance.now() - t0, cpu: groupCpuSeconds(npm.pid!) };
  } finally {
    // npm, its shells and the server: the group npm leads, until none of it is left.
    if (!exited) {
      process.kill(-npm.pid!, 'SIGTERM');
      await gone;
    }
    await waitFor(`${name} to stop`, async () => {
      try {
        process.kill(-npm.pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 30_000);
  }
}

/**
 * CPU seconds of a process group so far: each live member's own and its reaped children's
 * (utime, stime, cutime, cstime of /proc/<pid>/stat), so an exited prestart counts through its parent.
 */
function groupCpuSeconds(pgrp: number): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgrp) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / CLK_TCK;
}

/** The processes the bench measures: the real server (`node dist/src/main.js`) and the tiny servers of servers.ts. */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, GiveUp, waitFor } from './lib';
import { ADMIN_SECRET, ARGON2, ROOT, TGC_KEYS } from './settings';

export interface TinyServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** A tiny server of bench/servers.ts (`mode`: c1, c2, login, sink) as a child process. */
export async function tinyServer(mode: string, url: string): Promise<TinyServer> {
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

export interface Node {
  name: string;
  proc: ChildProcess;
  pid: number;
  base: string;
  /** From spawn to the first 200 on /cas/login. */
  readyMs: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * The node flags the server ships with: package.json's start and the Dockerfile's CMD pass the same
 * (test/scripts/start-flags.spec.ts holds the three together). A young generation of 2 × 8 MB
 * instead of V8's 2 × 16 MB: RSS under validation 222/177 → 144/144 MB, under password login
 * 285/234 → 180 MB, for about 5 % of validation throughput (BENCH_ONLY=rss, ABBA, docs/benchmarks.md).
 * An old space of at most 1 GB instead of the 4 GB V8 picks on this box: with a limit of 2 GB or
 * more V8 lets old space reach 4 × the live set before a full collection, and delivering a mass
 * expiry's logout requests (42 MB live) took a node to 250-270 MB of RSS; at 1 GB the factor is
 * about 1.6 and the node peaked at 162 MB (BENCH_ONLY=cleaner with BENCH_CLEAN_NODE_FLAGS).
 */
export const SHIPPED_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=1024'];

/**
 * The real server, `node dist/src/main.js` with SHIPPED_NODE_FLAGS, as a child process logging to `dir`/`name`.log, with
 * the bench's services, admin token and keys; `extra` env on top (DATABASE_URL, cleaner settings).
 * Resolves at its first 200 on /cas/login.
 */
export async function startNode(name: string, dir: string, extra: Record<string, string>, nodeFlags: string[] = []): Promise<Node> {
  const port = await freePort();
  const logFile = join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  // The bench's own environment must not configure the nodes: only what is set here does.
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(childEnv)) if (/^(CAS_|AUTHN_|ARGON2_|TICKET_|DATABASE_URL|PORT$|LOG_LEVEL)/.test(k)) delete childEnv[k];
  const t0 = performance.now();
  // `nodeFlags` after the shipped ones: a later V8 flag wins (BENCH_RSS_NODE_FLAGS compares sizes).
  const proc = spawn(process.execPath, [...SHIPPED_NODE_FLAGS, ...nodeFlags, join(ROOT, 'dist/src/main.js')], {
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

/**
 * Multi-factor login (issue 13): password + TOTP code (mfa-gauth) against password alone, on the
 * same node in the same run, in turns (password, TOTP, TOTP, password: measurePair), each login
 * as a browser does it from the start:
 *
 *   password alone:  GET /login?service=         → form;  POST password → 302 + ST
 *   password + TOTP: GET /login?service=&authn_method=mfa-gauth → form;
 *                    POST password → the code page;  POST code → 302 + ST
 *
 * Both runs use the same users (the `users` table, one shared password hash) and the same hash
 * cost; the only difference is the request trigger authn_method=mfa-gauth and the third request.
 * Logins/s counts whole logins; the p99 is a whole login's, timed by the load generator from the
 * form GET to the answer that carries the ticket.
 *
 * Then the code POST on its own: logins are taken to the code page first, and the server's CPU
 * (process CPU time from /proc, and Postgres's) is read over the code POSTs alone, divided by
 * their number. That POST is the TOTP step as the product runs it: the flow token opened, the
 * device rows read, the secret decrypted, otplib's check over the window, the used time step
 * inserted, then the session and the ticket created (work the password-alone login does in its
 * password POST instead). otplib's check alone is also timed in this process, for scale.
 *
 * Why every login is a different user. A code is accepted once per device and time step (30 s;
 * gauth_used_codes), and the node runs on the real clock: the bench cannot move its time as the
 * tests move their injected clock. A user logging in twice within a step would be refused as a
 * replay (and computing the neighbouring steps' codes to dodge it would measure a login nobody
 * does). So BENCH_MFA_USERS users (6,000) are enrolled beforehand, by SQL in the app's row
 * shape (a confirmed device each, its own secret encrypted with the node's key), and each login
 * of both runs takes the next one: no user logs in twice in the step. At the rate argon2id allows
 * on this box (≈100 logins/s on 2 vCPU), the four runs (warm-up, window and tail each) and the
 * split use ≈4,000; running out is reported as a WARNING, and the reused users' codes are refused as
 * replays and count as failures (the goal row wants 0).
 */
import { hash } from '@node-rs/argon2';
import type autocannon from 'autocannon';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { authenticator } from 'otplib';
import { GauthKeys } from '../../src/auth/mfa/gauth/gauth-keys';
import { usernameKey } from '../../src/common/username';
import type { CasConfig } from '../../src/config/cas-config';
import { parallel } from '../browser';
import { summariseProfile } from '../cpu-profile';
import type { BenchContext } from '../context';
import { cannon, CpuMeter, f1, log, pct, rssMb, sleep } from '../lib';
import { describe, type LoadResult } from '../measure';
import { startNode } from '../nodes';
import { ARGON2, settings, UA } from '../settings';
import { resetStatements, topStatements } from '../statements';

/**
 * Logins taken to the code page, then their code POSTs measured alone (BENCH_MFA_SPLIT; more for a
 * finer figure: /proc counts CPU in 10 ms ticks, 0.025 ms per POST at 400).
 */
const SPLIT_LOGINS = Number(process.env.BENCH_MFA_SPLIT ?? 400);
const PASSWORD = 'bench-mfa-password';
const KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
/** The product's defaults (mfa-config.ts): 6 digits, 30 s steps, window-size 3. */
const TOTP = { digits: 6, step: 30 };

export interface MfaLoginFigures {
  /** GET form + POST password → 302 + ST; rps = logins/s, p50/p99 of a whole login. */
  password: LoadResult;
  /** GET form + POST password + POST code → 302 + ST; the same. */
  mfa: LoadResult;
  /** Server process and Postgres CPU per code POST, in ms, measured over the code POSTs alone. */
  codePost: { nodeMs: number; pgMs: number; n: number; failed: number };
  /** The password POST that leads to the code page, measured alone the same way (argon2id is most of it). */
  passwordPost: { nodeMs: number; pgMs: number };
  /** otplib's check of a wrong code over the window (3 steps computed), in this process, µs each. */
  otplibCheckUs: number;
}

interface BenchUser {
  name: string;
  secret: string;
}

/** The next user, once each; counts how many were asked for. */
class UserCursor {
  private next = 0;
  constructor(private readonly users: BenchUser[]) {}
  take(): BenchUser {
    return this.users[this.next++ % this.users.length];
  }
  get used(): number {
    return this.next;
  }
}

export async function mfaLoginStep(ctx: BenchContext): Promise<MfaLoginFigures> {
  const key = randomBytes(32).toString('base64url');
  // BENCH_CPU_PROF: the node runs under --cpu-prof (sampling every 100 µs), summarised over the code POSTs alone (not goal figures then).
  const profDir = join(ctx.dir, 'prof-mfa');
  const profFlags = settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100'] : [];
  const node = await startNode('M', ctx.dir, { DATABASE_URL: ctx.url, [KEY_VARIABLE]: key }, profFlags);
  ctx.nodes.push(node);
  try {
    const t0 = Date.now();
    const users = await enrolUsers(ctx, key);
    log(`mfa login: ${users.length} users with a password and a confirmed TOTP device, written by SQL in ${Date.now() - t0} ms`);
    const cursor = new UserCursor(users);
    await ctx.sql.query('VACUUM ANALYZE users, gauth_credentials');
    await ctx.sql.query('CHECKPOINT');

    const [password, mfa] = await measurePair(
      { label: 'login, password alone (GET form + POST password → 302 + ST)', logins: passwordLogin(ctx.service, cursor) },
      { label: 'login, password + TOTP (GET form + POST password + POST code → 302 + ST)', logins: mfaLogin(ctx.service, cursor) },
      node.base, node.pid, ctx.postmasterPid,
    );

    const split = await splitCodePost(ctx, node.base, node.pid, cursor);
    if (cursor.used > users.length) log(`WARNING: ${cursor.used} logins for ${users.length} users: reused users' codes are refused as replays and count as failures`);
    const otplibCheckUs = otplibCheck(users[0].secret);
    log(
      `mfa login: password + TOTP ${f1(mfa.rps)}/s (p99 ${mfa.p99} ms, ${mfa.bad + mfa.errors} failed) = ${(mfa.rps / password.rps).toFixed(2)} × ` +
        `password alone ${f1(password.rps)}/s (p99 ${password.p99} ms, ${password.bad + password.errors} failed); ` +
        `code POST alone: Node ${split.codePost.nodeMs.toFixed(3)} ms + PG ${split.codePost.pgMs.toFixed(3)} ms CPU (password POST to the code page: Node ${split.passwordPost.nodeMs.toFixed(3)} ms + PG ${split.passwordPost.pgMs.toFixed(3)} ms); ` +
        `otplib check alone ${otplibCheckUs.toFixed(1)} µs`,
    );
    if (settings.cpuProfile) {
      await node.stop();
      summariseProfile(profDir, split.window, 'the server during the code POSTs alone');
      summariseProfile(profDir, split.window, 'the server during the code POSTs alone', true);
    }
    return { password, mfa, codePost: split.codePost, passwordPost: split.passwordPost, otplibCheckUs };
  } finally {
    await node.stop();
    ctx.nodes.splice(ctx.nodes.indexOf(node), 1);
  }
}

/**
 * settings.mfaUsers users (`mfa1`…) in `users` with one argon2id hash of the configured cost (verifying it
 * costs what any password login costs), each with a confirmed TOTP device whose secret is
 * encrypted by the app's own GauthKeys with the node's key: the rows GauthCredentials.enrol +
 * confirm would write, without one round trip per user through the enrolment page.
 */
async function enrolUsers(ctx: BenchContext, key: string): Promise<BenchUser[]> {
  const keys = new GauthKeys({ mfa: { gauth: { encryptionKey: key } }, development: { enabled: false } } as unknown as CasConfig);
  keys.onModuleInit();
  const passwordHash = await hash(PASSWORD, {
    algorithm: 2, // Argon2id
    memoryCost: Number(ARGON2.ARGON2_MEMORY_KIB),
    timeCost: Number(ARGON2.ARGON2_TIME_COST),
    parallelism: Number(ARGON2.ARGON2_PARALLELISM),
  });
  const users = Array.from({ length: settings.mfaUsers }, (_, i) => ({ name: `mfa${i + 1}`, secret: authenticator.generateSecret(20), id: randomUUID() }));
  const encrypted = await Promise.all(users.map((u) => keys.encrypt(u.id, u.secret)));
  await ctx.sql.query(
    `INSERT INTO users (username, username_key, password_hash) SELECT u, k, $3 FROM unnest($1::varchar[], $2::text[]) AS x(u, k)`,
    [users.map((u) => u.name), users.map((u) => usernameKey(u.name)), passwordHash],
  );
  await ctx.sql.query(
    `INSERT INTO gauth_credentials (id, username_key, username, device_name, secret_encrypted, registered_at, confirmed_at)
     SELECT id, k, u, 'bench phone', s, now(), now() FROM unnest($1::uuid[], $2::text[], $3::varchar[], $4::text[]) AS x(id, k, u, s)`,
    [users.map((u) => u.id), users.map((u) => usernameKey(u.name)), users.map((u) => u.name), encrypted],
  );
  return users.map(({ name, secret }) => ({ name, secret }));
}

/** The code the user's authenticator app shows now. */
function codeNow(secret: string): string {
  return authenticator.clone({ ...TOTP, epoch: Date.now() }).generate(secret);
}

/** What one connection carries through the requests of a login (autocannon's context, fresh per login). */
interface LoginContext {
  t0?: number;
  user?: BenchUser;
  cookies?: Record<string, string>;
  execution?: string;
}

function keepCookies(c: LoginContext, headers: Record<string, string | string[]>): void {
  c.cookies ??= {};
  for (const line of [headers['set-cookie'] ?? []].flat()) {
    const pair = line.split(';')[0];
    const i = pair.indexOf('=');
    if (i > 0 && i < pair.length - 1) c.cookies[pair.slice(0, i)] = pair.slice(i + 1);
    else if (i > 0) delete c.cookies[pair.slice(0, i)];
  }
}

const cookieHeader = (c: LoginContext) => Object.entries(c.cookies ?? {}).map(([k, v]) => `${k}=${v}`).join('; ');
const executionIn = (body: string) => /name="execution" value="([^"]+)"/.exec(body)?.[1];
const ticketIn = (status: number, headers: Record<string, string | string[]>) => status === 302 && /[?&]ticket=ST-/.test(String(headers.location ?? ''));

/** Whole-login outcomes of a run: the requests of a login share them through these callbacks. */
interface Logins {
  requests: autocannon.Request[];
  /** Set by measureLogins: where a finished login reports (latency in ms, or failed). */
  done?: (ms: number | null) => void;
}

/** GET the form, keeping its cookies and execution token; the login's clock starts here. */
function formRequest(path: string, cursor: UserCursor): autocannon.Request {
  return {
    method: 'GET',
    path,
    setupRequest: (r, context) => {
      const c = context as LoginContext;
      c.t0 = performance.now();
      c.user = cursor.take();
      return r;
    },
    onResponse: (_status, body, context, headers) => {
      const c = context as LoginContext;
      keepCookies(c, (headers ?? {}) as Record<string, string | string[]>);
      c.execution = executionIn(body);
    },
  };
}

/** A form POST of the login with the cookies and token so far; null (the login abandoned, counted failed) without a token. */
function postRequest(fields: (c: LoginContext) => Record<string, string>, logins: Logins, last: boolean, next?: (c: LoginContext, status: number, body: string) => void): autocannon.Request {
  return {
    method: 'POST',
    path: '/cas/login',
    setupRequest: (r, context) => {
      const c = context as LoginContext;
      if (!c.execution) {
        logins.done?.(null);
        return null as unknown as autocannon.Request;
      }
      return {
        ...r,
        headers: { ...r.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(c) },
        body: new URLSearchParams({ ...fields(c), execution: c.execution }).toString(),
      };
    },
    onResponse: (status, body, context, headers) => {
      const c = context as LoginContext;
      const h = (headers ?? {}) as Record<string, string | string[]>;
      keepCookies(c, h);
      if (last) logins.done?.(ticketIn(status, h) ? performance.now() - c.t0! : null);
      else next!(c, status, body);
    },
  };
}

function passwordLogin(service: string, cursor: UserCursor): Logins {
  const logins: Logins = { requests: [] };
  logins.requests = [
    formRequest(`/cas/login?service=${encodeURIComponent(service)}`, cursor),
    postRequest((c) => ({ username: c.user!.name, password: PASSWORD, _eventId: 'submit' }), logins, true),
  ];
  return logins;
}

function mfaLogin(service: string, cursor: UserCursor): Logins {
  const logins: Logins = { requests: [] };
  logins.requests = [
    formRequest(`/cas/login?service=${encodeURIComponent(service)}&authn_method=mfa-gauth`, cursor),
    // The code page: 200 with a new execution token (the pending login) and a token field; else
    // no token, and the code POST abandons the login.
    postRequest((c) => ({ username: c.user!.name, password: PASSWORD, _eventId: 'submit' }), logins, false, (c, status, body) => {
      c.execution = status === 200 && body.includes('name="token"') ? executionIn(body) : undefined;
    }),
    // The code is computed as the request is built, as the user would read it off the phone.
    postRequest((c) => ({ token: codeNow(c.user!.secret), _eventId: 'mfa' }), logins, true),
  ];
  return logins;
}

/** describe() of a login run: every figure is per login, not per request. */
export function describeLogins(r: LoadResult): string {
  return describe(r).replace('CPU per request', 'CPU per login');
}

/**
 * The two kinds of login measured in the order password, TOTP, TOTP, password (ABBA), each
 * window half of BENCH_DURATION, each kind's halves added up: the neighbours' load on this box
 * drifts within a minute, and this order gives both kinds the same share of a steady drift.
 */
async function measurePair(
  a: { label: string; logins: Logins },
  b: { label: string; logins: Logins },
  url: string,
  pid: number,
  postmasterPid: number | null,
): Promise<[LoadResult, LoadResult]> {
  const half = settings.duration / 2;
  const runs: Window[] = [];
  for (const [kind, i] of [[a, 1], [b, 1], [b, 2], [a, 2]] as const) runs.push(await measureLogins(`${kind.label} (${i}/2)`, url, kind.logins, pid, postmasterPid, half));
  const result: [LoadResult, LoadResult] = [added(a.label, [runs[0], runs[3]]), added(b.label, [runs[1], runs[2]])];
  result.forEach((r) => log(describeLogins(r)));
  return result;
}

/** One measured window of logins, with every finished login's time (ms). */
interface Window {
  result: LoadResult;
  times: number[];
}

/**
 * measure() for logins of several requests: BENCH_CONNECTIONS connections each doing one login
 * after another. A login takes a few requests and, at the hash's rate, a second or more: started
 * fresh, the run would need that long to fill and would cut the logins under way at its end. So
 * one autocannon run covers warm-up, the measured window and a second after it, and only the
 * window counts: logins finished in it (ok/bad, rps = logins/s, p50/p99 of a whole login) and the
 * node's and Postgres's CPU over it. Socket errors and timeouts are the whole run's.
 */
async function measureLogins(label: string, url: string, logins: Logins, pid: number, postmasterPid: number | null, seconds: number): Promise<Window> {
  let counting = false;
  let ok = 0;
  let bad = 0;
  const times: number[] = [];
  logins.done = (ms) => {
    if (!counting) return;
    if (ms === null) bad++;
    else {
      ok++;
      times.push(ms);
    }
  };
  const run = cannon({ url, connections: settings.connections, headers: { 'user-agent': UA }, requests: logins.requests, duration: settings.warmup + seconds + 1 });
  await sleep(settings.warmup * 1000);
  await resetStatements();
  let rssMax = 0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 250);
  const meter = new CpuMeter([pid], postmasterPid);
  meter.start();
  const w0 = Number(process.hrtime.bigint() / 1000n);
  counting = true;
  await sleep(seconds * 1000);
  counting = false;
  const w1 = Number(process.hrtime.bigint() / 1000n);
  const cpu = meter.stop();
  clearInterval(rssTimer);
  await topStatements(label, 3);
  const r = await run;
  times.sort((x, y) => x - y);
  const result: LoadResult = {
    label, rps: ok / ((w1 - w0) / 1e6), ok, bad, errors: r.errors + r.timeouts, p50: Math.round(pct(times, 50)), p99: Math.round(pct(times, 99)), cpu, rssMaxMb: rssMax, window: [w0, w1],
  };
  log(describeLogins(result));
  return { result, times };
}

/** Windows of one kind of login as one: counts and CPU added, percentiles over all their logins. */
function added(label: string, windows: Window[]): LoadResult {
  const rs = windows.map((w) => w.result);
  const sum = (f: (r: LoadResult) => number) => rs.reduce((s, r) => s + f(r), 0);
  const times = windows.flatMap((w) => w.times).sort((x, y) => x - y);
  const seconds = sum((r) => r.cpu.seconds);
  const nodeCpu = sum((r) => r.cpu.nodeCpu);
  const pgCpu = sum((r) => r.cpu.pgCpu);
  const ok = sum((r) => r.ok);
  return {
    label,
    rps: ok / sum((r) => (r.window[1] - r.window[0]) / 1e6),
    ok,
    bad: sum((r) => r.bad),
    errors: sum((r) => r.errors),
    p50: Math.round(pct(times, 50)),
    p99: Math.round(pct(times, 99)),
    cpu: {
      seconds,
      nodeCpu,
      pgCpu,
      nodeCores: nodeCpu / seconds,
      pgCores: pgCpu / seconds,
      loadGenCores: sum((r) => r.cpu.loadGenCores * r.cpu.seconds) / seconds,
      otherCores: sum((r) => r.cpu.otherCores * r.cpu.seconds) / seconds,
    },
    rssMaxMb: Math.max(...rs.map((r) => r.rssMaxMb ?? 0)),
    window: [rs[0].window[0], rs[rs.length - 1].window[1]],
  };
}

/**
 * SPLIT_LOGINS logins taken to the code page (GET form + POST password), then their codes POSTed,
 * 10 at a time; the server's and Postgres's CPU read over each of the two POST phases alone.
 */
async function splitCodePost(
  ctx: BenchContext, base: string, pid: number, cursor: UserCursor,
): Promise<Pick<MfaLoginFigures, 'codePost' | 'passwordPost'> & { window: [number, number] }> {
  const forms = await parallel(SPLIT_LOGINS, 10, async () => {
    const user = cursor.take();
    const res = await fetch(`${base}/cas/login?service=${encodeURIComponent(ctx.service)}&authn_method=mfa-gauth`, { headers: { 'user-agent': UA } });
    const c: LoginContext = { user, execution: executionIn(await res.text()) };
    keepCookies(c, { 'set-cookie': res.headers.getSetCookie() });
    return c;
  });
  const post = async (c: LoginContext, fields: Record<string, string>) => {
    const res = await fetch(`${base}/cas/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(c), 'user-agent': UA },
      body: new URLSearchParams({ ...fields, execution: c.execution ?? '' }).toString(),
    });
    keepCookies(c, { 'set-cookie': res.headers.getSetCookie() });
    return { status: res.status, location: res.headers.get('location') ?? '', body: await res.text() };
  };

  // The load runs before left thousands of new rows: vacuumed and checkpointed now, so that no
  // autovacuum or checkpoint started by them runs inside these two short phases (Postgres's CPU
  // here is every process of the cluster, its background workers included).
  await ctx.sql.query('VACUUM ANALYZE tickets, session_services, used_login_executions, gauth_used_codes, gauth_credentials');
  await ctx.sql.query('CHECKPOINT');
  const meter1 = new CpuMeter([pid], ctx.postmasterPid);
  meter1.start();
  await parallel(forms.length, 10, async (i) => {
    const c = forms[i];
    const page = await post(c, { username: c.user!.name, password: PASSWORD, _eventId: 'submit' });
    c.execution = page.status === 200 && page.body.includes('name="token"') ? executionIn(page.body) : undefined;
  });
  const cpu1 = meter1.stop();
  const ready = forms.filter((c) => c.execution);

  await ctx.sql.query('CHECKPOINT');
  await resetStatements();
  const meter2 = new CpuMeter([pid], ctx.postmasterPid);
  meter2.start();
  const w0 = Number(process.hrtime.bigint() / 1000n);
  const results = await parallel(ready.length, 10, async (i) => {
    const res = await post(ready[i], { token: codeNow(ready[i].user!.secret), _eventId: 'mfa' });
    return ticketIn(res.status, { location: res.location });
  });
  const w1 = Number(process.hrtime.bigint() / 1000n);
  const cpu2 = meter2.stop();
  await topStatements('code POSTs alone');
  const n = ready.length;
  await trivialPostFloor(base, pid, ctx.postmasterPid, n);
  const failed = forms.length - n + results.filter((x) => !x).length;
  const codePost = { nodeMs: (cpu2.nodeCpu / n) * 1000, pgMs: (cpu2.pgCpu / n) * 1000, n, failed };
  const passwordPost = { nodeMs: (cpu1.nodeCpu / forms.length) * 1000, pgMs: (cpu1.pgCpu / forms.length) * 1000 };
  log(
    `mfa login, code POSTs alone (${n}, 10 at a time, ${failed} failed): Node ${codePost.nodeMs.toFixed(3)} ms, PG ${codePost.pgMs.toFixed(3)} ms CPU each; ` +
      `the password POSTs before them: Node ${passwordPost.nodeMs.toFixed(3)} ms, PG ${passwordPost.pgMs.toFixed(3)} ms each; other processes ${cpu2.otherCores.toFixed(2)} cores`,
  );
  return { codePost, passwordPost, window: [w0, w1] };
}

/**
 * The floor of the code POST's CPU goal: as many trivial POSTs as code POSTs, 10 at a time, from
 * the same client, on the same node right after them (POST /cas/account/sessions/logout without a TGC:
 * a 401 "log in first" page through the same body and cookie parsing, global hooks and Nest router;
 * no SQL, no crypto). What any POST costs this server at this concurrency, logged beside the
 * code POST's figure (not a goal figure).
 */
async function trivialPostFloor(base: string, pid: number, postmasterPid: number | null, n: number): Promise<void> {
  const meter = new CpuMeter([pid], postmasterPid);
  meter.start();
  const statuses = await parallel(n, 10, async () => {
    const res = await fetch(`${base}/cas/account/sessions/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA },
      body: 'csrf=x&session=y',
    });
    await res.text();
    return res.status;
  });
  const cpu = meter.stop();
  const answered = statuses.filter((st) => st === 401).length;
  log(
    `mfa login, trivial POSTs (the floor: POST /cas/account/sessions/logout without a TGC, ${n}, 10 at a time, ${n - answered} not answered 401): ` +
      `Node ${((cpu.nodeCpu / n) * 1000).toFixed(3)} ms, PG ${((cpu.pgCpu / n) * 1000).toFixed(3)} ms CPU each; other processes ${cpu.otherCores.toFixed(2)} cores`,
  );
}

/**
 * otplib's check as the product calls it (GauthCredentials.checkTotp: window [1, 1]) of a wrong
 * code, the worst case (all three steps computed), in this process: µs per check.
 */
function otplibCheck(secret: string): number {
  const n = 5000;
  const wrong = String((Number(codeNow(secret)) + 1) % 1_000_000).padStart(6, '0');
  for (let i = 0; i < 500; i++) authenticator.clone({ ...TOTP, window: [1, 1], epoch: Date.now() }).checkDelta(wrong, secret);
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) authenticator.clone({ ...TOTP, window: [1, 1], epoch: Date.now() }).checkDelta(wrong, secret);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / n;
}

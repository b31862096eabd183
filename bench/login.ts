/**
 * `npm run bench:login`: password verification and login throughput on this machine.
 *
 * Prints: argon2id verify time (sequential) and verifies/s with 2 in parallel for the configured
 * parameters; then, against the real server (a child process on an embedded Postgres), POST /login
 * logins/s and latency at 50 concurrent browsers (form GET + credential POST + 302 with an ST), and
 * the p50 of a wrong password vs an unknown user (they must not differ: no user enumeration).
 *
 * `npm run bench:login -- statements`: every statement one password login's POST issues (a user of
 * the `users` table, a registered service), with throttling on (the default) and off, from
 * pg_stat_statements (top-level and nested), with the commits it makes: the round-trip count that
 * decides the login's Postgres CPU (docs/benchmarks.md).
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { createApp } from '../src/app.setup';
import { loadCasConfig } from '../src/config/cas-config';
import { exportJWK, generateKeyPair } from 'jose';
import { Client } from 'pg';
import { authenticator } from 'otplib';
import { GauthCredentials } from '../src/auth/mfa/gauth/gauth-credentials';
import { UsersService } from '../src/auth/users.service';
import { loginForm } from './browser';
import { benchDatabase, PRODUCTION_FLAGS } from './cluster';
import { cpuSeconds, pct, postgresPids } from './lib';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const ARGON2 = { memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? 19456), timeCost: Number(process.env.ARGON2_TIME_COST ?? 2), parallelism: 1 };

async function measureHash(): Promise<void> {
  const h = await hash('correct horse battery staple', { ...ARGON2, algorithm: 2 });
  for (let i = 0; i < 5; i++) await verify(h, 'x');
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = process.hrtime.bigint();
    await verify(h, 'wrong password');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  let done = 0;
  const until = Date.now() + 3000;
  const worker = async () => {
    while (Date.now() < until) {
      await verify(h, 'wrong password');
      done++;
    }
  };
  const t0 = Date.now();
  await Promise.all([worker(), worker()]);
  const perSecond = done / ((Date.now() - t0) / 1000);
  console.log(`argon2id m=${ARGON2.memoryCost} KiB t=${ARGON2.timeCost} p=1 (@node-rs/argon2)`);
  console.log(`  verify: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms (sequential)`);
  console.log(`  verifies/s with 2 in parallel: ${perSecond.toFixed(0)}`);
}

/** Child process: the real application on an embedded Postgres; sends its port to the parent. */
async function serve(): Promise<void> {
  const dir = process.env.BENCH_DIR!;
  const db = await benchDatabase(dir, ['-c', 'synchronous_commit=on']);
  const config = loadCasConfig({
    DATABASE_URL: db.url,
    CAS_DATA_DIR: join(dir, 'data'),
    CAS_SERVICE_REGISTRY_JSON_LOCATION: join(dir, 'services'),
    AUTHN_THROTTLE_ENABLED: 'false', // all load comes from one address
    CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon', // DATABASE_URL is set: no development defaults
    LOG_LEVEL: 'error',
    ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
    ARGON2_TIME_COST: String(ARGON2.timeCost),
  });
  const app = await createApp({ ...config, port: 0 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as { port: number };
  process.send!({ port });
  process.on('message', async () => {
    await app.close();
    await db.stop();
    process.exit(0);
  });
}

async function loginOnce(base: string, username: string, password: string): Promise<{ status: number; ms: number }> {
  const form = await loginForm(base, 'https://app.example.org/');
  const t0 = process.hrtime.bigint();
  const status = await submitLogin(base, username, password, form);
  return { status, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** POSTs a login form's username and password; the answer's status (read whole). */
async function submitLogin(base: string, username: string, password: string, { cookie, execution }: { cookie: string; execution: string }): Promise<number> {
  const res = await fetch(`${base}/cas/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ username, password, execution }).toString(),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A work directory (readable by the embedded Postgres's user) with the one registered service both modes log in to. */
function benchDirWithApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cas-bench-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'services'));
  writeFileSync(
    join(dir, 'services', 'app.json'),
    JSON.stringify({ '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'App', serviceId: '^https://app\\.example\\.org/.*' }),
  );
  return dir;
}

async function measureServer(): Promise<void> {
  const dir = benchDirWithApp();
  const child = fork(__filename, ['serve'], { env: { ...process.env, BENCH_DIR: dir } });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 20; i++) await loginOnce(base, 'casuser', 'Mellon');
    const latencies: number[] = [];
    let ok = 0;
    let errors = 0;
    const until = Date.now() + DURATION_MS;
    const worker = async () => {
      while (Date.now() < until) {
        const r = await loginOnce(base, 'casuser', 'Mellon');
        if (r.status === 302) {
          ok++;
          latencies.push(r.ms);
        } else errors++;
      }
    };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(`POST /login (password → TGT + ST + 302), ${CONCURRENCY} concurrent browsers, ${seconds.toFixed(1)} s:`);
    console.log(`  ${(ok / seconds).toFixed(1)} logins/s, p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms, ${errors} non-302`);

    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 60; i++) {
      wrong.push((await loginOnce(base, 'casuser', `bad-${i}`)).ms);
      unknown.push((await loginOnce(base, `nobody-${i}`, 'bad')).ms);
    }
    wrong.sort((a, b) => a - b);
    unknown.sort((a, b) => a - b);
    console.log(`  failed login p50: wrong password ${pct(wrong, 50).toFixed(1)} ms, unknown user ${pct(unknown, 50).toFixed(1)} ms`);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One login POST's statements, with the product's settings but `throttle` (and SESSION_EVENTS_WEBHOOKS
 * when `events`): the app in this process on a fresh embedded cluster; pg_stat_statements reset
 * after the form GET, read after the POST's 302.
 */
const DB_PASSWORD = 'Mellon-of-the-users-table';
/** Logins in a row whose Postgres time and WAL are added up (statements mode). */
const LOGINS = 200;

async function countStatements(): Promise<void> {
  const dir = benchDirWithApp();
  const db = await benchDatabase(dir, PRODUCTION_FLAGS);
  const pgss = new Client({ connectionString: db.url });
  await pgss.connect();
  await pgss.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const gauthKey = randomBytes(32).toString('base64url');
  const eventsKey = JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'bench' });
  try {
    const runs: [string, Record<string, string>][] = [
      ['throttling ON (the default)', { AUTHN_THROTTLE_ENABLED: 'true' }],
      ['throttling OFF (the bench nodes)', { AUTHN_THROTTLE_ENABLED: 'false' }],
      ['throttling ON, session events to one receiver', { AUTHN_THROTTLE_ENABLED: 'true', SESSION_EVENTS_WEBHOOKS: 'http://127.0.0.1:9/events|a-receiver-secret-of-32-characters-at-least', SESSION_EVENTS_SIGNING_KEY: eventsKey }],
    ];
    for (const [label, env] of runs) {
      const config = loadCasConfig({
        DATABASE_URL: db.url,
        CAS_DATA_DIR: join(dir, 'data'),
        CAS_SERVICE_REGISTRY_JSON_LOCATION: join(dir, 'services'),
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
        CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false',
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: gauthKey,
        LOG_LEVEL: 'error',
        ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
        ARGON2_TIME_COST: String(ARGON2.timeCost),
        ...env,
      });
      const app = await createApp({ ...config, port: 0 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.getHttpServer().address() as { port: number };
      const base = `http://127.0.0.1:${port}`;
      try {
        const users = app.get(UsersService);
        if (!(await users.list()).some((u) => u.username === 'dbuser')) await users.add('dbuser', DB_PASSWORD);
        // A first login warms the pool and the prepared statements.
        await postLogin(base, 'dbuser', DB_PASSWORD);
        await listStatements(pgss, db.postmasterPid, `POST /login (${label})`, () => loginForm(base, 'https://app.example.org/'), (f) => postLogin(base, 'dbuser', DB_PASSWORD, f));
        if (env.SESSION_EVENTS_WEBHOOKS) continue;
        // The TOTP code POST (mfa-gauth), each of its users once: a code is accepted once per step.
        const mfaUsers = await totpUsers(app, `${label.split(' ')[1]}-`, LOGINS + 2);
        const toCodePage = async (u: { name: string; secret: string }) => ({ u, form: await codePage(base, u.name) });
        const post = ({ u, form }: { u: { name: string; secret: string }; form: { cookie: string; execution: string } }) => postCode(base, u.secret, form);
        await post(await toCodePage(mfaUsers[0]));
        let next = 1;
        await listStatements(pgss, db.postmasterPid, `TOTP code POST (${label})`, () => toCodePage(mfaUsers[next++]), post);
      } finally {
        await app.close();
      }
    }
  } finally {
    await pgss.end();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One POST's statements (pg_stat_statements reset after `prepare`, read after `post`), then LOGINS
 * POSTs one after another: Postgres's own time per POST (execution and planning) and the WAL
 * written, figures the box's load hardly moves.
 */
async function listStatements<F>(pgss: Client, postmasterPid: number | null, label: string, prepare: () => Promise<F>, post: (f: F) => Promise<unknown>): Promise<void> {
  const form = await prepare();
  await pgss.query('SELECT pg_stat_statements_reset()');
  await post(form);
  const { rows } = await pgss.query<{ calls: string; toplevel: boolean; q: string }>(
    `SELECT calls, toplevel, regexp_replace(query, '\\s+', ' ', 'g') AS q FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
      ORDER BY toplevel DESC, q`,
  );
  // The session counter's deferred trigger runs at commit (pg_stat_statements lists its
  // statements as top-level); the outbox delivery kicked after the commit is no round trip of the POST.
  const kindOf = (r: { toplevel: boolean; q: string }) =>
    !r.toplevel || /sso_session_counts|^SELECT set_config|current_setting|^n <>|^\$1$/.test(r.q) ? 'trigger' : /^UPDATE slo_outbox|slo_outbox o SET/.test(r.q) ? 'delivery' : /service_registry_version/.test(r.q) ? 'poll' : 'trip';
  const count = (f: (r: { toplevel: boolean; q: string }) => boolean) => rows.filter(f).reduce((n, r) => n + Number(r.calls), 0);
  const trips = count((r) => kindOf(r) === 'trip');
  const begins = count((r) => kindOf(r) === 'trip' && /^(BEGIN|START TRANSACTION)/i.test(r.q));
  console.log(`\n${label}: ${trips} round trips, ${begins} explicit transactions`);
  for (const r of rows) {
    const kind = kindOf(r);
    if (r.calls === '0') continue;
    console.log(`  ${String(r.calls).padStart(3)} × ${kind === 'trip' ? '' : `(${kind === 'trigger' ? 'trigger, at commit' : kind === 'poll' ? "the service registry's poll, not the POST's" : 'outbox delivery, after the 302'}) `}${r.q.slice(0, 150)}`);
  }
  const forms: F[] = [];
  for (let i = 0; i < LOGINS; i++) forms.push(await prepare());
  await pgss.query('SELECT pg_stat_statements_reset()');
  const pgCpu = () => (postmasterPid ? postgresPids(postmasterPid).reduce((sum, pid) => sum + cpuSeconds(pid), 0) : NaN);
  const cpu0 = pgCpu();
  const lsn0 = (await pgss.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
  for (const f of forms) await post(f);
  // What the POSTs left running (the outbox delivery a 302 kicked) counts too.
  await new Promise((r) => setTimeout(r, 200));
  const cpu = pgCpu() - cpu0;
  const wal = Number((await pgss.query<{ b: string }>('SELECT pg_current_wal_lsn() - $1::pg_lsn AS b', [lsn0])).rows[0].b);
  const t = (await pgss.query<{ exec: number; plan: number }>(
    `SELECT sum(total_exec_time) FILTER (WHERE toplevel) AS exec, sum(total_plan_time) FILTER (WHERE toplevel) AS plan FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_current_wal_lsn%'`,
  )).rows[0];
  console.log(
    `  ${LOGINS} in a row, per POST: Postgres execution ${(Number(t.exec) / LOGINS).toFixed(3)} ms + planning ${(Number(t.plan) / LOGINS).toFixed(3)} ms ` +
      `(pg_stat_statements, top-level), WAL ${(wal / LOGINS).toFixed(0)} bytes; Postgres CPU (every process of the cluster, /proc) ${((cpu * 1000) / LOGINS).toFixed(2)} ms; by statement (plans made: a prepared statement on its generic plan makes none):`,
  );
  const each = await pgss.query<{ calls: string; plans: string; exec: number; plan: number; q: string }>(
    `SELECT calls, plans, total_exec_time AS exec, total_plan_time AS plan, regexp_replace(query, '\\s+', ' ', 'g') AS q FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND toplevel AND query NOT LIKE '%pg_stat_statements%'
        AND query NOT LIKE '%pg_current_wal_lsn%' AND total_exec_time + total_plan_time > 0
      ORDER BY total_exec_time + total_plan_time DESC LIMIT 8`,
  );
  for (const r of each.rows) {
    console.log(`    ${((r.exec + r.plan) / LOGINS).toFixed(3)} ms/POST: ${r.calls} calls, ${r.plans} plans, ${(r.exec / Number(r.calls)).toFixed(3)} + ${(r.plan / Math.max(1, Number(r.plans))).toFixed(3)} ms per plan  ${r.q.slice(0, 110)}`);
  }
}

/** `n` users of the `users` table, each with a confirmed TOTP device (its first code used at confirmation). */
async function totpUsers(app: Awaited<ReturnType<typeof createApp>>, prefix: string, n: number): Promise<{ name: string; secret: string }[]> {
  const users = app.get(UsersService);
  const gauth = app.get(GauthCredentials);
  const out: { name: string; secret: string }[] = [];
  for (let i = 0; i < n; i++) {
    const name = `totp-${prefix}${i}`;
    await users.add(name, DB_PASSWORD);
    const e = await gauth.enrol(name, 'bench phone');
    if (!(await gauth.confirm(e.credentialId, totpAt(e.secret, Date.now()))).ok) throw new Error('the device was not confirmed');
    out.push({ name, secret: e.secret });
  }
  return out;
}

const totpAt = (secret: string, epoch: number) => authenticator.clone({ digits: 6, step: 30, epoch }).generate(secret);

/** GET the form with authn_method=mfa-gauth, POST the password: the code page's cookies and token. */
async function codePage(base: string, username: string): Promise<{ cookie: string; execution: string }> {
  const page = await fetch(`${base}/cas/login?service=${encodeURIComponent('https://app.example.org/')}&authn_method=mfa-gauth`);
  const form = { cookie: page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), execution: /name="execution" value="([^"]+)"/.exec(await page.text())?.[1] ?? '' };
  const res = await fetch(`${base}/cas/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    body: new URLSearchParams({ username, password: DB_PASSWORD, execution: form.execution }).toString(),
  });
  const execution = /name="execution" value="([^"]+)"/.exec(await res.text())?.[1];
  if (res.status !== 200 || !execution) throw new Error(`no code page: HTTP ${res.status}`);
  return { cookie: form.cookie, execution };
}

/** The code of the next step (accepted: the window is ±1 step; the current one may be the confirmation's). */
async function postCode(base: string, secret: string, form: { cookie: string; execution: string }): Promise<void> {
  const res = await fetch(`${base}/cas/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    body: new URLSearchParams({ token: totpAt(secret, Date.now() + 30_000), execution: form.execution, _eventId: 'mfa' }).toString(),
  });
  await res.arrayBuffer();
  if (res.status !== 302) throw new Error(`code refused: HTTP ${res.status}`);
}

async function postLogin(base: string, username: string, password: string, form?: { cookie: string; execution: string }): Promise<{ status: number }> {
  const status = await submitLogin(base, username, password, form ?? (await loginForm(base, 'https://app.example.org/')));
  if (status !== 302) throw new Error(`login failed: HTTP ${status}`);
  return { status };
}

if (process.argv[2] === 'serve') {
  void serve();
} else if (process.argv[2] === 'statements') {
  countStatements().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  (async () => {
    await measureHash();
    await measureServer();
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

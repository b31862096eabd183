/**
 * Directory login (issue 12): a password login against a real slapd, compared in the same run with
 * a bare route doing the same directory work with the same client (goal: ≥ 0.8 × the bare route),
 * then /p3/serviceValidate on the node with LDAP configured, paired with a node without LDAP on the
 * same table just before (attributes are resolved at login: validation must not change, and slapd
 * must do nothing during it).
 *
 * The bare route is this file run as a child process (`directory-bare-route` below): bare Fastify,
 * ldapts connections pooled as the product pools them (src/auth/ldap/ldap-connection-pool.ts: up to
 * 10, bound once as the service account; a login takes one to search uid={user}, then one to bind
 * as the user, which is bound as the service account again after the answer is sent and before it
 * is reused), then the ticket work of the bare login route (INSERT TGT with the entry's
 * attributes + INSERT ST + 302), so that the pair differs only by the product's own code.
 */
import fastify from 'fastify';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { Pool } from 'pg';
import { newTicketId } from '../../src/tickets/ticket-ids';
import { PEOPLE_DN, startSlapd } from '../../test/helpers/slapd';
import { summariseProfile } from '../cpu-profile';
import { formPosts, loginForm, parallel } from '../browser';
import type { BenchContext } from '../context';
import { BENCH_TABLE, cpuSeconds, f0, f1, log } from '../lib';
import { LoadResult, measure } from '../measure';
import { Node, startNode } from '../nodes';
import { seedServiceTickets } from '../seed';
import { settings, UA } from '../settings';
import { validated, validationRequest } from './validation';

/** Directory users the logins rotate through (uid userN, password secret-N; test/helpers/slapd.ts). */
const USERS = 1000;
const ATTRIBUTES = ['cn', 'mail', 'memberOf'];
const BARE_MODE = 'directory-bare-route';

export interface DirectoryLoginFigures {
  bare: LoadResult;
  login: LoadResult;
  validation: LoadResult;
  /** The same validation on a node without LDAP, measured right before on the same table. */
  validationWithoutLdap: LoadResult;
}

/** user1 … userN, round robin: every request a different entry, as at a morning rush. */
function loginBodies(): () => string {
  let next = 0;
  return () => {
    const n = (next++ % USERS) + 1;
    return `username=user${n}&password=secret-${n}`;
  };
}

export async function directoryLoginStep(ctx: BenchContext): Promise<DirectoryLoginFigures> {
  const t0 = Date.now();
  const slapd = await startSlapd({ extraUsers: USERS });
  log(`directory login: slapd 2.5 (mdb, ppolicy, memberof) with ${USERS} extra users up in ${Date.now() - t0} ms at ${slapd.url}`);
  let node: Node | undefined;
  let plain: Node | undefined;
  try {
    // The node first, with its forms and STs issued, so that the bare route and the product run back to back.
    const ldapEnv = {
      DATABASE_URL: ctx.url,
      CAS_AUTHN_LDAP_0_TYPE: 'AUTHENTICATED',
      CAS_AUTHN_LDAP_0_LDAP_URL: slapd.url,
      CAS_AUTHN_LDAP_0_BASE_DN: PEOPLE_DN,
      CAS_AUTHN_LDAP_0_SEARCH_FILTER: 'uid={user}',
      CAS_AUTHN_LDAP_0_BIND_DN: slapd.serviceDn,
      CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: ATTRIBUTES.join(','),
    };
    node = await startNode('L', ctx.dir, ldapEnv);
    ctx.nodes.push(node);
    // A directory login costs no hash: the product goes well past the password login's rate, and a
    // reused form counts as a failure (3,000 ran out in a trial run at ~230/s with the failures).
    const forms = await parallel(Math.max(settings.loginForms, 10_000), 20, () => loginForm(node!.base, ctx.service));
    // Validation is compared with a node without LDAP on the same table, back to back (a pair, as
    // the ceilings are): enough STs for both runs.
    plain = await startNode('P', ctx.dir, { DATABASE_URL: ctx.url });
    ctx.nodes.push(plain);
    const sts = await seedServiceTickets(ctx.sql, ctx.service, 2 * Math.ceil(Math.max(20_000, 4000 * (settings.warmup + settings.duration))), 1000);
    await ctx.sql.query('VACUUM ANALYZE tickets');

    await ctx.sql.query(BENCH_TABLE);
    await ctx.sql.query('TRUNCATE bench_tickets');
    await ctx.sql.query('CHECKPOINT');
    const bare = await withSlapdCpu(slapd.pid, () => bareRoute(ctx, slapd.url, slapd.serviceDn, slapd.servicePassword));
    await ctx.sql.query('DROP TABLE bench_tickets');
    await ctx.sql.query('CHECKPOINT');

    const posts = formPosts(forms, loginBodies());
    const login = await withSlapdCpu(slapd.pid, () =>
      measure('POST /login, directory user (LDAP AUTHENTICATED, pooled)', node!.base, posts.request,
        (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [node!.pid], ctx.postmasterPid, node!.pid),
    );
    if (posts.used() > forms.length) log(`WARNING: the login form pool (${forms.length}) ran out; reused execution tokens count as failures`);
    if (FLOOR) await measureFloor(ctx, node);
    if (settings.cpuProfile) await profileLogins(ctx, ldapEnv, slapd.pid);

    const cursor = { next: 0 };
    const validationWithoutLdap = await measure(
      '/p3/serviceValidate, node without LDAP (pair)', plain.base, validationRequest(sts, ctx.service, cursor), validated, [plain.pid], ctx.postmasterPid, plain.pid,
    );
    const validation = await withSlapdCpu(slapd.pid, () =>
      measure('/p3/serviceValidate, LDAP configured', node!.base, validationRequest(sts, ctx.service, cursor), validated, [node!.pid], ctx.postmasterPid, node!.pid),
    );

    log(
      `directory login: product ${f1(login.rps)}/s (p99 ${login.p99} ms, ${login.bad + login.errors} failed) = ${(login.rps / bare.rps).toFixed(2)} × ` +
        `bare route ${f1(bare.rps)}/s (p99 ${bare.p99} ms, ${bare.bad + bare.errors} failed); goal ≥ 0.8 × bare`,
    );
    log(
      `directory login: /p3/serviceValidate with LDAP configured ${f0(validation.rps)}/s (p99 ${validation.p99} ms) = ` +
        `${(validation.rps / validationWithoutLdap.rps).toFixed(2)} × ${f0(validationWithoutLdap.rps)}/s on node P without LDAP, measured just before`,
    );
    return { bare, login, validation, validationWithoutLdap };
  } finally {
    for (const n of [node, plain]) {
      if (!n) continue;
      await n.stop();
      ctx.nodes.splice(ctx.nodes.indexOf(n), 1);
    }
    await slapd.stop();
  }
}

/**
 * BENCH_CPU_PROF: the directory login again on a node under --cpu-prof (not a goal figure): where
 * its CPU goes, by place and by function, measured run only.
 */
async function profileLogins(ctx: BenchContext, env: Record<string, string>, slapdPid: number): Promise<void> {
  const profDir = join(ctx.dir, 'prof-directory');
  const lp = await startNode('L-prof', ctx.dir, env, ['--cpu-prof', '--cpu-prof-dir', profDir]);
  try {
    const forms = await parallel(Math.max(settings.loginForms, 10_000), 20, () => loginForm(lp.base, ctx.service));
    const posts = formPosts(forms, loginBodies());
    const profiled = await withSlapdCpu(slapdPid, () =>
      measure('POST /login, directory user, under --cpu-prof (not a goal figure)', lp.base, posts.request,
        (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [lp.pid], ctx.postmasterPid, lp.pid),
    );
    await lp.stop();
    summariseProfile(profDir, profiled.window, 'the server during the directory login');
    summariseProfile(profDir, profiled.window, 'the server during the directory login', true);
  } finally {
    await lp.stop();
  }
}

/**
 * BENCH_DIRECTORY_FLOOR=1 (not a goal figure): what any POST costs this server before the login's
 * own work, on the same node right after the login run: POST /cas/account/sessions/logout without a TGC,
 * answered 401 with the account page's small "log in first" page by its controller (Fastify's body and
 * cookie parsing, the request-id, security-header and metrics hooks, Nest's router, no SQL, no
 * crypto). Its Node CPU per request is the floor every login pays on top of the bare route's.
 */
const FLOOR = process.env.BENCH_DIRECTORY_FLOOR === '1';

async function measureFloor(ctx: BenchContext, node: Node): Promise<void> {
  await measure('POST /cas/account/sessions/logout without a session (a trivial POST through the same hooks and router: the floor)', node.base, {
    method: 'POST',
    path: '/cas/account/sessions/logout',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA },
    body: 'csrf=x&session=y',
  }, (s) => s === 401, [node.pid], ctx.postmasterPid, node.pid);
}

/** Runs `run` and logs slapd's CPU per successful request over it (its warm-up included, so a slight overcount). */
async function withSlapdCpu(pid: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const before = cpuSeconds(pid);
  const r = await run();
  const used = cpuSeconds(pid) - before;
  log(`  slapd CPU during "${r.label}" (warm-up + run): ${f1(used)} s, ${r.ok ? ((used / r.ok) * 1000).toFixed(3) : 'n/a'} ms per request measured`);
  return r;
}

async function bareRoute(ctx: BenchContext, url: string, serviceDn: string, servicePassword: string): Promise<LoadResult> {
  const child = fork(__filename, [BARE_MODE], {
    env: { ...process.env, BENCH_DATABASE_URL: ctx.url, BENCH_LDAP_URL: url, BENCH_LDAP_BIND_DN: serviceDn, BENCH_LDAP_BIND_CREDENTIAL: servicePassword },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((ok, ko) => {
      child.once('message', (m: { port: number }) => ok(m.port));
      child.once('exit', (code) => ko(new Error(`the bare directory route exited with ${code}`)));
    });
    const body = loginBodies();
    return await measure('bare directory login route (search + user bind, pooled ldapts; INSERT TGT + INSERT ST + 302)', `http://127.0.0.1:${port}`, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA },
      setupRequest: (r) => ({ ...r, body: body() }),
    }, (s) => s === 302, [child.pid!], ctx.postmasterPid);
  } finally {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await gone;
    }
  }
}

/**
 * The service-bound connections, as the product's pool keeps them: up to 10, opened on demand,
 * a caller waits for one to come back when all are in use.
 */
class BarePool {
  private readonly idle: Client[] = [];
  private readonly waiters: ((c: Client) => void)[] = [];
  private size = 0;

  constructor(
    private readonly url: string,
    private readonly dn: string,
    private readonly password: string,
    private readonly max = 10,
  ) {}

  async take(): Promise<Client> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.size < this.max) {
      this.size++;
      const c = new Client({ url: this.url, connectTimeout: 5000, timeout: 5000 });
      await c.bind(this.dn, this.password);
      return c;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  give(c: Client): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(c);
    else this.idle.push(c);
  }

  /** After a user's bind: bound as the service account again, then back (the caller has answered already). */
  rebindAndGive(c: Client): void {
    c.bind(this.dn, this.password).then(
      () => this.give(c),
      (e: unknown) => {
        console.error(`bare route: rebind failed: ${String(e)}`);
        process.exit(1);
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((c) => c.unbind().catch(() => undefined)));
  }
}

/** The bare route's process: POST / with username and password → search, bind, INSERT TGT + ST, 302. */
async function serveBareRoute(): Promise<void> {
  const env = process.env;
  const ldap = new BarePool(env.BENCH_LDAP_URL!, env.BENCH_LDAP_BIND_DN!, env.BENCH_LDAP_BIND_CREDENTIAL!);
  const db = new Pool({ connectionString: env.BENCH_DATABASE_URL, max: 10 });
  db.on('error', () => undefined);
  const service = 'https://app.example.org/';
  const app = fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.post('/', async (req, reply) => {
    const form = req.body as Record<string, string>;
    const username = form.username ?? '';
    if (!/^user\d+$/.test(username) || !form.password) return reply.code(401).send('no');
    const searcher = await ldap.take();
    let entry;
    try {
      // The same filter the product builds for uid={user} (the name is a plain value here, checked above).
      ({ searchEntries: [entry] } = await searcher.search(PEOPLE_DN, { scope: 'sub', filter: `(uid=${username})`, attributes: ATTRIBUTES, sizeLimit: 2 }));
    } finally {
      ldap.give(searcher);
    }
    if (!entry) return reply.code(401).send('no');
    const binder = await ldap.take();
    try {
      await binder.bind(entry.dn, form.password);
    } catch {
      ldap.rebindAndGive(binder);
      return reply.code(401).send('no');
    }
    ldap.rebindAndGive(binder);
    const attributes = JSON.stringify(Object.fromEntries(ATTRIBUTES.map((a) => [a, [entry[a] ?? []].flat().map(String)])));
    const tgtId = newTicketId('TGT');
    const stId = newTicketId('ST');
    await db.query(
      `INSERT INTO bench_tickets (id, type, session_id, principal, created_at, expires_at, attributes)
       VALUES ($1, 'TGT', $1, $2, now(), now() + interval '2 hours', $3)`,
      [tgtId, username, attributes],
    );
    await db.query(
      `INSERT INTO bench_tickets (id, type, session_id, principal, service, created_at, expires_at)
       VALUES ($1, 'ST', $2, $3, $4, now(), now() + interval '10 seconds')`,
      [stId, tgtId, username, service],
    );
    return reply.code(302).header('location', `${service}?ticket=${stId}`).header('set-cookie', `TGC=${randomBytes(16).toString('hex')}`).send();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  process.on('message', async () => {
    await app.close();
    await ldap.close();
    await db.end();
    process.exit(0);
  });
}

if (require.main === module && process.argv[2] === BARE_MODE) {
  serveBareRoute().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

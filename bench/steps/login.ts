/** The bare login route, then POST /login with a password → TGT + ST + 302 (goal: a share of the bare route). */
import type autocannon from 'autocannon';
import { exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formPosts } from '../browser';
import type { BenchContext } from '../context';
import { log } from '../lib';
import { LoadResult, measure, measureCeiling } from '../measure';
import type { Node } from '../nodes';
import { UA } from '../settings';

/** Accounts the throttled run's logins take in turn (CAS_AUTHN_ACCEPT_USERS, password Mellon like casuser). */
const SPREAD_USERS = 200;

/**
 * BENCH_ONLY=password-login: throttling on in the product, as it runs by default, with its default
 * thresholds. Each login comes from its own address (X-Forwarded-For, the load generator being
 * the trusted proxy) for one of SPREAD_USERS accounts in turn, as logins reach a real server: from
 * one address and one account, every login would update the same two counter rows and wait for
 * each other's locks, which measures that queue, not a login.
 */
export const PASSWORD_LOGIN_THROTTLE = {
  AUTHN_THROTTLE_ENABLED: 'true',
  TRUSTED_PROXIES: '127.0.0.1',
  CAS_AUTHN_ACCEPT_USERS: ['casuser::Mellon', ...Array.from({ length: SPREAD_USERS }, (_, i) => `bench${i}::Mellon`)].join(','),
};

/**
 * A session-event receiver (RFC 8935 push) for BENCH_ONLY=password-login: 202 to every SET, counted.
 * In the bench's process, beside the load generator, as the logout sink is beside the nodes.
 */
export interface EventReceiver {
  url: string;
  received(): number;
  stop(): Promise<void>;
}

export async function eventReceiver(): Promise<EventReceiver> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events`, received: () => received, stop: () => new Promise((ok) => server.close(() => ok())) };
}

/**
 * The goal's "with history and events on": SESSION_EVENTS_WEBHOOKS to `receiver` (each login
 * queues its session-established SET in the outbox and the node delivers it, as in production)
 * and a fresh ES256 signing key. Session history has no switch: it is written when a session ends,
 * and a login without a previous session ends none.
 */
export async function sessionEventsEnv(receiver: EventReceiver): Promise<Record<string, string>> {
  // BENCH_LOGIN_EVENTS=off: the same step without receivers, to split what the events cost a login.
  if (process.env.BENCH_LOGIN_EVENTS === 'off') return {};
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    SESSION_EVENTS_WEBHOOKS: `${receiver.url}|a-bench-receiver-secret-of-32-characters`,
    SESSION_EVENTS_SIGNING_KEY: JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'bench' }),
  };
}

export async function loginStep(
  ctx: BenchContext, a: Node, forms: { cookie: string; execution: string }[], spread = false,
): Promise<{ bare: LoadResult; g3: LoadResult }> {
  const bare = await measureCeiling(ctx, 'login', 'bare login route (argon2id verify + INSERT TGT + INSERT ST + 302)', {
    method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }, body: 'username=casuser&password=Mellon',
  }, (s) => s === 302);
  // The last ceiling: its table goes before the product's run.
  await ctx.sql.query('DROP TABLE bench_tickets');
  await ctx.sql.query('CHECKPOINT');
  const label = spread ? 'POST /login with password (throttling on: each login its own address, 200 accounts in turn)' : 'POST /login with password';
  return { bare, g3: await measureLogins(ctx, a, forms, spread, label) };
}

/** POST /login with the forms `forms` (fetched from `a`), as loginStep measures it. */
async function measureLogins(ctx: BenchContext, a: Node, forms: { cookie: string; execution: string }[], spread: boolean, label: string): Promise<LoadResult> {
  let n = 0;
  const posts = formPosts(forms, () => (spread ? `username=bench${n % SPREAD_USERS}&password=Mellon` : 'username=casuser&password=Mellon'));
  const request: autocannon.Request = !spread ? posts.request : {
    ...posts.request,
    setupRequest: (r, context) => {
      const req = (posts.request.setupRequest as (r: autocannon.Request, c: object) => autocannon.Request)(r, context);
      const i = n++;
      return { ...req, headers: { ...req.headers, 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } };
    },
  };
  const r = await measure(label, a.base, request,
    (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], ctx.postmasterPid, a.pid);
  if (posts.used() > forms.length) log(`WARNING: the login form pool (${forms.length}) ran out; reused execution tokens count as failures`);
  return r;
}

/**
 * BENCH_ONLY=login-events: what session events cost a login, in one run. Two nodes on the same
 * database, throttling on as password-login runs it, one with a receiver (`on`) and one without
 * (`off`), measured in turns on, off, off, on (ABBA), each with its own forms, so that a
 * neighbour's burst or the hash's CPU drifting over the run falls on both sides.
 */
export async function loginEventsStep(
  ctx: BenchContext, on: Node, off: Node, formsOf: (n: Node) => Promise<{ cookie: string; execution: string }[]>,
): Promise<{ on: LoadResult[]; off: LoadResult[] }> {
  const out = { on: [] as LoadResult[], off: [] as LoadResult[] };
  for (const [side, node] of [['on', on], ['off', off], ['off', off], ['on', on]] as const) {
    const forms = await formsOf(node);
    await ctx.sql.query('CHECKPOINT');
    out[side].push(await measureLogins(ctx, node, forms, true, `POST /login, throttling on, session events ${side}`));
  }
  return out;
}

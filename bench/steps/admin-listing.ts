/**
 * The admin listing (GET /cas/actuator/ssoSessions) over the seeded table, on a node restarted
 * with DATABASE_URL (its boot time is the warm cold start): one user's sessions (the user path,
 * `/ssoSessions/users/{username}`: exactly that user, what the goal names), the usernames starting
 * with a prefix (`?username=`, a search), pages at random keyset cursors, the first page, and a
 * walk following `next` as a client would. The load client is this process, the node its own.
 */
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../context';
import { log, pct } from '../lib';
import { startNode } from '../nodes';
import { LIVE_IDS_TABLE } from '../seed';
import { ADMIN_SECRET, settings } from '../settings';
import { AdminTimer, profileFlags } from './admin-timing';

export interface ListingFigures {
  /** `/ssoSessions/users/{username}`: one user's sessions, exactly. */
  oneUser: { p50: number; p99: number };
  /** `?username=`: the sessions of the users whose name starts with it (a prefix search). */
  userPrefix: { p50: number; p99: number };
  page50: { p50: number; p99: number };
  /** The worst p99 of any page: at a random cursor, the first, or walked to. */
  anyPageP99: number;
  /** Node A2's start to its first 200, schema already up to date. */
  warmBootMs: number;
  /** Random live session ids, keyset cursors. */
  cursors: string[];
}

/** `users`: the principals the seed spread sessions over (user0 …), each asked for in turn; `name`: the node's. */
export async function adminListingStep(ctx: BenchContext, users = 10_000, name = 'A2'): Promise<ListingFigures> {
  log('admin listing over the seeded table (node A restarted: cold start with DATABASE_URL, schema up to date)');
  const a2 = await startNode(name, ctx.dir, { DATABASE_URL: ctx.url }, profileFlags(ctx, name));
  ctx.nodes.push(a2);
  const cursors = (await ctx.sql.query(`SELECT id FROM ${LIVE_IDS_TABLE} WHERE id LIKE 'TGT-%' ORDER BY random() LIMIT 1000`)).rows.map((r) => r.id as string);
  const base = `${a2.base}/cas/actuator/ssoSessions`;
  const auth = { authorization: `Bearer ${ADMIN_SECRET}` };
  const n = settings.adminRequests;
  const timer = new AdminTimer(ctx, a2);
  await timer.time('warm-up', 50, (i) => (i % 2 ? `${base}/users/user${i % users}` : `${base}?username=user${i % users}`), auth);
  // The floor of an admin GET: the same route, guard and audit row for a user without sessions (an
  // index probe that finds nothing): what is left of a request once its page costs nothing.
  await timer.time('the floor: a user without sessions (/ssoSessions/users/{nobody})', n, (i) => `${base}/users/nobody${i}`, auth);
  const oneUser = await timer.time("one user's sessions (/ssoSessions/users/{username})", n, (i) => `${base}/users/user${(i * 7919) % users}`, auth);
  const userPrefix = await timer.time('usernames starting with (?username=, a prefix search)', n, (i) => `${base}?username=user${(i * 7919) % users}`, auth);
  const page50 = await timer.time('a page of 50 at a random keyset cursor', n, (i) => `${base}?count=50&cursor=${cursors[i % cursors.length]}`, auth);
  const first = await timer.time('the first page (default 100)', n, () => base, auth);
  const walk: number[] = [];
  let next: string | undefined;
  for (let i = 0; i < Math.min(n, 100); i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}?count=100${next ? `&cursor=${next}` : ''}`, { headers: auth });
    const body = (await res.json()) as { next?: string };
    walk.push(performance.now() - t0);
    next = body.next;
    if (!next) break;
  }
  walk.sort((x, y) => x - y);
  log(`admin listing, walking ${walk.length} pages of 100 via next: p50 ${pct(walk, 50).toFixed(2)} ms, p99 ${pct(walk, 99).toFixed(2)} ms`);
  await a2.stop();
  ctx.nodes.length = 0;
  timer.summarise(`node ${name} during the admin listing's timed requests`);
  return { oneUser, userPrefix, page50, anyPageP99: Math.max(page50.p99, first.p99, pct(walk, 99)), warmBootMs: a2.readyMs, cursors };
}

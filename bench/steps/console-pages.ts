/**
 * The admin console's pages (issue 15: "pages load in ≤ 200 ms on the 1,000,000-ticket bench
 * data") over the seeded table, on a node of its own: the console is signed in to once with the
 * bench's admin token, then every page is loaded sequentially, as a browser would (the whole HTML
 * document; the stylesheet is cached). The figure is the client's time for the document.
 */
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import { startNode } from '../nodes';
import { ADMIN_SECRET, settings } from '../settings';
import { AdminTimer, profileFlags } from './admin-timing';

export interface ConsolePageFigures {
  pages: { page: string; p50: number; p99: number }[];
  worstP99: number;
  liveSessions: number;
}

/** Each console page, with a value that varies by request where the page takes one. */
export const CONSOLE_PAGES: [string, (i: number) => string][] = [
  ['overview', () => ''],
  ['sessions (newest)', () => '/sessions'],
  ['sessions, user prefix', (i) => `/sessions?username=user${10 + (i % 90)}`],
  ['sessions, ip /16', (i) => `/sessions?ip=${encodeURIComponent(`10.${i % 256}.0.0/16`)}`],
  ['sessions grouped by user', () => '/sessions?group=user'],
  ['sessions grouped by service', () => '/sessions?group=service'],
  ['sessions, users on several IPs', () => '/sessions?group=multipleIps'],
  ['services', () => '/services'],
  ['a service', () => '/services/1'],
  ['which service matches a URL', (i) => `/services/match?url=${encodeURIComponent(`https://app${i % 10}.example.org/`)}`],
  ['ended sessions of a user', (i) => `/sessions/history?user=user${10 + (i % 90)}`],
  ['users & throttles', () => '/users'],
  ['users, name prefix', (i) => `/users?q=user${i % 10}`],
  ['throttled now', () => '/users/throttles'],
  ['audit', () => '/audit'],
  ['audit, target contains', (i) => `/audit?target=${i % 2 ? 'ssoSessions' : 'nothing-matches'}`],
];

export async function consolePagesStep(ctx: BenchContext): Promise<ConsolePageFigures> {
  const live = Number((await ctx.sql.query(`SELECT count(*) AS n FROM tickets WHERE type = 'TGT' AND expires_at > now()`)).rows[0].n);
  log(`admin console pages over ${f0(live)} live sessions (node P)`);
  const p = await startNode('P', ctx.dir, { DATABASE_URL: ctx.url }, profileFlags(ctx, 'P'));
  ctx.nodes.push(p);
  const base = `${p.base}/cas/admin`;
  const signIn = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: ADMIN_SECRET }).toString(),
  });
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
  if (signIn.status !== 303 || !cookie) throw new Error(`console sign-in: HTTP ${signIn.status}`);
  const headers = { cookie };
  const n = Math.max(20, Math.round(settings.adminRequests / 5));
  const pages: ConsolePageFigures['pages'] = [];
  const timer = new AdminTimer(ctx, p);
  for (const [page, path] of CONSOLE_PAGES) pages.push({ page, ...(await timer.time(`console: ${page}`, n, (i) => `${base}${path(i)}`, headers)) });
  await p.stop();
  ctx.nodes.splice(ctx.nodes.indexOf(p), 1);
  timer.summarise('node P during the console pages');
  return { pages, worstP99: Math.max(...pages.map((x) => x.p99)), liveSessions: live };
}

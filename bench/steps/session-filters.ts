/**
 * The filtered admin listing and the session summaries (issue 14, "Finding sessions") over the
 * seeded table, on a node of its own: a page of 100 for each filter, then each summary and
 * multipleIps. The filters need users with several addresses, remember-me and multi-factor
 * sessions, which the seed does not make: every TGT, live and expired, gets them here, set-wise
 * (over the seed's origin): an address per user (10.x.y.z, one user in 8 on IPv6), a second
 * address for one session in 20, one of four devices, remember-me for one session in 10, a
 * multi-factor provider for one in 4.
 */
import type { Client } from 'pg';
import type { BenchContext } from '../context';
import { explain } from '../explain';
import { f0, log } from '../lib';
import { startNode } from '../nodes';
import { ADMIN_SECRET, settings } from '../settings';
import { AdminTimer, profileFlags } from './admin-timing';
import { pageStatement, SessionFilter, summaryStatement } from '../../src/tickets/session-search';

export interface SessionFilterFigures {
  /** Each filtered page: its query and its p50 / p99 (ms). */
  pages: { query: string; p50: number; p99: number }[];
  summaries: { query: string; p50: number; p99: number }[];
  worstPageP99: number;
  worstSummaryP99: number;
  liveSessions: number;
}

/** Sequential requests per summary: each reads every live session, a tenth of the pages' count is enough for a p99 of what it costs. */
const SUMMARY_REQUESTS = Math.max(20, Math.round(settings.adminRequests / 10));

export async function addOrigins(sql: Client): Promise<void> {
  const t0 = Date.now();
  await sql.query(`
    UPDATE tickets SET
      client_ip = CASE
        WHEN (hashtext(id) & 2147483647) % 20 = 0 THEN ('192.168.' || (hashtext(id) & 255) || '.' || ((hashtext(id) >> 8) & 255))::inet
        WHEN (hashtext(principal) & 2147483647) % 8 = 0 THEN ('2001:db8:' || to_hex(hashtext(principal) & 65535) || '::' || to_hex((hashtext(principal) >> 16) & 65535))::inet
        ELSE ('10.' || (hashtext(principal) & 255) || '.' || ((hashtext(principal) >> 8) & 255) || '.' || ((hashtext(principal) >> 16) & 255))::inet
      END,
      device_browser = (ARRAY['Firefox 133', 'Chrome 131', 'Safari 18', 'Edge 131'])[1 + (hashtext(id) & 2147483647) % 4],
      device_os = (ARRAY['Linux', 'Windows 10', 'iOS 18', 'Windows 11'])[1 + (hashtext(id) & 2147483647) % 4],
      device_type = (ARRAY['desktop', 'desktop', 'mobile', 'desktop'])[1 + (hashtext(id) & 2147483647) % 4],
      remember_me = (hashtext(id) & 2147483647) % 10 = 0,
      authentication_factors = CASE WHEN (hashtext(id) & 2147483647) % 4 = 0 THEN jsonb_build_object('mfa-gauth', created_at) END
    WHERE type = 'TGT'`);
  await sql.query('VACUUM ANALYZE tickets');
  log(`session origins set on every TGT in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export async function sessionFiltersStep(ctx: BenchContext): Promise<SessionFilterFigures> {
  await addOrigins(ctx.sql);
  const live = Number((await ctx.sql.query(`SELECT count(*) AS n FROM tickets WHERE type = 'TGT' AND expires_at > now()`)).rows[0].n);
  // What the search's indexes cost in space (their cost per login is one entry each, TGT rows only).
  const sizes = await ctx.sql.query(`SELECT indexname, pg_relation_size(indexname::regclass) AS bytes FROM pg_indexes
     WHERE tablename = 'tickets' AND indexname IN ('ix_tickets_tgt_principal_prefix', 'ix_tickets_tgt_client_ip', 'ix_tickets_tgt_expires')`);
  for (const r of sizes.rows) log(`${r.indexname}: ${f0(Number(r.bytes) / 1e6)} MB`);
  log(`filtered admin listing and summaries over ${f0(live)} live sessions (node F)`);
  const f = await startNode('F', ctx.dir, { DATABASE_URL: ctx.url }, profileFlags(ctx, 'F'));
  ctx.nodes.push(f);
  const timer = new AdminTimer(ctx, f);
  const base = `${f.base}/cas/actuator/ssoSessions`;
  const auth = { authorization: `Bearer ${ADMIN_SECRET}` };
  const n = settings.adminRequests;
  const enc = encodeURIComponent;
  // A filter per row, and two combined; `i` varies the value so each request is another question.
  const filters: [string, (i: number) => string][] = [
    ['ip=10.<x>.0.0/16', (i) => `ip=${enc(`10.${i % 256}.0.0/16`)}`],
    ['ip=<one address>', (i) => `ip=10.${i % 256}.${(i * 7) % 256}.${(i * 13) % 256}`],
    ['username=user<nn> (prefix)', (i) => `username=user${10 + (i % 90)}`],
    ['since=65m (half the live sessions)', () => 'since=65m'],
    ['idleSince=9m', () => 'idleSince=9m'],
    ['service=1', () => 'service=1'],
    ['mfa=true&rememberMe=true', () => 'mfa=true&rememberMe=true'],
    ['username=user1&ip=10.0.0.0/8&mfa=mfa-gauth', () => `username=user1&ip=${enc('10.0.0.0/8')}&mfa=mfa-gauth`],
  ];
  await timer.time('filtered warm-up', 50, (i) => `${base}?${filters[i % filters.length][1](i)}`, auth);
  const pages: SessionFilterFigures['pages'] = [];
  for (const [query, q] of filters) pages.push({ query, ...(await timer.time(`filtered page of 100, ${query}`, n, (i) => `${base}?count=100&${q(i)}`, auth)) });
  const summaries: SessionFilterFigures['summaries'] = [];
  for (const query of ['summary?groupBy=user', 'summary?groupBy=ip', 'summary?groupBy=net24', 'summary?groupBy=service', 'summary?groupBy=device', 'multipleIps']) {
    summaries.push({ query, ...(await timer.time(query, SUMMARY_REQUESTS, () => `${base}/${query}`, auth)) });
  }
  await f.stop();
  ctx.nodes.length = 0;
  timer.summarise('node F during the filtered pages and summaries');
  if (settings.explain) await explainFilters(ctx.sql);
  return {
    pages,
    summaries,
    worstPageP99: Math.max(...pages.map((p) => p.p99)),
    worstSummaryP99: Math.max(...summaries.map((s) => s.p99)),
    liveSessions: live,
  };
}

/** The plans behind the figures: the statements SessionSearch builds for some of the requests above. */
async function explainFilters(sql: Client): Promise<void> {
  const now = new Date();
  const lines = /Index|Scan|Sort|Limit|Aggregate|Execution|Planning Time|Rows Removed|One-Time|Gather/;
  const pages: [string, SessionFilter][] = [
    ['ip=10.7.0.0/16', { ip: '10.7.0.0/16' }],
    // A /16 whose sessions the planner overestimates from the address histogram (1,000-1,300 guessed, under 100 live).
    ['ip=10.1.0.0/16', { ip: '10.1.0.0/16' }],
    ['username=user12 (prefix)', { usernamePrefix: 'user12' }],
    ['idleSince=9m', { idleSince: new Date(now.getTime() - 9 * 60_000) }],
    ['mfa=true&rememberMe=true', { mfa: true, rememberMe: true }],
    ['service=1', { service: { registeredServiceId: 1 } }],
  ];
  for (const [label, filter] of pages) {
    const s = pageStatement({ kind: 'TGT', ...filter }, now, undefined, 100);
    await explain(sql, `filtered page of 100, ${label}`, s.text, s.values, lines);
  }
  for (const groupBy of ['user', 'service'] as const) {
    const s = summaryStatement({}, groupBy, now, 20);
    await explain(sql, `summary groupBy=${groupBy}`, s.text, s.values, lines);
  }
}

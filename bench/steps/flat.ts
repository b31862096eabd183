/**
 * BENCH_ONLY=flat (issue 16, "flat with size"): validation and SSO re-entry throughput, and the
 * admin listing's p99, with BENCH_FLAT_FROM tickets in the table (100,000), then again after the
 * table grew to BENCH_FLAT_TO (10,000,000) by set-based SQL (seed.ts: generate_series, a few
 * statements of 200,000 sessions, no round trip per row). Each figure at the big size is judged as
 * a ratio to the small one. Each stage has its own nodes, STs and SSO sessions, and its ceilings
 * (C1, C2: their own small table) measured right before, to tell the table's size from the box's
 * drift. The seed's shape is the default run's (1 live ticket : 10 expired, 1 TGT : 4 STs), with a
 * constant number of sessions per user (2 live, 20 expired), so that one user's sessions are as
 * many at either size: the users grow with the table.
 */
import { browserLogin, parallel } from '../browser';
import type { BenchContext } from '../context';
import { BENCH_TABLE, f0, log } from '../lib';
import type { LoadResult } from '../measure';
import { startNode } from '../nodes';
import { seedBulk, seedServiceTickets } from '../seed';
import { settings } from '../settings';
import { adminListingStep, type ListingFigures } from './admin-listing';
import { ssoStep } from './sso';
import { validationStep } from './validation';

/** Sessions per user of each kind: ten times as many expired as live, the same users. */
const PER_USER = { expired: 20, live: 2 };

export interface FlatStage {
  /** Tickets in the table when the stage began (its seed, plus the STs and sessions earlier stages left). */
  tickets: number;
  /** tickets + session_services with their indexes, in bytes. */
  bytes: number;
  c1: LoadResult;
  g1: LoadResult;
  c2: LoadResult;
  g2: LoadResult;
  listing: ListingFigures;
}

export interface FlatFigures {
  small: FlatStage;
  big: FlatStage;
  /** Seconds the growth from the small to the big size took (inserts, indexes, VACUUM ANALYZE). */
  growSeconds: number;
}

interface Seeded {
  expired: number;
  live: number;
}

/** The sessions of each kind for `tickets` tickets (5 per session, 1 live : 10 expired). */
const sessionsFor = (tickets: number): Seeded => ({ expired: Math.round((tickets * 10) / 55), live: Math.round(tickets / 55) });

export async function flatStep(ctx: BenchContext): Promise<FlatFigures> {
  const { flatFrom, flatTo } = settings;
  await ctx.sql.query(BENCH_TABLE);
  const migrate = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url });
  await migrate.stop();
  await ctx.sql.query('TRUNCATE tickets, session_services, slo_outbox, used_login_executions, admin_audit');
  // The bench's own connection builds the indexes the seed drops and rebuilds: room to sort.
  await ctx.sql.query(`SET maintenance_work_mem = '1GB'`);
  let seeded: Seeded = { expired: 0, live: 0 };
  seeded = (await grow(ctx, seeded, flatFrom)).seeded;
  const small = await stage(ctx, 'small', seeded);
  const grown = await grow(ctx, seeded, flatTo);
  const big = await stage(ctx, 'big', grown.seeded);
  return { small, big, growSeconds: grown.seconds };
}

/** Seeds the sessions missing from `seeded` to reach `tickets`, then VACUUM ANALYZE and a CHECKPOINT. */
async function grow(ctx: BenchContext, seeded: Seeded, tickets: number): Promise<{ seeded: Seeded; seconds: number }> {
  const target = sessionsFor(tickets);
  const t0 = Date.now();
  log(`flat: growing the table to ${f0(tickets)} tickets (${f0(5 * (target.expired - seeded.expired))} expired and ${f0(5 * (target.live - seeded.live))} live added by SQL)`);
  await seedBulk(ctx.sql, {
    service: ctx.service,
    expired: 5 * (target.expired - seeded.expired),
    live: 5 * (target.live - seeded.live),
    sessionsPerUser: PER_USER,
    after: seeded,
  });
  const inserted = (Date.now() - t0) / 1000;
  await ctx.sql.query('VACUUM ANALYZE tickets');
  await ctx.sql.query('VACUUM ANALYZE session_services');
  await ctx.sql.query('CHECKPOINT');
  const seconds = (Date.now() - t0) / 1000;
  log(`flat: grown in ${seconds.toFixed(0)} s (${inserted.toFixed(0)} s inserting and indexing, the rest VACUUM ANALYZE and CHECKPOINT)`);
  return { seeded: target, seconds };
}

/** Validation and SSO re-entry on a fresh node after their ceilings, then the admin listing on another. */
async function stage(ctx: BenchContext, label: string, seeded: Seeded): Promise<FlatStage> {
  const size = (await ctx.sql.query(`
    SELECT (SELECT count(*) FROM tickets)::bigint AS n,
           (pg_total_relation_size('tickets') + pg_total_relation_size('session_services'))::bigint AS bytes`)).rows[0];
  const tickets = Number(size.n);
  const bytes = Number(size.bytes);
  log(`flat, ${label}: ${f0(tickets)} tickets, tickets + session_services ${f0(bytes / 1e6)} MB`);
  const a = await startNode(`A-${label}`, ctx.dir, { DATABASE_URL: ctx.url });
  ctx.nodes.push(a);
  const { warmup, duration } = settings;
  const sts = await seedServiceTickets(ctx.sql, ctx.service, Math.ceil(Math.max(20_000, 4000 * (warmup + duration))), 1000);
  await ctx.sql.query('VACUUM ANALYZE tickets');
  const tgcs = await parallel(settings.ssoSessions, 10, () => browserLogin(a.base, ctx.service));
  const { c1, g1 } = await validationStep(ctx, a, sts);
  const { c2, g2 } = await ssoStep(ctx, a, tgcs);
  await a.stop();
  ctx.nodes.length = 0;
  // Users with live sessions: user0 … (the seed gives each PER_USER.live of them).
  const listing = await adminListingStep(ctx, Math.max(1, Math.floor(seeded.live / PER_USER.live)), `A2-${label}`);
  for (const r of [c1, g1, c2, g2]) r.label = `${r.label} (${label}: ${f0(tickets)} tickets)`;
  return { tickets, bytes, c1, g1, c2, g2, listing };
}

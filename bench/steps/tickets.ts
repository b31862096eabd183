/** The bulk the admin listing and the cleaner run over: BENCH_TICKETS expired and BENCH_LIVE_TICKETS live tickets. */
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import { seedBulk } from '../seed';
import { settings } from '../settings';

export interface TableSize {
  /** Tickets in the table, and how many of them have expired. */
  n: number;
  expired: number;
  /** tickets with its indexes, in bytes per ticket row. */
  bytesPerRow: number;
}

export async function seedTickets(ctx: BenchContext): Promise<TableSize> {
  const { sql } = ctx;
  log(`seeding ${f0(settings.tickets)} expired tickets (TGTs with 4 STs each) and ${f0(settings.liveTickets)} live ones`);
  await sql.query('TRUNCATE tickets, session_services, slo_outbox, used_login_executions, admin_audit');
  const seed0 = Date.now();
  await seedBulk(sql, { service: ctx.service, expired: settings.tickets, live: settings.liveTickets });
  await sql.query('VACUUM ANALYZE tickets');
  await sql.query('VACUUM ANALYZE session_services');
  await sql.query('CHECKPOINT');
  const size = (await sql.query(`
    SELECT pg_total_relation_size('tickets')::bigint AS t, pg_total_relation_size('session_services')::bigint AS s,
           (SELECT count(*) FROM tickets)::int AS n,
           (SELECT count(*) FROM tickets WHERE expires_at <= now())::int AS expired`)).rows[0];
  const bytesPerRow = Number(size.t) / size.n;
  log(`seeded in ${((Date.now() - seed0) / 1000).toFixed(1)} s: ${f0(size.n)} tickets (${f0(size.expired)} expired); tickets with indexes ${f0(Number(size.t) / 1e6)} MB = ${f0(bytesPerRow)} B/row; ` +
    `with session_services ${f0((Number(size.t) + Number(size.s)) / size.n)} B/ticket`);
  return { n: size.n, expired: Number(size.expired), bytesPerRow };
}

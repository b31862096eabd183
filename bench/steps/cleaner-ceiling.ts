/**
 * The cleaner's ceilings on this box, each on copies of the seeded tables, two loops at once (as
 * the cleaner's two nodes), nothing else running:
 *
 *   - same work: plain SQL doing exactly what the cleaner writes for the same rows, one statement
 *     per batch of sessions (the cleaner's batch size): the expired sessions claimed FOR UPDATE SKIP
 *     LOCKED and deleted with their tickets (the session-counting triggers of tickets copied with
 *     them) and their service records, one logout request per service reached queued in the
 *     outbox, one session history row per session with its services; then the expired STs/PTs.
 *     No Node logic: the goal's ceiling.
 *   - plain DELETE: `DELETE … WHERE id IN (SELECT … LIMIT 5000 FOR UPDATE SKIP LOCKED)` of ticket
 *     rows only, no session ended, no logout queued; printed beside it.
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import { settings } from '../settings';

export interface CleanerCeilings {
  /** Expired ticket rows per second of the same-work loops; NaN with BENCH_CEILING=0. */
  sameWork: number;
  /** Expired ticket rows per second of the plain DELETE loops; NaN with BENCH_CEILING=0. */
  plainDelete: number;
}

/** The product's default sessions per batch (TICKET_REGISTRY_CLEANER_BATCH_SIZE). */
const DEFAULT_BATCH = 1000;

export async function cleanerCeilingStep(ctx: BenchContext): Promise<CleanerCeilings> {
  if (!settings.cleanerCeiling) return { sameWork: NaN, plainDelete: NaN };
  const batch = Number(settings.cleanerBatch ?? DEFAULT_BATCH);
  log(`cleaner ceiling, same work: 2 loops of one statement per ${batch} expired sessions (claim SKIP LOCKED, delete tickets and service records, queue logout requests, write history rows) on copies of the seeded tables`);
  const same = await sameWorkCeiling(ctx, batch);
  const sameWork = same.rows / same.seconds;
  measuredCeiling.sameWork = sameWork;
  log(`cleaner ceiling, same work: ${f0(same.rows)} expired rows (${f0(same.sessions)} sessions, ${f0(same.requests)} logout requests, ${f0(same.history)} history rows) in ${same.seconds.toFixed(2)} s = ${f0(sameWork)} rows/s`);
  log('cleaner ceiling, plain DELETE: 2 loops of DELETE … LIMIT 5000 FOR UPDATE SKIP LOCKED on a copy of the seeded tickets, nothing else');
  const plain = await plainDeleteCeiling(ctx.sql, ctx.url);
  const plainDelete = plain.rows / plain.seconds;
  log(`cleaner ceiling, plain DELETE: ${f0(plain.rows)} expired rows in ${plain.seconds.toFixed(2)} s = ${f0(plainDelete)} rows/s`);
  return { sameWork, plainDelete };
}

/** Runs `loop` on two connections of their own at once; its rows summed, and the seconds both took. */
async function twoLoops<T extends Record<string, number>>(url: string, loop: (c: Client) => Promise<T>): Promise<{ totals: T; seconds: number }> {
  const clients = await Promise.all([0, 1].map(async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    return c;
  }));
  try {
    const t0 = performance.now();
    const results = await Promise.all(clients.map(loop));
    const seconds = (performance.now() - t0) / 1000;
    const totals = { ...results[0] };
    for (const k of Object.keys(totals)) (totals as Record<string, number>)[k] = results.reduce((s, r) => s + r[k], 0);
    return { totals, seconds };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const TABLES = [
  ['bench_clean', 'tickets'],
  ['bench_clean_ss', 'session_services'],
  ['bench_clean_outbox', 'slo_outbox'],
  ['bench_clean_history', 'session_history'],
] as const;

/**
 * One batch: what a cleaner batch writes for the seeded sessions (every ST to the bench's
 * registered service, a BACK_CHANNEL one whose logout URL is the service URL), as the product
 * builds it: a request per service URL (query, path parameters, fragment ignored) for the latest
 * ticket it received; the history row's reason from the deadline that passed, its ended_at that
 * deadline, its services with their request ids. The tables are reached by their indexes
 * (enable_seqscan off in the batch's transaction: at 220k rows the planner hash-joined the victims
 * to sequential scans of tickets and session_services, 207 + 77 ms of a 1,000-session batch), the
 * CTEs joined to each other by hash.
 */
const sameWorkBatch = (batch: number) => `WITH victims AS (
  SELECT id FROM bench_clean WHERE type = 'TGT' AND expires_at <= now() ORDER BY expires_at LIMIT ${batch} FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM bench_clean t USING victims v WHERE t.id = v.id RETURNING t.*
), tickets_gone AS (
  DELETE FROM bench_clean t USING victims v WHERE t.session_id = v.id AND t.id <> v.id RETURNING 1
), reached AS (
  DELETE FROM bench_clean_ss s USING victims v WHERE s.session_id = v.id
  RETURNING s.session_id, s.ticket_id, s.service, s.registered_service_id, s.issued_at, regexp_replace(s.service, '[?;#].*$', '') AS service_key
), latest AS (
  SELECT DISTINCT ON (session_id, service_key) session_id, ticket_id, service, registered_service_id, issued_at,
         count(*) OVER (PARTITION BY session_id, service_key) AS tickets, 'LR-' || substr(md5(random()::text || ticket_id), 1, 24) AS request_id
    FROM reached ORDER BY session_id, service_key, issued_at DESC
), services AS (
  SELECT session_id, jsonb_agg(jsonb_build_object('service', service, 'registered_service_id', registered_service_id, 'ticket_id', ticket_id,
                                                  'issued_at', issued_at, 'tickets', tickets, 'logout', 'BACK_CHANNEL',
                                                  'request_id', request_id, 'status', 'PENDING')) AS services
    FROM latest GROUP BY session_id
), queued AS (
  INSERT INTO bench_clean_outbox (id, session_id, ticket_id, principal, service, logout_url, reason, next_attempt_at, created_at)
  SELECT l.request_id, l.session_id, l.ticket_id, g.principal, l.service, l.service, 'EXPIRED', now(), now()
    FROM latest l JOIN gone g ON g.id = l.session_id
  RETURNING 1
), history AS (
  INSERT INTO bench_clean_history (session_id, principal, principal_key, created_at, last_used_at, ended_at, reason, ended_by, uses, remember_me,
                                   authentication_handler, authentication_factors, client_ip, user_agent, device_browser, device_os, device_type,
                                   location_country, location_city, services)
  SELECT g.id, g.principal, COALESCE(g.principal_key, lower(g.principal)), g.created_at, g.last_used_at, LEAST(g.expires_at, now()),
         CASE WHEN g.expires_at < g.hard_expires_at THEN 'EXPIRED_IDLE' ELSE 'EXPIRED_HARD' END, NULL, COALESCE(g.use_count, 0), COALESCE(g.remember_me, false),
         g.authentication_handler, g.authentication_factors, g.client_ip, g.user_agent, g.device_browser, g.device_os, g.device_type,
         g.location_country, g.location_city, COALESCE(s.services, '[]'::jsonb)
    FROM gone g LEFT JOIN services s ON s.session_id = g.id
  RETURNING 1
)
SELECT (SELECT count(*) FROM gone)::int AS sessions, (SELECT count(*) FROM tickets_gone)::int AS tickets,
       (SELECT count(*) FROM queued)::int AS requests, (SELECT count(*) FROM history)::int AS history`;

const SEQSCAN_OFF = 'SET LOCAL enable_seqscan = off';

async function explainSameWork(sql: Client, batch: number): Promise<void> {
  await sql.query('BEGIN');
  try {
    await sql.query(SEQSCAN_OFF);
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${sameWorkBatch(batch)}`);
    console.log(`#   EXPLAIN ANALYZE, cleaner ceiling, same work, one batch of ${batch} sessions (rolled back):`);
    for (const r of rows) console.log(`#     ${String(r['QUERY PLAN'])}`);
  } finally {
    await sql.query('ROLLBACK');
  }
}

const SERVICE_TICKETS_BATCH = (batch: number) => `DELETE FROM bench_clean WHERE id IN (
  SELECT id FROM bench_clean WHERE type IN ('ST', 'PT') AND expires_at <= now() ORDER BY expires_at LIMIT ${batch} FOR UPDATE SKIP LOCKED)`;

/**
 * Copies of the seeded tables the same-work statement runs on, with their indexes and the two
 * session-counting triggers of tickets; `restoreCounts` puts back the session counter those
 * triggers moved, `drop` removes the copies.
 */
export async function sameWorkCopies(sql: Client) {
  for (const [copy, table] of TABLES) await sql.query(`CREATE TABLE ${copy} (LIKE ${table} INCLUDING ALL)`);
  const counts = (await sql.query('SELECT slot, sessions FROM sso_session_counts')).rows as { slot: number; sessions: string }[];
  const restoreCounts = async () => {
    for (const c of counts) await sql.query('UPDATE sso_session_counts SET sessions = $2 WHERE slot = $1', [c.slot, c.sessions]);
  };
  const drop = async () => {
    for (const [copy] of TABLES) await sql.query(`DROP TABLE IF EXISTS ${copy}`);
    await restoreCounts();
  };
  try {
    const { rows: triggers } = await sql.query(`
      SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
       WHERE t.tgrelid = 'tickets'::regclass AND NOT t.tgisinternal AND (t.tgtype & 8) <> 0`);
    for (const t of triggers) await sql.query(String(t.def).replace(/ ON (public\.)?tickets /, ' ON bench_clean ').replace(/TRIGGER (\w+)/, 'TRIGGER $1_bench'));
    await sql.query('INSERT INTO bench_clean SELECT * FROM tickets');
    await sql.query('INSERT INTO bench_clean_ss SELECT * FROM session_services');
    for (const [copy] of TABLES) await sql.query(`VACUUM ANALYZE ${copy}`);
    await sql.query('CHECKPOINT');
  } catch (e) {
    await drop();
    throw e;
  }
  return { restoreCounts, drop };
}

export type SameWorkTotals = {
  rows: number;
  sessions: number;
  requests: number;
  history: number;
};

/**
 * One loop of the same-work ceiling on its own connection: batches until one comes back short,
 * then the expired STs/PTs. With `rowsPerSecond`, paced: after each batch it waits until its rows
 * so far are due at that rate (it runs flat out while behind); `until` (performance.now()) ends it
 * early.
 */
async function sameWorkLoop(c: Client, batch: number, pace?: { rowsPerSecond: number; until: number }): Promise<SameWorkTotals> {
  const t = { rows: 0, sessions: 0, requests: 0, history: 0 };
  const t0 = performance.now();
  const paced = async () => {
    if (!pace) return true;
    const wait = t0 + (t.rows / pace.rowsPerSecond) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, pace.until - performance.now()))));
    return performance.now() < pace.until;
  };
  for (let n = batch; n === batch; ) {
    const results = (await c.query(`BEGIN; ${SEQSCAN_OFF}; ${sameWorkBatch(batch)}; COMMIT`)) as unknown as { command: string; rows: Record<string, number>[] }[];
    const r = results.find((x) => x.command === 'SELECT')!.rows[0];
    n = r.sessions;
    t.sessions += r.sessions;
    t.rows += r.sessions + r.tickets;
    t.requests += r.requests;
    t.history += r.history;
    if (!(await paced())) return t;
  }
  for (let n = batch; n === batch; ) {
    n = (await c.query(SERVICE_TICKETS_BATCH(batch))).rowCount ?? 0;
    t.rows += n;
    if (!(await paced())) return t;
  }
  return t;
}

/**
 * The same-work ceiling's two loops, paced to `rowsPerSecond` together, on copies made beforehand
 * (sameWorkCopies): the cleaner step runs it under its validation load, to tell what doing this
 * work at that rate costs the validations on this box, whatever the cleaner's code.
 */
export async function pacedSameWork(url: string, batch: number, rowsPerSecond: number, until: number): Promise<SameWorkTotals & { seconds: number }> {
  const { totals, seconds } = await twoLoops(url, (c) => sameWorkLoop(c, batch, { rowsPerSecond: rowsPerSecond / 2, until }));
  return { ...totals, seconds };
}

/** What the last cleanerCeilingStep measured (rows/s), for the cleaner step's paced run of the same SQL under load. */
export const measuredCeiling = { sameWork: NaN };

async function sameWorkCeiling(ctx: BenchContext, batch: number) {
  const { sql } = ctx;
  const copies = await sameWorkCopies(sql);
  try {
    if (settings.explain) await explainSameWork(sql, batch);
    const { totals, seconds } = await twoLoops(ctx.url, (c) => sameWorkLoop(c, batch));
    return { ...totals, seconds };
  } finally {
    await copies.drop();
    await sql.query('CHECKPOINT');
  }
}

async function plainDeleteCeiling(sql: Client, url: string): Promise<{ rows: number; seconds: number }> {
  await sql.query('CREATE TABLE bench_clean (LIKE tickets INCLUDING DEFAULTS INCLUDING INDEXES)');
  try {
    await sql.query('INSERT INTO bench_clean SELECT * FROM tickets');
    await sql.query('VACUUM ANALYZE bench_clean');
    await sql.query('CHECKPOINT');
    const { totals, seconds } = await twoLoops(url, async (c) => {
      let rows = 0;
      for (let n = 5000; n === 5000; rows += n) {
        n = (await c.query(`DELETE FROM bench_clean WHERE id IN (SELECT id FROM bench_clean WHERE expires_at <= now() LIMIT 5000 FOR UPDATE SKIP LOCKED)`)).rowCount ?? 0;
      }
      return { rows };
    });
    return { rows: totals.rows, seconds };
  } finally {
    await sql.query('DROP TABLE bench_clean');
    await sql.query('CHECKPOINT');
  }
}

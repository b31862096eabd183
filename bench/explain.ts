/**
 * EXPLAIN ANALYZE of the statements the goals depend on, each in a transaction that is rolled
 * back. The only file of the bench that imports the product's SQL text.
 */
import type { Client } from 'pg';
import { claimDueSql } from '../src/tickets/logout/single-logout-outbox';
import { CLAIM_EXPIRED_SESSIONS_SQL, END_EXPIRED_SESSIONS_SQL, LIST_SESSIONS_SQL, STEER_CLEANER_JOINS_SQL } from '../src/tickets/ticket-statements';

/** The plan of `text` and where its time goes; only the plan lines matching `filter` are printed. */
export async function explain(sql: Client, label: string, text: string, params: unknown[], filter = /./): Promise<void> {
  await sql.query('BEGIN');
  try {
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
    console.log(`#   EXPLAIN ANALYZE, ${label}:`);
    for (const r of rows) {
      const line = String(r['QUERY PLAN']);
      if (filter.test(line)) console.log(`#     ${line}`);
    }
  } finally {
    await sql.query('ROLLBACK');
  }
}

/**
 * One cleaner batch of `sessions`, statement by statement, with the planner steering the cleaner
 * applies: the claim (locks), then the one statement that writes everything, every service
 * answered as BACK_CHANNEL to its own URL (the bench's services are).
 */
export async function explainCleanerBatch(sql: Client, sessions: number): Promise<void> {
  await sql.query('BEGIN');
  try {
    await sql.query(STEER_CLEANER_JOINS_SQL);
    const now = new Date();
    const ids = (await sql.query(CLAIM_EXPIRED_SESSIONS_SQL, [now, sessions])).rows.map((r) => r.id as string);
    const { rows: svc } = await sql.query(
      `SELECT COALESCE(jsonb_object_agg('i' || id, '{"t": "BACK_CHANNEL"}'::jsonb), '{}') AS answers FROM (SELECT DISTINCT registered_service_id AS id FROM session_services WHERE session_id = ANY($1) AND registered_service_id IS NOT NULL) x`,
      [ids],
    );
    await sql.query('ROLLBACK; BEGIN');
    await sql.query(STEER_CLEANER_JOINS_SQL);
    for (const [label, text, params] of [
      ['claim (lock) the TGTs', CLAIM_EXPIRED_SESSIONS_SQL, [now, sessions]],
      ['delete the sessions with their tickets and service records, queue their logout requests, write their history rows', END_EXPIRED_SESSIONS_SQL, [ids, now, JSON.stringify(svc[0].answers), true, false]],
    ] as const) {
      const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, [...params]);
      console.log(`#   EXPLAIN ANALYZE, cleaner batch of ${sessions} sessions, ${label} (rolled back):`);
      for (const r of rows) console.log(`#     ${String(r['QUERY PLAN'])}`);
    }
  } finally {
    await sql.query('ROLLBACK');
  }
}

/**
 * A page of the admin listing's sessions as the registry asks for it (LIST_SESSIONS_SQL, TGTs):
 * $1 now, $2 the cursor, $3 a principal key or null, $4 the page size.
 */
export const LISTING_PAGE_SQL = LIST_SESSIONS_SQL.replace(/\$5::text/g, "'TGT'::text");

/** A delivery claim of 20 logout requests (rolled back), e.g. halfway through a mass expiry's backlog. */
export async function explainDeliveryClaim(sql: Client, label: string): Promise<void> {
  await explain(sql, `delivery claim of 20 logout requests, ${label}`, claimDueSql(false), [new Date(), 20]);
}

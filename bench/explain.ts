/**
 * EXPLAIN ANALYZE of the statements the goals depend on, each in a transaction that is rolled
 * back. The only file of the bench that imports the product's SQL text.
 */
import type { Client } from 'pg';
import { claimDueSql } from '../src/tickets/logout/single-logout-outbox';
import { CLAIM_EXPIRED_SESSIONS_SQL, LIST_SESSIONS_SQL, REMOVE_SESSION_ROWS_SQL } from '../src/tickets/ticket-statements';

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

/** One cleaner batch of `sessions`, statement by statement, with the planner steering the cleaner applies. */
export async function explainCleanerBatch(sql: Client, sessions: number): Promise<void> {
  await sql.query('BEGIN');
  try {
    await sql.query('SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
    const ids = (await sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND expires_at <= now() ORDER BY expires_at LIMIT $1`, [sessions])).rows.map((r) => r.id as string);
    for (const [label, text, params] of [
      ['claim and delete the TGTs', CLAIM_EXPIRED_SESSIONS_SQL, [new Date(), sessions]],
      ["delete the sessions' tickets and service records", REMOVE_SESSION_ROWS_SQL, [ids]],
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

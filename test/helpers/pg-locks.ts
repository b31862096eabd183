import { setImmediate as nextTurn } from 'node:timers/promises';
import { Client } from 'pg';

/** How many backends are waiting right now for a lock that backend `pid` holds. */
export async function blockedBy(sql: Client, pid: number): Promise<number> {
  const { rows } = await sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
  return rows[0].n;
}

/**
 * Watches, query after query (no timer), whether a backend comes to wait for a lock `pid` holds
 * while `work` runs: true as soon as one does, false once `work` has settled without that.
 */
export async function blocksWhile(sql: Client, pid: number, work: Promise<unknown>): Promise<boolean> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    if ((await blockedBy(sql, pid)) > 0) return true;
    await nextTurn();
  }
  return false;
}

/** Resolves once `count` backends wait for a lock `pid` holds (the jest timeout is the only bound). */
export async function untilBlocking(sql: Client, pid: number, count = 1): Promise<void> {
  while ((await blockedBy(sql, pid)) < count) await nextTurn();
}

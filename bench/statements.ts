/** pg_stat_statements on the embedded cluster: the top statements of each measured run. */
import type { Client } from 'pg';
import { f0 } from './lib';

let pgss: Client | null = null;

/** From now on, measured runs reset the statistics before and print the top statements after. */
export async function enableStatements(sql: Client): Promise<void> {
  await sql.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  pgss = sql;
}

export async function resetStatements(): Promise<void> {
  await pgss?.query('SELECT pg_stat_statements_reset()');
}

export async function topStatements(label: string, n = 5): Promise<void> {
  if (!pgss) return;
  const { rows } = await pgss.query(
    `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, mean_plan_time AS plan, toplevel, regexp_replace(query, '\\s+', ' ', 'g') AS q
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'
      ORDER BY total_exec_time DESC LIMIT $1`,
    [n],
  );
  const all = Number((await pgss.query(`SELECT sum(total_exec_time) FILTER (WHERE toplevel) AS t FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'`)).rows[0].t);
  console.log(`#   pg_stat_statements, ${label}: top statements by execution time (top-level total ${f0(all)} ms; nested ones, e.g. FK cascades, also count inside their parent)`);
  for (const r of rows) {
    console.log(`#     ${f0(Number(r.total)).padStart(7)} ms ${((Number(r.total) / all) * 100).toFixed(0).padStart(3)}%  ${f0(Number(r.calls)).padStart(8)} calls  ${Number(r.mean).toFixed(3)} ms each${r.toplevel ? ` + ${Number(r.plan).toFixed(3)} ms planning` : ' (nested)'}  ${String(r.q).slice(0, 110)}`);
  }
}

/**
 * The cleaner's ceiling on this box: two loops at once, each deleting batches of expired rows from
 * a copy of the seeded tickets with `DELETE … WHERE id IN (SELECT … LIMIT 5000 FOR UPDATE SKIP
 * LOCKED)`, and nothing else: no sessions ended, no logout requests, no validation load.
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import { settings } from '../settings';

/** Expired rows per second the two plain loops delete; NaN with BENCH_CEILING=0. */
export async function cleanerCeilingStep(ctx: BenchContext): Promise<number> {
  log('cleaner ceiling: 2 plain DELETE … LIMIT 5000 FOR UPDATE SKIP LOCKED loops on a copy of the seeded tickets, nothing else running');
  const ceil = settings.cleanerCeiling ? await cleanerCeiling(ctx.sql, ctx.url) : { rows: NaN, seconds: NaN };
  const rate = ceil.rows / ceil.seconds;
  log(`cleaner ceiling: ${f0(ceil.rows)} expired rows in ${ceil.seconds.toFixed(2)} s = ${f0(rate)} rows/s`);
  return rate;
}

async function cleanerCeiling(sql: Client, url: string): Promise<{ rows: number; seconds: number }> {
  await sql.query('CREATE TABLE bench_clean (LIKE tickets INCLUDING DEFAULTS INCLUDING INDEXES)');
  try {
    await sql.query('INSERT INTO bench_clean SELECT * FROM tickets');
    await sql.query('VACUUM ANALYZE bench_clean');
    await sql.query('CHECKPOINT');
    const loops = [0, 1].map(async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      let rows = 0;
      try {
        for (let n = 5000; n === 5000; rows += n) {
          n = (await c.query(`DELETE FROM bench_clean WHERE id IN (SELECT id FROM bench_clean WHERE expires_at <= now() LIMIT 5000 FOR UPDATE SKIP LOCKED)`)).rowCount ?? 0;
        }
      } finally {
        await c.end();
      }
      return rows;
    });
    const t0 = performance.now();
    const rows = (await Promise.all(loops)).reduce((x, y) => x + y, 0);
    return { rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await sql.query('DROP TABLE bench_clean');
    await sql.query('CHECKPOINT');
  }
}

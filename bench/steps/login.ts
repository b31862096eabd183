/** The bare login route, then POST /login with a password → TGT + ST + 302 (goal: a share of the bare route). */
import type { BenchContext } from '../context';
import { log } from '../lib';
import { LoadResult, measure, measureCeiling } from '../measure';
import type { Node } from '../nodes';
import { UA } from '../settings';

export async function loginStep(ctx: BenchContext, a: Node, forms: { cookie: string; execution: string }[]): Promise<{ bare: LoadResult; g3: LoadResult }> {
  const bare = await measureCeiling(ctx, 'login', 'bare login route (argon2id verify + INSERT TGT + INSERT ST + 302)', {
    method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }, body: 'username=casuser&password=Mellon',
  }, (s) => s === 302);
  // The last ceiling: its table goes before the product's run.
  await ctx.sql.query('DROP TABLE bench_tickets');
  await ctx.sql.query('CHECKPOINT');
  let nextForm = 0;
  const g3 = await measure('POST /login with password', a.base, {
    method: 'POST',
    path: '/cas/login',
    setupRequest: (r) => {
      const f = forms[nextForm++ % forms.length];
      return {
        ...r,
        headers: { ...r.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
        body: `username=casuser&password=Mellon&execution=${encodeURIComponent(f.execution)}&_eventId=submit`,
      };
    },
  }, (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], ctx.postmasterPid, a.pid);
  if (nextForm > forms.length) log(`WARNING: the login form pool (${forms.length}) ran out; reused execution tokens count as failures`);
  return { bare, g3 };
}

/** The bare login route, then POST /login with a password → TGT + ST + 302 (goal: a share of the bare route). */
import { formPosts } from '../browser';
import type { BenchContext } from '../context';
import { log } from '../lib';
import { LoadResult, measure, measureCeiling } from '../measure';
import type { Node } from '../nodes';
import { UA } from '../settings';

/**
 * BENCH_ONLY=password-login: throttling on in the product, as it runs by default, with thresholds
 * no run reaches (every attempt comes from 127.0.0.1 for casuser; a success gives its slots back,
 * but 50 in flight hold 50).
 */
export const PASSWORD_LOGIN_THROTTLE = {
  AUTHN_THROTTLE_ENABLED: 'true', CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '1000000', AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '1000000', AUTHN_THROTTLE_DEVICE_THRESHOLD: '1000000',
};

export async function loginStep(ctx: BenchContext, a: Node, forms: { cookie: string; execution: string }[]): Promise<{ bare: LoadResult; g3: LoadResult }> {
  const bare = await measureCeiling(ctx, 'login', 'bare login route (argon2id verify + INSERT TGT + INSERT ST + 302)', {
    method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }, body: 'username=casuser&password=Mellon',
  }, (s) => s === 302);
  // The last ceiling: its table goes before the product's run.
  await ctx.sql.query('DROP TABLE bench_tickets');
  await ctx.sql.query('CHECKPOINT');
  const posts = formPosts(forms, () => 'username=casuser&password=Mellon');
  const g3 = await measure('POST /login with password', a.base, posts.request,
    (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], ctx.postmasterPid, a.pid);
  if (posts.used() > forms.length) log(`WARNING: the login form pool (${forms.length}) ran out; reused execution tokens count as failures`);
  return { bare, g3 };
}

/** C2, then SSO re-entry: GET /login?service= with a TGC → 302 with a new ST (goal: a share of C2). */
import type { BenchContext } from '../context';
import { LoadResult, measure, measureCeiling } from '../measure';
import type { Node } from '../nodes';

export async function ssoStep(ctx: BenchContext, a: Node, tgcs: string[]): Promise<{ c2: LoadResult; g2: LoadResult }> {
  const c2 = await measureCeiling(ctx, 'c2', 'C2 (INSERT + consume UPDATE … RETURNING)', { method: 'GET', path: '/' }, (s) => s === 200);
  await ctx.sql.query('CHECKPOINT');
  let nextTgc = 0;
  const ssoPath = `/cas/login?service=${encodeURIComponent(ctx.service)}`;
  const g2 = await measure('SSO re-entry GET /login?service= with TGC', a.base, {
    method: 'GET',
    setupRequest: (r) => ({ ...r, path: ssoPath, headers: { ...r.headers, cookie: tgcs[nextTgc++ % tgcs.length] } }),
  }, (s, _b, h) => s === 302 && /[?&]ticket=ST-/.test(h.location ?? ''), [a.pid], ctx.postmasterPid, a.pid);
  return { c2, g2 };
}

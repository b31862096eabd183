/** C2, then SSO re-entry: GET /login?service= with a TGC → 302 with a new ST (goal: a share of C2). */
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { summariseProfile } from '../cpu-profile';
import { LoadResult, measure, measureCeiling } from '../measure';
import { Node, startNode } from '../nodes';

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

/** BENCH_CPU_PROF with BENCH_ONLY=hot-paths: a node under --cpu-prof runs the SSO load again; where its CPU went, by function (not a goal figure). */
export async function profileSso(ctx: BenchContext, tgcs: string[]): Promise<void> {
  const profDir = join(ctx.dir, 'prof-sso');
  const ap = await startNode('A-prof-sso', ctx.dir, { DATABASE_URL: ctx.url }, ['--cpu-prof', '--cpu-prof-dir', profDir]);
  let nextTgc = 0;
  const ssoPath = `/cas/login?service=${encodeURIComponent(ctx.service)}`;
  const profiled = await measure('SSO re-entry under --cpu-prof (not a goal figure)', ap.base, {
    method: 'GET',
    setupRequest: (r) => ({ ...r, path: ssoPath, headers: { ...r.headers, cookie: tgcs[nextTgc++ % tgcs.length] } }),
  }, (s) => s === 302, [ap.pid], ctx.postmasterPid);
  await ap.stop();
  summariseProfile(profDir, profiled.window, 'the server during SSO re-entry');
  summariseProfile(profDir, profiled.window, 'the server during SSO re-entry', true);
}

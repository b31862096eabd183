/** C1, then /p3/serviceValidate of STs issued beforehand (goal: a share of C1, measured right after it). */
import type autocannon from 'autocannon';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { summariseProfile } from '../cpu-profile';
import { log } from '../lib';
import { LoadResult, measure, measureCeiling } from '../measure';
import { Node, startNode } from '../nodes';

/** /p3/serviceValidate requests, each with the next fresh ST of the pool. */
export function validationRequest(pool: string[], service: string, cursor: { next: number }): autocannon.Request {
  const prefix = `/cas/p3/serviceValidate?service=${encodeURIComponent(service)}&ticket=`;
  return {
    method: 'GET',
    setupRequest: (r) => ({ ...r, path: prefix + pool[cursor.next++ % pool.length] }),
  };
}

export const validated = (status: number, body: string) => status === 200 && body.includes('<cas:authenticationSuccess>');

export interface ValidationFigures {
  c1: LoadResult;
  g1: LoadResult;
  /** Where the ST pool stands: a later run (the profiled one) goes on with fresh tickets. */
  cursor: { next: number };
}

export async function validationStep(ctx: BenchContext, a: Node, sts: string[]): Promise<ValidationFigures> {
  const c1 = await measureCeiling(ctx, 'c1', 'C1 (INSERT + SELECT by PK)', { method: 'GET', path: '/' }, (s) => s === 200);
  await ctx.sql.query('CHECKPOINT');
  const cursor = { next: 0 };
  const g1 = await measure('/p3/serviceValidate', a.base, validationRequest(sts, ctx.service, cursor), validated, [a.pid], ctx.postmasterPid, a.pid);
  if (g1.ok + g1.bad > sts.length) log(`WARNING: the ST pool (${sts.length}) ran out; reused tickets count as failures`);
  return { c1, g1, cursor };
}

/** BENCH_CPU_PROF: a node under --cpu-prof runs the validation load again; where its CPU went (not a goal figure). */
export async function profileValidation(ctx: BenchContext, sts: string[], cursor: { next: number }): Promise<void> {
  const profDir = join(ctx.dir, 'prof');
  const ap = await startNode('A-prof', ctx.dir, { DATABASE_URL: ctx.url }, ['--cpu-prof', '--cpu-prof-dir', profDir]);
  const profiled = await measure('/p3/serviceValidate under --cpu-prof (not a goal figure)', ap.base, validationRequest(sts, ctx.service, cursor), validated, [ap.pid], ctx.postmasterPid);
  await ap.stop();
  summariseProfile(profDir, profiled.window);
}

/**
 * What node A's measured runs consume, issued before they start so that issuing costs nothing
 * inside them: STs by SQL for validation, SSO sessions from real logins for re-entry, and
 * single-use login forms (execution token + CASLOGIN cookie) for the password login.
 */
import { browserLogin, loginForm, parallel } from '../browser';
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import type { Node } from '../nodes';
import { seedServiceTickets } from '../seed';
import { settings } from '../settings';

export interface Issued {
  sts: string[];
  tgcs: string[];
  forms: { cookie: string; execution: string }[];
}

/** STs at up to 4,000 validations/s over warm-up and run (twice with the extra profiled run), at least 20,000. */
export async function preIssue(ctx: BenchContext, a: Node): Promise<Issued> {
  const { warmup, duration, cpuProfile } = settings;
  const sts = await seedServiceTickets(ctx.sql, ctx.service, Math.ceil(Math.max(20_000, 4000 * (warmup + duration) * (cpuProfile ? 2 : 1))), 1000);
  await ctx.sql.query('VACUUM ANALYZE tickets');
  const tgcs = await parallel(settings.ssoSessions, 10, () => browserLogin(a.base, ctx.service));
  const forms = await parallel(settings.loginForms, 20, () => loginForm(a.base, ctx.service));
  log(`pairs: each ceiling (bench/servers.ts, a child process) right before the product route it bounds; ${f0(sts.length)} STs, ${tgcs.length} SSO sessions, ${f0(forms.length)} login forms issued beforehand`);
  return { sts, tgcs, forms };
}

/**
 * `npm run bench`: the ceilings and the product, measured in one run on this machine, printed as
 * raw figures and as ratios against the goals of GOALS.md (goals.ts), PASS/MISS each; the table
 * and the environment are also kept in bench/results/<YYYY-MM-DD>.md.
 *
 *   1. Postgres: an embedded cluster (fsync and synchronous_commit on, shared_buffers=256MB), or
 *      DATABASE_URL (a throwaway database: the bench creates and truncates tables in it).
 *   2. Ceilings and the product in pairs, each ceiling (a tiny server of servers.ts) right before
 *      the route it bounds on node A (`node dist/src/main.js`): C1 and /p3/serviceValidate, C2 and
 *      SSO re-entry, the bare login route and the password login.
 *   3. BENCH_TICKETS expired tickets and BENCH_LIVE_TICKETS live ones: the admin listing over them,
 *      the cleaner's ceiling, then the cleaner on 2 nodes under validation load.
 *   4. Multi-factor login: password + TOTP vs password alone on one node (steps/mfa-login.ts).
 *   5. Cold start; the goals table.
 *
 * Settings (BENCH_*) in settings.ts. Scale down for a quick run: BENCH_TICKETS=100000 BENCH_DURATION=5 npm run bench
 * One step alone: BENCH_ONLY=mfa-login npm run bench (about a minute), BENCH_ONLY=session-filters (seed, then the
 * filtered listing and the summaries), BENCH_ONLY=console-pages (seed, then every admin console page),
 * BENCH_ONLY=scrape (seed, then Prometheus scrapes over it),
 * BENCH_ONLY=hot-paths (the validation and SSO re-entry pairs only: a change's cost on them),
 * BENCH_ONLY=admin-listing (seed, then the unfiltered listing: one user's sessions, pages, a walk along next),
 * BENCH_ONLY=flat (validation, SSO re-entry and the admin listing at BENCH_FLAT_FROM tickets, then grown to
 * BENCH_FLAT_TO: 100k → 10M by default, about 8 GB of disk; quick: BENCH_FLAT_TO=1000000),
 * BENCH_ONLY=cold-start (node dist/src/main.js with its embedded Postgres, and npm start with DATABASE_URL).
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { summariseProfile } from './cpu-profile';
import { BenchContext, closeBench, openBench } from './context';
import { explain, explainCleanerBatch, LISTING_PAGE_SQL } from './explain';
import { cleanerGoalRows, coldStartGoalRows, consolePageGoalRows, Figures, flatGoalRows, GoalRow, goalRows, mfaGoalRows, scrapeGoalRows, sessionFilterGoalRows } from './goals';
import { BENCH_TABLE, load, log } from './lib';
import { describe } from './measure';
import { startNode } from './nodes';
import { table, verdicts, writeResults } from './report';
import { settings } from './settings';
import { adminListingStep } from './steps/admin-listing';
import { cleanerStep } from './steps/cleaner';
import { cleanerCeilingStep } from './steps/cleaner-ceiling';
import { coldStartStep } from './steps/cold-start';
import { consolePagesStep } from './steps/console-pages';
import { directoryLoginStep } from './steps/directory-login';
import { eventReceiver, loginEventsStep, loginStep, PASSWORD_LOGIN_THROTTLE, sessionEventsEnv } from './steps/login';
import { loginForm, parallel } from './browser';
import { flatStep } from './steps/flat';
import { describeLogins, mfaLoginStep } from './steps/mfa-login';
import { preIssue } from './steps/pre-issue';
import { addOrigins, sessionFiltersStep } from './steps/session-filters';
import { rssStep } from './steps/rss';
import { scrapeStep } from './steps/scrape';
import { profileSso, ssoStep } from './steps/sso';
import { seedTickets, type TableSize } from './steps/tickets';
import { profileValidation, validationStep } from './steps/validation';

async function measureAll(ctx: BenchContext): Promise<Figures> {
  // Ceilings and the product in pairs measured back to back: the neighbours' load on this box
  // drifts from minute to minute, and a ratio is only fair within a pair.
  await ctx.sql.query(BENCH_TABLE);
  log('product: node A (node dist/src/main.js), first boot runs the migrations');
  const a = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url });
  ctx.nodes.push(a);
  const issued = await preIssue(ctx, a);
  const { c1, g1, cursor } = await validationStep(ctx, a, issued.sts);
  const { c2, g2 } = await ssoStep(ctx, a, issued.tgcs);
  const { bare, g3 } = await loginStep(ctx, a, issued.forms);
  if (settings.cpuProfile) {
    await a.stop();
    await profileValidation(ctx, issued.sts, cursor);
  }
  const rssAtLoadMb = Math.max(g1.rssMaxMb ?? 0, g2.rssMaxMb ?? 0, g3.rssMaxMb ?? 0);
  await a.stop();
  ctx.nodes.length = 0;
  const directory = await directoryLoginStep(ctx);
  const mfa = await mfaLoginStep(ctx);

  const size = await seedTickets(ctx);
  const listing = await adminListingStep(ctx);
  const sessionFilters = await sessionFiltersStep(ctx);
  const consolePages = await consolePagesStep(ctx);
  if (settings.explain) {
    await explainCleanerBatch(ctx.sql, Number(settings.cleanerBatch ?? 1000));
    await explain(ctx.sql, 'admin listing, a page of 50 at a random cursor', LISTING_PAGE_SQL, [new Date(), listing.cursors[0], null, 50]);
  }
  const cleanerCeiling = await cleanerCeilingStep(ctx);
  const cleaner = await cleanerStep(ctx, g1.rps, size);
  const coldStart = await coldStartStep(ctx, listing.warmBootMs, a.readyMs);
  return { c1, g1, c2, g2, bare, g3, directory, mfa, rssAtLoadMb, size, listing, sessionFilters, consolePages, cleanerCeiling, cleaner, coldStart, liveTickets: settings.liveTickets };
}

/** A node's first boot migrates the schema the seed writes into; then the seed alone. */
async function migratedAndSeeded(ctx: BenchContext): Promise<TableSize> {
  await ctx.sql.query(BENCH_TABLE);
  const a = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url });
  await a.stop();
  return seedTickets(ctx);
}

/** BENCH_ONLY=<step>: that step alone, on its own node; its rows only. */
async function measureOnly(ctx: BenchContext, step: string): Promise<GoalRow[]> {
  if (step === 'session-filters') {
    const size = await migratedAndSeeded(ctx);
    return sessionFilterGoalRows(await sessionFiltersStep(ctx), size);
  }
  if (step === 'console-pages') {
    // With the origins the session filters need, then the console's pages.
    const size = await migratedAndSeeded(ctx);
    await addOrigins(ctx.sql);
    return consolePageGoalRows(await consolePagesStep(ctx), size);
  }
  if (step === 'scrape') {
    const size = await migratedAndSeeded(ctx);
    return scrapeGoalRows(await scrapeStep(ctx), size);
  }
  if (step === 'admin-listing') {
    await migratedAndSeeded(ctx);
    const l = await adminListingStep(ctx);
    console.log(`\nAdmin listing: one user's sessions p50 ${l.oneUser.p50.toFixed(2)} ms, p99 ${l.oneUser.p99.toFixed(2)} ms; a page of 50 at a random cursor p50 ${l.page50.p50.toFixed(2)} ms, p99 ${l.page50.p99.toFixed(2)} ms; any page p99 ${l.anyPageP99.toFixed(2)} ms`);
    return [];
  }
  if (step === 'hot-paths') {
    await ctx.sql.query(BENCH_TABLE);
    const a = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url });
    ctx.nodes.push(a);
    const issued = await preIssue(ctx, a);
    const { c1, g1 } = await validationStep(ctx, a, issued.sts);
    const { c2, g2 } = await ssoStep(ctx, a, issued.tgcs);
    await a.stop();
    ctx.nodes.length = 0;
    if (settings.cpuProfile) await profileSso(ctx, issued.tgcs);
    console.log('\nValidation and SSO re-entry, in pairs:\n');
    for (const r of [c1, g1, c2, g2]) console.log(`  ${describe(r)}`);
    return [];
  }
  if (step === 'rss') {
    await rssStep(ctx);
    return [];
  }
  if (step === 'password-login') {
    // The bare login route and POST /login, with throttling ON in the product (its default) and session events on.
    await ctx.sql.query(BENCH_TABLE);
    const receiver = await eventReceiver();
    // BENCH_CPU_PROF: the node runs under --cpu-prof (its figures are then not goal figures); where its CPU went during the POSTs.
    const profDir = join(ctx.dir, 'prof-login');
    const a = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url, ...PASSWORD_LOGIN_THROTTLE, ...(await sessionEventsEnv(receiver)) }, settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []);
    ctx.nodes.push(a);
    const forms = await parallel(settings.loginForms, 20, () => loginForm(a.base, ctx.service));
    const { bare, g3 } = await loginStep(ctx, a, forms, true);
    await a.stop();
    ctx.nodes.length = 0;
    if (settings.cpuProfile) summariseProfile(profDir, g3.window, 'the server during POST /login (throttling and session events on)', true);
    console.log('\nPassword login, throttling ON in the product, in a pair:\n');
    for (const r of [bare, g3]) console.log(`  ${describe(r)}`);
    console.log(`  ratio ${(g3.rps / bare.rps).toFixed(2)}; session events received by the receiver: ${receiver.received()}`);
    await receiver.stop();
    return [];
  }
  if (step === 'login-events') {
    // POST /login with session events on and off, two nodes in turns (ABBA): what the events cost a login.
    const receiver = await eventReceiver();
    const on = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url, ...PASSWORD_LOGIN_THROTTLE, ...(await sessionEventsEnv(receiver)) });
    ctx.nodes.push(on);
    const off = await startNode('B', ctx.dir, { DATABASE_URL: ctx.url, ...PASSWORD_LOGIN_THROTTLE });
    ctx.nodes.push(off);
    const m = await loginEventsStep(ctx, on, off, (n) => parallel(settings.loginForms, 20, () => loginForm(n.base, ctx.service)));
    console.log('\nPOST /login, throttling on, session events on (node A) and off (node B), in turns on, off, off, on:\n');
    for (const r of [m.on[0], m.off[0], m.off[1], m.on[1]]) console.log(`  ${describe(r)}`);
    const per = (rs: typeof m.on, f: (r: (typeof rs)[number]) => number) => rs.reduce((x, r) => x + f(r), 0) / rs.length;
    const ms = (rs: typeof m.on, f: (r: (typeof rs)[number]) => number) => (per(rs, (r) => (f(r) / Math.max(1, r.ok)) * 1000)).toFixed(3);
    console.log(`  logins/s on/off ${(per(m.on, (r) => r.rps) / per(m.off, (r) => r.rps)).toFixed(2)}; per login, on vs off: Node ${ms(m.on, (r) => r.cpu.nodeCpu)} vs ${ms(m.off, (r) => r.cpu.nodeCpu)} ms, PG ${ms(m.on, (r) => r.cpu.pgCpu)} vs ${ms(m.off, (r) => r.cpu.pgCpu)} ms; session events received: ${receiver.received()}`);
    await receiver.stop();
    return [];
  }
  if (step === 'flat') {
    const m = await flatStep(ctx);
    console.log('\nValidation and SSO re-entry with their ceilings, small table then big:\n');
    for (const r of [m.small.c1, m.small.g1, m.small.c2, m.small.g2, m.big.c1, m.big.g1, m.big.c2, m.big.g2]) console.log(`  ${describe(r)}`);
    return flatGoalRows(m);
  }
  if (step === 'cold-start') {
    // The first boot migrates (its time is logged), the second is the warm one with DATABASE_URL.
    const first = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url });
    await first.stop();
    const warm = await startNode('A2', ctx.dir, { DATABASE_URL: ctx.url });
    await warm.stop();
    return coldStartGoalRows(await coldStartStep(ctx, warm.readyMs, first.readyMs), warm.readyMs);
  }
  if (step === 'cleaner') {
    // Seed, the ceilings, then the cleaner on two nodes; the validation load is BENCH_CLEAN_LOAD ×
    // BENCH_G1_RPS (the /p3/serviceValidate rate the full bench measures first; default 2,000/s).
    const size = await migratedAndSeeded(ctx);
    if (settings.explain) await explainCleanerBatch(ctx.sql, Number(settings.cleanerBatch ?? 1000));
    const ceilings = await cleanerCeilingStep(ctx);
    return cleanerGoalRows(await cleanerStep(ctx, Number(process.env.BENCH_G1_RPS ?? 2000), size), ceilings, settings.liveTickets);
  }
  if (step === 'directory-login') {
    // slapd, the bare search + bind route and POST /login of a directory user, then validation with and without LDAP.
    await ctx.sql.query(BENCH_TABLE);
    const d = await directoryLoginStep(ctx);
    console.log('\nDirectory login, in a pair, then validation with and without LDAP:\n');
    for (const r of [d.bare, d.login, d.validationWithoutLdap, d.validation]) console.log(`  ${describe(r)}`);
    console.log(`  ratio ${(d.login.rps / d.bare.rps).toFixed(2)}`);
    return [];
  }
  if (step !== 'mfa-login') throw new Error(`BENCH_ONLY=${step}: the steps that run alone are: mfa-login, directory-login, session-filters, console-pages, scrape, hot-paths, rss, admin-listing, password-login, login-events, flat, cold-start, cleaner`);
  const m = await mfaLoginStep(ctx);
  console.log('\nMulti-factor login (CPU per login from /proc: server process vs all Postgres processes):\n');
  for (const r of [m.password, m.mfa]) console.log(`  ${describeLogins(r)}`);
  return mfaGoalRows(m);
}

async function main(): Promise<void> {
  const ctx = await openBench();
  try {
    let rows: GoalRow[];
    if (settings.only) rows = await measureOnly(ctx, settings.only);
    else {
      const f = await measureAll(ctx);
      rows = goalRows(f);
      console.log('\nCeilings and product, in pairs (CPU per request from /proc: server process vs all Postgres processes; "other processes" is everyone else on the box):\n');
      for (const r of [f.c1, f.g1, f.c2, f.g2, f.bare, f.g3, f.directory.bare, f.directory.login]) console.log(`  ${describe(r)}`);
      for (const r of [f.mfa.password, f.mfa.mfa]) console.log(`  ${describeLogins(r)}`);
    }
    const summary = `${settings.only ? `BENCH_ONLY=${settings.only}, ` : ''}load average at start ${ctx.loadAtStart}, at end ${load()}, ${((Date.now() - ctx.startedAt.getTime()) / 60000).toFixed(1)} min`;
    console.log(`\nGoals (bench/GOALS.md), ${new Date().toISOString()}, ${summary}:\n`);
    console.log(table(rows));
    console.log(`\n${verdicts(rows)}`);
    console.log(`\nkept in ${writeResults(ctx.startedAt, ctx.environment, summary, rows)}`);
  } finally {
    await closeBench(ctx);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

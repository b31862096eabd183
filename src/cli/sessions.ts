import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createInterface } from 'node:readline';
import { FilterError, RawSessionFilter, toSessionFilter } from '../admin/sso-session-filters';
import { mapSsoSession } from '../admin/sso-session.view';
import { AppModule } from '../app.module';
import { loadCasConfig } from '../config/cas-config';
import { ConfigurationError } from '../config/env.validation';
import { resolveDatabase } from '../database/resolve-database';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { SessionFilter, SessionSearch } from '../tickets/session-search';
import type { SessionDetail, SessionKind } from '../tickets/ticket-registry';

const USAGE = `usage: npm run sessions -- <command> [filters] [options]
  list                  the live sessions matching the filters (a table, or --json)
  count                 how many live sessions match
  show <TGT-…|PGT-…>    one session, every detail (--json for the API's entry)
  kill [<TGT-…>]        end the matching sessions (or that one) through the logout pipeline:
                        single logout is sent to the services they reached; asks first unless --yes

filters (the API's, combined with AND):
  --user <name>         that user's sessions (any case); 'ali*' for every user whose name starts with ali
  --ip <address|CIDR>   logged in from that address or range (10.0.0.0/8, 2001:db8::/32)
  --since <time>        created at or after: 30m, 2h, 7d ago, or 2026-12-03T08:00:00Z
  --until <time>        created before
  --idle-since <time>   not used since then
  --service <id|URL>    reached that registered service (its id) or a service URL starting so
  --remember-me <true|false>
  --mfa <true|false|provider>   satisfied a multi-factor provider (mfa-gauth, mfa-webauthn), or none
  --device <type|'browser / OS / type'>   logged in from that device type (mobile) or device
  --type <DIRECT|PROXIED|ALL>   list/count: sessions (default), proxied sessions (PGTs), both

options: --json (list, show), --limit <n> (list: at most n, default all), --yes (kill: no question)`;

/** Each filter flag and the API parameter it fills. */
const FILTER_FLAGS: Record<string, keyof RawSessionFilter> = {
  '--ip': 'ip',
  '--since': 'since',
  '--until': 'until',
  '--idle-since': 'idleSince',
  '--service': 'service',
  '--remember-me': 'rememberMe',
  '--mfa': 'mfa',
  '--device': 'device',
};
const VALUE_FLAGS = new Set([...Object.keys(FILTER_FLAGS), '--user', '--type', '--limit']);
const SWITCHES = new Set(['--json', '--yes']);
const KINDS: Record<string, SessionKind> = { DIRECT: 'TGT', PROXIED: 'PGT', ALL: 'ALL' };
/** Sessions ended per query of their ids; progress is shown after each batch once the total reaches PROGRESS_FROM. */
const BATCH = 500;
const PROGRESS_FROM = 1000;
const SESSION_ID = /^(TGT|PGT)-[A-Za-z0-9-]{1,252}$/;

class UsageError extends Error {}

interface Command {
  name: string;
  id?: string;
  flags: Map<string, string>;
  switches: Set<string>;
}

function parseArgs(argv: string[]): Command {
  const [name, ...rest] = argv;
  if (!['list', 'count', 'show', 'kill'].includes(name ?? '')) throw new UsageError('');
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  let id: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (SWITCHES.has(arg)) switches.add(arg);
    else if (VALUE_FLAGS.has(arg)) {
      if (rest[i + 1] === undefined) throw new UsageError(`${arg} needs a value`);
      if (flags.has(arg)) throw new UsageError(`${arg} given twice`);
      flags.set(arg, rest[++i]);
    } else if (!arg.startsWith('--') && id === undefined && (name === 'show' || name === 'kill')) id = arg;
    else throw new UsageError(`unknown argument '${arg}'`);
  }
  if (name === 'show' && id === undefined) throw new UsageError('show needs a session id (TGT-… or PGT-…)');
  if (name === 'kill') {
    const filtered = [...Object.keys(FILTER_FLAGS), '--user'].some((f) => flags.has(f));
    if (!filtered && id === undefined) throw new UsageError('kill needs a session id or at least one filter (ending every session is DELETE /actuator/ssoSessions?type=ALL)');
    if (flags.has('--type')) throw new UsageError('kill ends SSO sessions (and their proxied sessions): --type does not apply');
  }
  if (id !== undefined && !SESSION_ID.test(id)) throw new UsageError(`'${id.slice(0, 64)}' is not a session id (TGT-… or PGT-…)`);
  return { name, id, flags, switches };
}

/** The flags as the API's filter; FilterError names the flag, not the API parameter. */
function filterOf(c: Command, now: Date): SessionFilter {
  const raw: RawSessionFilter = {};
  for (const [flag, param] of Object.entries(FILTER_FLAGS)) if (c.flags.has(flag)) raw[param] = c.flags.get(flag);
  const user = c.flags.get('--user');
  const prefix = user?.endsWith('*') ? user.slice(0, -1) : undefined;
  if (prefix !== undefined) raw.username = prefix;
  let filter: SessionFilter;
  try {
    filter = toSessionFilter(raw, now);
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    const flag = e.parameter === 'username' ? '--user' : Object.keys(FILTER_FLAGS).find((f) => FILTER_FLAGS[f] === e.parameter)!;
    throw new UsageError(`${flag}: ${e.message.replace(/^'[A-Za-z]+' /, '')}`);
  }
  if (user !== undefined && prefix === undefined) filter.principal = user;
  const type = c.flags.get('--type')?.toUpperCase();
  if (type !== undefined && !(type in KINDS)) throw new UsageError('--type must be DIRECT, PROXIED or ALL');
  filter.kind = KINDS[type ?? 'DIRECT'];
  if (c.id) {
    if (Object.keys(filter).length > 1 || c.flags.has('--type')) throw new UsageError('give a session id or filters, not both');
    filter.id = c.id;
    filter.kind = 'ALL';
  }
  return filter;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The table's columns: what tells sessions apart at a glance; `show` has the rest. */
const deviceOf = ({ origin: { device: d } }: SessionDetail) => (d.browser || d.os || d.type ? [d.browser, d.os, d.type].map((v) => v ?? '?').join(' / ') : '-');

function table(sessions: SessionDetail[]): string {
  const rows = [
    ['SESSION', 'USER', 'CREATED', 'LAST USED', 'IP', 'DEVICE', 'SERVICES'],
    ...sessions.map((s) => [s.id, s.principal, iso(s.createdAt), iso(s.lastUsedAt), s.origin.clientIp ?? '-', deviceOf(s), String(s.services.length)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('  ')).join('\n');
}

function describe(s: SessionDetail): string {
  const lines: [string, string][] = [
    ['session', s.id],
    ['user', s.principal],
    ['created', iso(s.createdAt)],
    ['last used', `${iso(s.lastUsedAt)} (${s.useCount} use${s.useCount === 1 ? '' : 's'})`],
    ['expires', iso(s.expiresAt)],
    ['remember me', String(s.rememberMe)],
    ['ip', s.origin.clientIp ?? '-'],
    ['device', deviceOf(s)],
    ['location', [s.origin.location?.city, s.origin.location?.country].filter(Boolean).join(', ') || '-'],
    ['factors', Object.keys(s.factors).join(', ') || '-'],
  ];
  if (s.proxiedBy) lines.push(['proxied by', s.proxiedBy]);
  for (const x of s.services) lines.push(['service', `${x.service} (${x.ticketId}, ${iso(x.issuedAt)})`]);
  return lines.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n');
}

/** y/yes on the terminal, or on stdin's first line when it is not a terminal; anything else is no. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  const answer = await new Promise<string>((resolve) => {
    rl.question(question, resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

async function run(c: Command, filter: SessionFilter, ctx: { search: SessionSearch; terminator: SessionTerminator }): Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  switch (c.name) {
    case 'count':
      out(String(await ctx.search.count(filter)));
      return 0;
    case 'list': {
      const limitFlag = c.flags.get('--limit');
      if (limitFlag !== undefined && !/^[1-9]\d{0,8}$/.test(limitFlag)) throw new UsageError('--limit must be a positive integer');
      const limit = limitFlag === undefined ? Infinity : Number(limitFlag);
      const sessions: SessionDetail[] = [];
      for (let after: string | undefined; sessions.length < limit; ) {
        const wanted = Math.min(BATCH, limit - sessions.length);
        const page = await ctx.search.page(filter, after, wanted);
        sessions.push(...page);
        if (page.length < wanted) break;
        after = page[page.length - 1].id;
      }
      if (c.switches.has('--json')) out(JSON.stringify(sessions.map((s) => mapSsoSession(s, filter.kind !== 'TGT')), null, 2));
      else out(sessions.length ? table(sessions) : 'no session matches');
      return 0;
    }
    case 'show': {
      const [s] = await ctx.search.page(filter, undefined, 1);
      if (!s) {
        process.stderr.write(`error: no live session ${c.id}\n`);
        return 1;
      }
      out(c.switches.has('--json') ? JSON.stringify(mapSsoSession(s, s.proxiedBy !== null), null, 2) : describe(s));
      return 0;
    }
    case 'kill':
      return kill(c, filter, ctx);
  }
  return 2;
}

async function kill(c: Command, filter: SessionFilter, ctx: { search: SessionSearch; terminator: SessionTerminator }): Promise<number> {
  const total = await ctx.search.count(filter);
  if (!total) {
    process.stdout.write('no session matches: nothing ended\n');
    return 0;
  }
  if (!c.switches.has('--yes') && !(await confirm(`End ${total} session(s) through the logout pipeline (single logout is sent)? [y/N] `))) {
    process.stderr.write('nothing ended\n');
    return 1;
  }
  let ended = 0;
  let seen = 0;
  // One id (a TGT, or a PGT: a proxied session), or the matching SSO sessions batch by batch in id order.
  for (let after: string | undefined; ; ) {
    const ids = c.id ? (after ? [] : [c.id]) : await ctx.search.sessionIds(filter, after, BATCH);
    if (!ids.length) break;
    for (const id of ids) if ((await ctx.terminator.end(id, 'ADMIN', 0, 'cli')) !== null) ended++;
    seen += ids.length;
    after = ids[ids.length - 1];
    if (total >= PROGRESS_FROM) process.stderr.write(`ended ${ended} of ${total}\n`);
  }
  // A session may have ended on its own (expired, logged out) between the count and its turn.
  process.stdout.write(`${ended} session(s) ended${seen > ended ? `, ${seen - ended} had ended already` : ''}; single logout queued for the services they reached\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let command: Command;
  let filter: SessionFilter;
  try {
    command = parseArgs(argv);
    // Checked before the database is opened: a mistyped flag answers at once. The command's clock is the system's.
    filter = filterOf(command, new Date());
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(e.message ? `error: ${e.message}\n` : `${USAGE}\n`);
    return 2;
  }
  const config = loadCasConfig(process.env);
  const database = await resolveDatabase(config, { attachToRunning: true });
  const ctx = await NestFactory.createApplicationContext(AppModule.register({ ...config, databaseUrl: database.url, logLevel: 'error' }), {
    logger: ['error'],
  });
  try {
    return await run(command, filter, { search: ctx.get(SessionSearch), terminator: ctx.get(SessionTerminator) });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return 2;
  } finally {
    await ctx.close();
    await database.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof ConfigurationError) process.stderr.write(`error: ${e.message}\n`);
    else new Logger('sessions').error(`failed: ${e.message}`);
    process.exit(1);
  },
);

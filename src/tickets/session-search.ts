import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { usernameKey } from '../common/username';
import { Sql } from '../database/sql';
import { handleSql } from './session-handle';
import { SessionDetail, SessionDetailRow, SessionKind, toSessionDetail } from './ticket-rows';
import { SESSION_DETAILS_OF_PAGE_SQL } from './ticket-statements';

/**
 * What an administrator looks for among the live sessions (`GET /actuator/ssoSessions?…`,
 * `npm run sessions`). Every field is optional and they combine (AND). Values are already checked
 * and typed by the caller (admin/sso-session-filters.ts parses them); this file only turns them
 * into SQL, every value a bind parameter.
 */
export interface SessionFilter {
  /** TGT: sessions established with CAS (the default); PGT: proxied sessions; ALL: both. */
  kind?: SessionKind;
  /** That one session (TGT or PGT id). */
  id?: string;
  /** One user's sessions, by canonical username (what `/ssoSessions/users/{u}` and DELETE use). */
  principal?: string;
  /** Users whose canonical username starts with this (case-insensitive prefix search). */
  usernamePrefix?: string;
  /** Logged in from this address or range: an IPv4/IPv6 address or CIDR, checked by the caller. */
  ip?: string;
  /** Created at or after. */
  createdSince?: Date;
  /** Created before. */
  createdUntil?: Date;
  /** Not used since then: last used at or before. */
  idleSince?: Date;
  /** Reached a service: by its registered service id, or a service URL starting with `urlPrefix`. */
  service?: { registeredServiceId: number } | { urlPrefix: string };
  rememberMe?: boolean;
  /** true: satisfied some multi-factor provider; false: password only; a string: that provider. */
  mfa?: boolean | string;
  /** The login's device: its type alone, or browser, OS and type (null: not known), as the device summary groups them. */
  device?: { type: string } | { browser: string | null; os: string | null; type: string | null };
}

/** A live ticket of a session, as an administrator is shown it: never its whole id. */
export interface LiveTicket {
  /** The type and the first 8 random characters (`ST-AbCdEfGh`). */
  idPrefix: string;
  type: 'ST' | 'PT' | 'PGT';
  /** The service it was granted for (a PGT: the service that proxies). */
  service: string | null;
  createdAt: Date;
  expiresAt: Date;
  useCount: number;
}

export type SessionGroupBy = 'user' | 'ip' | 'net24' | 'service' | 'device';

export interface SessionGroup {
  /**
   * The group's value: canonical username (user), address (ip), network (net24: the IPv4 /24,
   * the IPv6 /64), registered service id (service), `browser / OS / type` (device, `?` unknown).
   */
  key: string;
  /** How a person reads it: the username as spelt (user); null where the key says it or the caller names it (service). */
  label: string | null;
  sessions: number;
}

export interface SessionSummary {
  /** Sessions matching the filter (each counted once, whatever its groups). */
  sessions: number;
  /** How many groups there are, beyond the top N returned. */
  groups: number;
  top: SessionGroup[];
}

export interface UserAddresses {
  /** As the account spells it. */
  username: string;
  sessions: number;
  /** The distinct addresses its live sessions came from, in order. */
  addresses: string[];
}

/**
 * Each summary's groups over the CTE `matching` (the filtered sessions): key, label, sessions.
 * Sessions without the grouped value (no client IP recorded, no registered service reached) are
 * in the total but in no group. A session that reached a service twice counts once for it.
 */
const GROUPS: Record<SessionGroupBy, string> = {
  user: `SELECT m.principal_key AS key, min(m.principal) AS label, count(*) AS sessions FROM matching m GROUP BY m.principal_key`,
  ip: `SELECT host(m.client_ip) AS key, NULL::text AS label, count(*) AS sessions FROM matching m WHERE m.client_ip IS NOT NULL GROUP BY m.client_ip`,
  net24: `SELECT network(set_masklen(m.client_ip, CASE family(m.client_ip) WHEN 4 THEN 24 ELSE 64 END))::text AS key, NULL::text AS label, count(*) AS sessions
            FROM matching m WHERE m.client_ip IS NOT NULL GROUP BY 1`,
  // Each session's services read from pk_session_services (LATERAL + DISTINCT: never flattened into a
  // join), a nested loop over the matching sessions: as a join, the planner hashed all of session_services
  // (880,000 records for 20,000 sessions: 490 ms, BENCH_ONLY=session-filters). Index-only since migration
  // 1764000033000: 4 buffers per session instead of 8, 150 ms of execution for 20,000 sessions (was 221-287 ms).
  service: `SELECT reached.registered_service_id::text AS key, NULL::text AS label, count(*) AS sessions
              FROM matching m CROSS JOIN LATERAL (SELECT DISTINCT s.registered_service_id FROM session_services s
                                                   WHERE s.session_id = m.id AND s.registered_service_id IS NOT NULL) reached
             GROUP BY reached.registered_service_id`,
  device: `SELECT concat_ws(' / ', COALESCE(m.device_browser, '?'), COALESCE(m.device_os, '?'), COALESCE(m.device_type, '?')) AS key, NULL::text AS label,
                  count(*) AS sessions
             FROM matching m GROUP BY 1`,
};

/**
 * The columns of `matching` each summary reads besides the id. The service summary needs the id
 * alone: unfiltered, its sessions are an index-only scan of ix_tickets_tgt_id_expires instead of
 * 20,000 heap rows read for columns it does not use (BENCH_ONLY=session-filters seed, EXPLAIN).
 */
const GROUP_COLUMNS: Record<SessionGroupBy, string[]> = {
  user: ['principal', 'principal_key'],
  ip: ['client_ip'],
  net24: ['client_ip'],
  service: [],
  device: ['device_browser', 'device_os', 'device_type'],
};

/**
 * `s` planned without parallel workers, in one autocommit statement. A query that names a function
 * marked PARALLEL UNSAFE is never planned in parallel (Postgres, "When Can Parallel Query Be
 * Used?"); set_config is one, named in a CTE the statement never reads (never run). Walking to a
 * page of sessions that reached a service, the planner chose a Gather Merge of 2 workers: on 2
 * vCPU shared with the server, starting them cost more than the walk (15 runs each at 1,100,000
 * tickets: median 45-48 ms with workers, 15-20 ms without). Before, the statement ran in a
 * transaction after `SET LOCAL max_parallel_workers_per_gather = 0`: 4 round trips (BEGIN, SET,
 * the statement, COMMIT) for a page, each a wake-up of Postgres and then of the node.
 */
export function withoutParallelWorkers(s: Statement): Statement {
  const marker = `no_parallel_workers AS (SELECT set_config('max_parallel_workers_per_gather', '0', true))`;
  const text = s.text.startsWith('WITH ') ? `WITH ${marker},\n     ${s.text.slice('WITH '.length)}` : `WITH ${marker}\n${s.text}`;
  return { text, values: s.values };
}

/** Collects bind parameters: each value becomes `$n`, never text in the statement. */
class Binds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The aliases a branch's conditions use: `t` the listed entry (TGT or PGT), `r` its session's TGT. */
interface Branch {
  type: 'TGT' | 'PGT';
}

/** A statement and its bind values. */
export interface Statement {
  text: string;
  values: unknown[];
}

/*
 * The statements, built from a filter: pure functions (the bench EXPLAINs exactly these). Shape of
 * every one: per kind, a branch over `tickets t` (the entry) joined, for a PGT, to `tickets r` (its
 * live TGT; for a TGT, r is t). Entry-level filters (created, last used, username) apply to t,
 * session-level ones (address, multi-factor, remember-me) to r; a service filter looks at the
 * services the entry reached (a TGT: every record of its session, PTs included; a PGT: the PTs it
 * granted). Keyset paging is the listing's: ids after the cursor, in id order; all PGT ids sort
 * before all TGT ids, so the branches concatenate.
 */

/**
 * At most this many live sessions after the cursor: a filter with an index of its own (an address
 * or range, a username prefix) that matches no more is read whole from that index and sorted;
 * one that matches more walks the sessions in id order until the page is full (see narrowRead).
 */
export const NARROW_MATCHES = 1000;

/** A page of matching sessions after `after` (a previous page's last id), in id order, with the listing's details. */
export function pageStatement(filter: SessionFilter, now: Date, after: string | undefined, limit: number): Statement {
  const b = new Binds();
  const at = b.add(now);
  const cursor = after === undefined ? undefined : b.add(after);
  const n = b.add(limit);
  const ctes: string[] = [];
  const branches = branchesOf(filter).map((branch) => {
    // A first page has no id condition: every TGT id is after 'TGT-', and as a condition
    // the planner read it from ix_tickets_tgt_id_expires, whose 220,000 entries a sparse filter's
    // bitmap then scanned whole, where ix_tickets_tgt_expires holds the 20,000 live sessions alone
    // (mfa=true&rememberMe=true: 130 -> 49 ms, EXPLAIN ANALYZE at 1,100,000 tickets).
    const idAfter = cursor === undefined ? 'true' : branch.type === 'PGT' ? `t.id > ${cursor}::text` : `t.id > GREATEST(${cursor}::text, 'TGT-')`;
    if (branch.type === 'TGT' && isNarrowable(filter)) {
      ctes.push(`narrow AS MATERIALIZED (${narrowRead(filter, b, at, idAfter, NARROW_MATCHES + 1)})`);
      return `(SELECT id FROM narrow WHERE (SELECT count(*) FROM narrow) <= ${NARROW_MATCHES} ORDER BY id LIMIT ${n})
           UNION ALL
           (SELECT t.id ${from(branch, filter, b, at, 'walk')}
            AND ${idAfter} AND (SELECT count(*) FROM narrow) > ${NARROW_MATCHES}
          ORDER BY t.id LIMIT ${n})`;
    }
    return `(SELECT t.id ${from(branch, filter, b, at, 'walk')}
            AND ${idAfter}
          ORDER BY t.id LIMIT ${n})`;
  });
  const text = `WITH ${ctes.map((c) => `${c},\n       `).join('')}page AS (
         SELECT id FROM (
           ${branches.join('\n           UNION ALL\n           ')}
         ) branches ORDER BY id LIMIT ${n}
       )
       ${SESSION_DETAILS_OF_PAGE_SQL}`;
  return { text, values: b.values };
}

/** An address or a username prefix: filters with an index of their own (client_ip, expires_at), (principal_key, expires_at). */
function isNarrowable(f: SessionFilter): boolean {
  return f.ip !== undefined || f.usernamePrefix !== undefined;
}

/**
 * The ids of up to `cap` live sessions (TGTs) matching `filter` and `idAfter`, in no order, read
 * through the index of its address or username prefix. The inner query has no LIMIT nor ORDER BY
 * (OFFSET 0 keeps it a query of its own) and its id condition serves no index ("IS TRUE"), so the
 * planner picks the cheapest way to read every match: the filter's index, the expiry tested
 * inside it. Left to weigh a walk in id order against it under the page's LIMIT, it walked every
 * live session for some /16s whose size it overestimated from the address histogram (1,000–1,300
 * sessions guessed, 0–77 found): 120–500 ms where the index answers in 1–2 ms; with the id range
 * indexable, it combined it with the address in a bitmap of every session after the cursor
 * (EXPLAIN ANALYZE at 1,100,000 tickets, BENCH_ONLY=session-filters' seed).
 */
function narrowRead(filter: SessionFilter, b: Binds, now: string, idAfter: string, cap: number): string {
  return `SELECT id FROM (SELECT t.id ${from({ type: 'TGT' }, filter, b, now, 'all')}
            AND (${idAfter}) IS TRUE OFFSET 0) f LIMIT ${b.add(cap)}`;
}

export function countStatement(filter: SessionFilter, now: Date): Statement {
  const b = new Binds();
  const at = b.add(now);
  const parts = branchesOf(filter).map((branch) => `(SELECT count(*) ${from(branch, filter, b, at, 'all')})`);
  return { text: `SELECT (${parts.join(' + ')})::bigint AS n`, values: b.values };
}

export function summaryStatement(filter: SessionFilter, groupBy: SessionGroupBy, now: Date, limit: number): Statement {
  const b = new Binds();
  const at = b.add(now);
  const matching = `SELECT ${['t.id', ...GROUP_COLUMNS[groupBy].map((c) => `t.${c}`)].join(', ')}
          ${from({ type: 'TGT' }, filter, b, at, 'all')}`;
  const text = `WITH matching AS MATERIALIZED (${matching}),
         grouped AS (${GROUPS[groupBy]})
       SELECT (SELECT count(*) FROM matching)::bigint AS total, (SELECT count(*) FROM grouped)::bigint AS groups,
              COALESCE((SELECT json_agg(top.* ORDER BY top.sessions DESC, top.key)
                          FROM (SELECT * FROM grouped ORDER BY sessions DESC, key LIMIT ${b.add(limit)}) top), '[]'::json) AS top`;
  return { text, values: b.values };
}

export function multipleIpsStatement(filter: SessionFilter, now: Date, limit: number): Statement {
  const b = new Binds();
  const at = b.add(now);
  const text = `WITH users AS (
         SELECT t.principal_key AS key, min(t.principal) AS username, count(*) AS sessions,
                array_agg(DISTINCT host(t.client_ip) ORDER BY host(t.client_ip)) AS addresses
           ${from({ type: 'TGT' }, filter, b, at, 'all')}
            AND t.client_ip IS NOT NULL
          GROUP BY t.principal_key
         HAVING count(DISTINCT t.client_ip) > 1
       )
       SELECT (SELECT count(*) FROM users)::bigint AS users,
              COALESCE((SELECT json_agg(top.* ORDER BY cardinality(top.addresses) DESC, top.key)
                          FROM (SELECT * FROM users ORDER BY cardinality(addresses) DESC, key LIMIT ${b.add(limit)}) top), '[]'::json) AS top`;
  return { text, values: b.values };
}

/** Matching SSO sessions (TGTs), counted up to `cap`: what a confirmation shows before a bulk end, bounded whatever the filter. */
export function boundedCountStatement(filter: SessionFilter, now: Date, cap: number): Statement {
  const b = new Binds();
  const at = b.add(now);
  // A narrow filter is counted from its index (narrowRead), whatever the planner guesses of its size.
  const matching = isNarrowable(filter)
    ? narrowRead(filter, b, at, 'true', cap)
    : `SELECT 1 ${from({ type: 'TGT' }, filter, b, at, 'all')} LIMIT ${b.add(cap)}`;
  return { text: `SELECT count(*)::bigint AS n FROM (${matching}) matching`, values: b.values };
}

/** The ids of matching SSO sessions (TGTs) after `after`, in id order. */
export function sessionIdsStatement(filter: SessionFilter, now: Date, after: string | undefined, limit: number): Statement {
  const b = new Binds();
  const at = b.add(now);
  const text = `SELECT t.id ${from({ type: 'TGT' }, filter, b, at, 'walk')}
            AND t.id > GREATEST(${b.add(after ?? '')}::text, 'TGT-')
          ORDER BY t.id LIMIT ${b.add(limit)}`;
  return { text, values: b.values };
}

function branchesOf(filter: SessionFilter): Branch[] {
  const kind = filter.kind ?? 'TGT';
  return [...(kind !== 'TGT' ? [{ type: 'PGT' as const }] : []), ...(kind !== 'PGT' ? [{ type: 'TGT' as const }] : [])];
}

/**
 * How a branch reads its rows. `all`: every match (count, summary), the expiry an index condition,
 * so that the live sessions are read alone (ix_tickets_tgt_expires, or the expiry column of the
 * filter's index). `walk`: a keyset page in id order; for TGTs the same, so that
 * ix_tickets_tgt_id_expires passes the expired sessions over inside the index (migration
 * 1764000031000; before it, a page read the heap row of every expired session between two live
 * ones). A PGT walk keeps "(expires_at > now) IS TRUE", which keeps the expiry indexes out of its
 * id walk (LIST_SESSIONS_SQL).
 */
type ReadAs = 'all' | 'walk';

/** `FROM … WHERE …` of one branch: live entries of its type matching every filter. */
function from(branch: Branch, f: SessionFilter, b: Binds, now: string, as: ReadAs): string {
  const r = branch.type === 'TGT' ? 't' : 'r';
  const live = as === 'walk' && branch.type === 'PGT' ? `(t.expires_at > ${now}) IS TRUE` : `t.expires_at > ${now}`;
  const source =
    branch.type === 'TGT'
      ? `FROM tickets t WHERE t.type = 'TGT' AND ${live}`
      : // A PGT outlives an idle TGT only until the cleaner ends the session: it is dead already.
        `FROM tickets t JOIN tickets r ON r.id = t.session_id AND r.type = 'TGT' AND r.expires_at > ${now}
       WHERE t.type = 'PGT' AND ${live}`;
  const where: string[] = [];
  if (f.id !== undefined) where.push(`t.id = ${b.add(f.id)}::text`);
  if (f.principal !== undefined) where.push(`t.principal_key = ${b.add(usernameKey(f.principal))}::text`);
  if (f.ip !== undefined) where.push(`${r}.client_ip <<= ${b.add(f.ip)}::inet`);
  // COLLATE "C": a prefix range on ix_tickets_tgt_principal_prefix, whatever the database's collation.
  if (f.usernamePrefix !== undefined) where.push(`(t.principal_key COLLATE "C") ^@ ${b.add(usernameKey(f.usernamePrefix))}::text`);
  if (f.createdSince) where.push(`t.created_at >= ${b.add(f.createdSince)}::timestamptz`);
  if (f.createdUntil) where.push(`t.created_at < ${b.add(f.createdUntil)}::timestamptz`);
  if (f.idleSince) where.push(`t.last_used_at <= ${b.add(f.idleSince)}::timestamptz`);
  if (f.rememberMe !== undefined) where.push(`${r}.remember_me = ${b.add(f.rememberMe)}::boolean`);
  if (f.mfa === true) where.push(`${r}.authentication_factors IS NOT NULL AND ${r}.authentication_factors <> '{}'::jsonb`);
  else if (f.mfa === false) where.push(`(${r}.authentication_factors IS NULL OR ${r}.authentication_factors = '{}'::jsonb)`);
  else if (typeof f.mfa === 'string') where.push(`(${r}.authentication_factors ->> ${b.add(f.mfa)}::text) IS NOT NULL`);
  if (f.device && !('browser' in f.device)) where.push(`${r}.device_type = ${b.add(f.device.type)}::text`);
  else if (f.device) {
    for (const [column, value] of [['device_browser', f.device.browser], ['device_os', f.device.os], ['device_type', f.device.type]] as const) {
      where.push(value === null ? `${r}.${column} IS NULL` : `${r}.${column} = ${b.add(value)}::text`);
    }
  }
  if (f.service) {
    // session_services keeps a record per ticket granted, after the ticket itself was used up.
    const which = branch.type === 'TGT' ? `s.session_id = t.id` : `s.session_id = t.session_id AND s.granted_by = t.id`;
    const match =
      'registeredServiceId' in f.service
        ? `s.registered_service_id = ${b.add(f.service.registeredServiceId)}::bigint`
        : `starts_with(s.service, ${b.add(f.service.urlPrefix)}::text)`;
    where.push(`EXISTS (SELECT 1 FROM session_services s WHERE ${which} AND ${match})`);
  }
  return [source, ...where].join('\n            AND ');
}

/**
 * The filtered searches over live sessions: one builder for the admin API and the command line,
 * so both find exactly the same sessions. Here because `tickets` owns the tables; callers get rows
 * mapped like TicketRegistry's. Every value is a bind parameter.
 */
@Injectable()
export class SessionSearch {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  async page(filter: SessionFilter, after: string | undefined, limit: number): Promise<SessionDetail[]> {
    const s = withoutParallelWorkers(pageStatement(filter, this.clock.now(), after, limit));
    return (await this.sql.rows<SessionDetailRow>(s.text, s.values)).map(toSessionDetail);
  }

  /** How many live sessions match. */
  async count(filter: SessionFilter): Promise<number> {
    const s = countStatement(filter, this.clock.now());
    return Number((await this.sql.one<{ n: string }>(s.text, s.values))!.n);
  }

  /**
   * Matching SSO sessions (TGTs only: a proxied session belongs to one of them) counted per group,
   * the `limit` largest groups first (ties by key).
   */
  async summary(filter: SessionFilter, groupBy: SessionGroupBy, limit: number): Promise<SessionSummary> {
    const s = summaryStatement(filter, groupBy, this.clock.now(), limit);
    const row = (await this.sql.one<{ total: string; groups: string; top: { key: string; label: string | null; sessions: number }[] }>(s.text, s.values))!;
    return {
      sessions: Number(row.total),
      groups: Number(row.groups),
      top: row.top.map((g) => ({ key: g.key, label: g.label, sessions: Number(g.sessions) })),
    };
  }

  /**
   * Users with live sessions (matching the filter) from more than one address: LemonLDAP::NG's
   * doubleIp. Most addresses first, then by canonical username; at most `limit` users.
   */
  async multipleIps(filter: SessionFilter, limit: number): Promise<{ users: number; top: UserAddresses[] }> {
    const s = multipleIpsStatement(filter, this.clock.now(), limit);
    const row = (await this.sql.one<{ users: string; top: { username: string; sessions: number; addresses: string[] }[] }>(s.text, s.values))!;
    return { users: Number(row.users), top: row.top.map((u) => ({ username: u.username, sessions: Number(u.sessions), addresses: u.addresses })) };
  }

  /** How many SSO sessions match, counting no further than `cap` (a confirmation's "more than …"). */
  async countUpTo(filter: SessionFilter, cap: number): Promise<number> {
    const s = withoutParallelWorkers(boundedCountStatement(filter, this.clock.now(), cap));
    const rows = await this.sql.rows<{ n: string }>(s.text, s.values);
    return Number(rows[0].n);
  }

  /**
   * The live SSO session (TGT id) of the principal (canonical username) whose handle (handleOf, the
   * session events' opaque id) is `handle`, or null: how the console names a session in its URLs and
   * forms without printing its id, a credential. Hashes only that user's sessions (ix_tickets_type_principal_key).
   */
  async findByHandle(principal: string, handle: string): Promise<string | null> {
    const row = await this.sql.one<{ id: string }>(
      `SELECT id FROM tickets WHERE type = 'TGT' AND principal_key = $1 AND expires_at > $2 AND ${handleSql('id')} = $3`,
      [usernameKey(principal), this.clock.now(), handle],
    );
    return row?.id ?? null;
  }

  /**
   * The session's live tickets other than its TGT (STs not yet validated, PGTs, PTs), oldest first, at
   * most `limit`, on ix_tickets_session. Ids are cut to their type and 8 characters in the statement:
   * a live ticket id is a credential, and this is for showing.
   */
  async liveTicketsOf(sessionId: string, limit: number): Promise<LiveTicket[]> {
    const rows = await this.sql.rows<{ id_prefix: string; type: LiveTicket['type']; service: string | null; created_at: Date; expires_at: Date; use_count: number; proxied_by: string | null }>(
      `SELECT left(id, strpos(id, '-') + 8) AS id_prefix, type, service, created_at, expires_at, use_count, proxied_by
         FROM tickets WHERE session_id = $1 AND type <> 'TGT' AND expires_at > $2
        ORDER BY created_at, id LIMIT $3`,
      [sessionId, this.clock.now(), limit],
    );
    return rows.map((r) => ({
      idPrefix: r.id_prefix, type: r.type, service: r.service ?? r.proxied_by, createdAt: r.created_at, expiresAt: r.expires_at, useCount: r.use_count,
    }));
  }

  /** The ids of matching SSO sessions (TGTs) after `after`, in id order: what a bulk end walks. */
  async sessionIds(filter: SessionFilter, after: string | undefined, limit: number): Promise<string[]> {
    const s = sessionIdsStatement(filter, this.clock.now(), after, limit);
    return (await this.sql.rows<{ id: string }>(s.text, s.values)).map((r) => r.id);
  }
}

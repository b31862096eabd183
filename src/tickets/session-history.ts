import { Injectable } from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Clock } from '../common/clock';
import { usernameKey } from '../common/username';
import { Sql, Tx } from '../database/sql';
import type { LogoutRequestRow } from './logout/single-logout';
import type { EndReason } from './end-reason';
import { handleSql } from './session-handle';
import { originOfRow, type SessionApplication, type SessionOrigin } from './session-listing';
import type { SessionOriginRow } from './session-origin';
import type { EndedSessionRows, ReachedService } from './ticket-rows';

/**
 * Why a session ended, as the history says it: the end reasons, with expiry told apart by the
 * deadline that passed (the row's hard limit or its idle timeout).
 */
export type HistoryReason = Exclude<EndReason, 'EXPIRED'> | 'EXPIRED_HARD' | 'EXPIRED_IDLE' | 'LIMIT';

/** The reasons a query may ask for; EXPIRED is both expiries. */
export const HISTORY_REASONS = ['LOGOUT', 'ADMIN', 'EXPIRED', 'EXPIRED_HARD', 'EXPIRED_IDLE', 'LIMIT', 'DISABLED', 'PASSWORD_CHANGE', 'REPLACED'] as const;

/**
 * One service the session reached, as the history keeps it (snake_case: the jsonb column and the
 * admin API share it). `logout`: BACK_CHANNEL (queued in the outbox, `request_id`, `status`
 * following its delivery), FRONT_CHANNEL (the browser's to make, on the logout page of a user
 * logout; no outcome is known to the server), NONE (no logout: unregistered, disabled, logoutType
 * NONE, single logout switched off, or an expiry with TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY
 * false), HANDED_OVER (a new login of the same user took the service into its session).
 */
export interface HistoryService {
  service: string;
  registered_service_id: number | null;
  /** The latest ticket the service received: its logout request's SessionIndex. */
  ticket_id: string;
  issued_at: string;
  /** Tickets the service received in the session. */
  tickets: number;
  logout: 'BACK_CHANNEL' | 'FRONT_CHANNEL' | 'NONE' | 'HANDED_OVER';
  request_id?: string;
  status?: 'PENDING' | 'SUCCESS' | 'FAILURE';
}

export interface HistoryEntry {
  id: number;
  ticket_granting_ticket: string;
  principal: string;
  created_at: string;
  last_used_at: string | null;
  ended_at: string;
  reason: HistoryReason;
  /** ADMIN: the admin token id (or loopback); null otherwise. */
  ended_by: string | null;
  uses: number;
  remember_me: boolean;
  authentication_handler: string | null;
  authentication_factors: Record<string, string> | null;
  /** Where the session came from: the login's client IP (after TRUSTED_PROXIES), User-Agent, parsed device, GeoIP location. */
  client_ip: string | null;
  user_agent: string | null;
  device: { browser: string | null; os: string | null; type: string | null } | null;
  location: { country: string | null; city: string | null } | null;
  services: HistoryService[];
}

export interface HistoryQuery {
  username?: string;
  since?: Date;
  reason?: (typeof HISTORY_REASONS)[number];
  count: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

/**
 * One of a user's own ended sessions, as the account page shows it: no TGT id (the row keeps the
 * old one; it stays on the server), no ticket or logout request ids, no admin token id.
 */
export interface EndedSession {
  createdAt: Date;
  endedAt: Date;
  reason: HistoryReason;
  /** IP, User-Agent, device and location of the login; nulls where unknown. */
  origin: SessionOrigin;
  /** One per service URL, the latest reached first. */
  applications: SessionApplication[];
}

/** An ended session's row as the registry returned it, with the logout requests built for it (none when it handed its services over). */
export interface EndedForHistory {
  ended: EndedSessionRows;
  requests: LogoutRequestRow[] | 'HANDED_OVER';
}

/** Rows per INSERT when a cleaner batch's sessions are written (as the outbox chunks its requests). */
const INSERT_CHUNK = 250;

/**
 * $4: a JSON array of {row, services}, one per session: the snapshot (the TGT row as JSON,
 * ticket-statements.ts) read column by column (the history keeps what it names here) and the
 * services built in JS. One text parameter: pasted together from JSON texts, it costs no escaping,
 * where two text[] parameters cost pg's array quoting of every snapshot (a third of the INSERT's
 * time for a cleaner batch). EXPIRED becomes EXPIRED_IDLE when the idle deadline came before the
 * hard limit, else EXPIRED_HARD; an expired session ended when its deadline passed, not when it
 * was found (the cleaner may come minutes later).
 */
const INSERT_HISTORY_SQL = `INSERT INTO session_history (session_id, principal, principal_key, created_at, last_used_at, ended_at, reason, ended_by,
                                     uses, remember_me, authentication_handler, authentication_factors, client_ip, user_agent,
                                     device_browser, device_os, device_type, location_country, location_city, services)
       SELECT s.id, s.principal, COALESCE(s.principal_key, lower(s.principal)), s.created_at, s.last_used_at,
              CASE WHEN $2::text = 'EXPIRED' THEN LEAST(s.expires_at, $1::timestamptz) ELSE $1::timestamptz END,
              CASE WHEN $2::text <> 'EXPIRED' THEN $2::text WHEN s.expires_at < s.hard_expires_at THEN 'EXPIRED_IDLE' ELSE 'EXPIRED_HARD' END,
              $3, COALESCE(s.use_count, 0), COALESCE(s.remember_me, false), s.authentication_handler, s.authentication_factors, s.client_ip,
              s.user_agent, s.device_browser, s.device_os, s.device_type, s.location_country, s.location_city, (r.session->'services')::jsonb
         FROM json_array_elements($4::json) AS r(session),
              -- Parsed once per row into typed columns (a jsonb value read key by key was parsed again for each key).
              json_to_record(r.session->'row') AS s(id varchar, principal varchar, principal_key text, created_at timestamptz, last_used_at timestamptz,
                expires_at timestamptz, hard_expires_at timestamptz, use_count integer, remember_me boolean, authentication_handler varchar,
                authentication_factors jsonb, client_ip inet, user_agent text, device_browser text, device_os text, device_type text,
                location_country text, location_city text)`;

/**
 * Appended by SingleLogoutOutbox.record to its UPDATE (a CTE named `done` returning id,
 * session_id, status): the requests that reached SUCCESS or FAILURE set their status in their
 * session's history row, in the same statement, so the two never disagree and it costs no round
 * trip. A request of a proxied session (no history row) or of a purged row updates nothing. Found
 * on ix_session_history_session, which reads session_id alone: the update of `services` stays HOT
 * (migration 1764000032000).
 */
export const RECORD_LOGOUT_OUTCOMES_SQL = `UPDATE session_history h
          SET services = (SELECT jsonb_agg(CASE WHEN f.outcomes ? (e->>'request_id') THEN jsonb_set(e, '{status}', f.outcomes->(e->>'request_id')) ELSE e END ORDER BY i)
                            FROM jsonb_array_elements(h.services) WITH ORDINALITY AS x(e, i))
         FROM (SELECT session_id, jsonb_object_agg(id, status) AS outcomes FROM done WHERE status IN ('SUCCESS', 'FAILURE') GROUP BY session_id) f
        WHERE h.session_id = f.session_id AND h.services @> '[{"logout": "BACK_CHANNEL"}]'`;

/**
 * Newest first, keyset on (ended_at, id): $1 principal key, $2 since, $3 reason (EXPIRED: both),
 * $4/$5 the cursor (ended_at in microseconds since the epoch, id), $6 limit. Each filter given
 * folds its condition into an index range (the statement is planned with its values):
 * ix_session_history_user, _reason, or _ended.
 */
const HISTORY_COLUMNS = `id, session_id, principal, created_at, last_used_at, ended_at, reason, ended_by, uses, remember_me,
              authentication_handler, authentication_factors, host(client_ip) AS client_ip, user_agent, device_browser, device_os, device_type,
              location_country, location_city, services,
              (extract(epoch FROM ended_at) * 1000000)::bigint::text AS ended_us`;

export const HISTORY_PAGE_SQL = `SELECT ${HISTORY_COLUMNS}
         FROM session_history
        WHERE ($1::text IS NULL OR principal_key = $1::text)
          AND ($2::timestamptz IS NULL OR ended_at >= $2::timestamptz)
          AND ($3::text IS NULL OR reason = $3::text OR ($3::text = 'EXPIRED' AND reason IN ('EXPIRED_HARD', 'EXPIRED_IDLE')))
          AND ($4::bigint IS NULL OR (ended_at, id) < (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::bigint))
        ORDER BY ended_at DESC, id DESC
        LIMIT $6`;

/**
 * $1 principal key, $2 limit: one user's latest ended sessions, walking ix_session_history_user
 * backwards (no sort). Only what the user is shown: session_id (the old TGT id) and ended_by are
 * not read.
 */
export const RECENT_OF_USER_SQL = `SELECT created_at, ended_at, reason, host(client_ip) AS client_ip, user_agent, device_browser, device_os, device_type,
              location_country, location_city, services
         FROM session_history
        WHERE principal_key = $1
        ORDER BY ended_at DESC, id DESC
        LIMIT $2`;

/** Up to $2 rows ended before $1; SKIP LOCKED, so every node's cleaner can run it at once. */
const PURGE_SQL = `DELETE FROM session_history WHERE id IN (
         SELECT id FROM session_history WHERE ended_at < $1 ORDER BY ended_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

interface HistoryRow extends SessionOriginRow {
  id: string;
  session_id: string;
  principal: string;
  created_at: Date;
  last_used_at: Date | null;
  ended_at: Date;
  reason: HistoryReason;
  ended_by: string | null;
  uses: number;
  remember_me: boolean;
  authentication_handler: string | null;
  authentication_factors: Record<string, string> | null;
  services: HistoryService[];
  ended_us: string;
}

type RecentRow = Pick<
  HistoryRow,
  'created_at' | 'ended_at' | 'reason' | 'client_ip' | 'user_agent' | 'device_browser' | 'device_os' | 'device_type' | 'location_country' | 'location_city' | 'services'
>;

/**
 * The `session_history` table (migration 1764000020000): the only SQL on it. The session
 * terminator writes a row in each transaction that ends an SSO session (proxied sessions, PGTs,
 * leave none: they are part of their SSO session's row), the cleaner purges rows past the
 * retention, the admin API reads pages, the account page a user's own latest rows (recentOf).
 */
@Injectable()
export class SessionHistory {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the rows of sessions ended in the caller's transaction, set-wise: one INSERT … SELECT
   * per 250 sessions (a cleaner batch costs a few round trips), with a turn of the event loop
   * between chunks as the outbox's enqueue does. Ended proxied sessions (no snapshot) are skipped.
   */
  async record(tx: Tx, reason: EndReason, endedAt: Date, endedBy: string | null, sessions: EndedForHistory[]): Promise<void> {
    const rows = sessions.filter((s) => s.ended.snapshot !== undefined);
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      // The snapshot is JSON text from Postgres, pasted as is.
      const sessions = chunk.map((s) => `{"row":${s.ended.snapshot},"services":${JSON.stringify(historyServices(s.ended.reached, s.requests))}}`);
      await tx.affected(INSERT_HISTORY_SQL, [endedAt, reason, endedBy, `[${sessions.join(',')}]`]);
    }
  }

  /** A page of ended sessions, newest first; `next` is the cursor of the following page (absent on the last). */
  async page(q: HistoryQuery): Promise<{ sessions: HistoryEntry[]; next?: string }> {
    const [us, id] = q.cursor ? q.cursor.split('_') : [null, null];
    const rows = await this.sql.rows<HistoryRow>(HISTORY_PAGE_SQL, [
      q.username === undefined ? null : usernameKey(q.username), q.since ?? null, q.reason ?? null, us, id, q.count,
    ]);
    const sessions = rows.map(toEntry);
    const last = rows[rows.length - 1];
    return { sessions, ...(rows.length === q.count ? { next: `${last.ended_us}_${last.id}` } : {}) };
  }

  /**
   * The ended session of the principal (canonical username) whose handle (handleOf, as the console
   * and the session events name a session) is `handle`, or null. Hashes only that user's rows
   * (ix_session_history_user).
   */
  async findByHandle(principal: string, handle: string): Promise<HistoryEntry | null> {
    const row = await this.sql.one<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM session_history WHERE principal_key = $1 AND ${handleSql('session_id')} = $2 ORDER BY ended_at DESC, id DESC LIMIT 1`,
      [usernameKey(principal), handle],
    );
    return row && toEntry(row);
  }

  /** The principal's (canonical username's) `limit` latest ended sessions, newest first: the user's own "last sign-ins". */
  async recentOf(principal: string, limit: number): Promise<EndedSession[]> {
    const rows = await this.sql.rows<RecentRow>(RECENT_OF_USER_SQL, [usernameKey(principal), limit]);
    return rows.map((r) => ({
      createdAt: r.created_at,
      endedAt: r.ended_at,
      reason: r.reason,
      origin: originOfRow(r),
      applications: r.services
        .map((s) => ({ service: s.service, registeredServiceId: s.registered_service_id, lastAccessAt: new Date(s.issued_at) }))
        .sort((a, b) => b.lastAccessAt.getTime() - a.lastAccessAt.getTime()),
    }));
  }

  /** Deletes up to `limit` rows of sessions ended more than `retentionSeconds` ago; returns how many. */
  purge(retentionSeconds: number, limit: number): Promise<number> {
    return this.sql.affected(PURGE_SQL, [new Date(this.clock.now().getTime() - retentionSeconds * 1000), limit]);
  }
}

/** A valid `cursor`: the `next` of a page (ended_at in microseconds, id). */
export const HISTORY_CURSOR = /^\d{1,18}_\d{1,18}$/;

/**
 * The services of an ended session, one per service URL (query, path parameters and fragment
 * ignored, as its logout requests are grouped), with how its logout went: matched to the request
 * built for its latest ticket.
 */
export function historyServices(reached: ReachedService[], requests: LogoutRequestRow[] | 'HANDED_OVER'): HistoryService[] {
  const byKey = new Map<string, { latest: ReachedService; tickets: number }>();
  for (const r of reached) {
    const key = r.service.replace(/[?;#].*$/, '');
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { latest: r, tickets: 1 });
    else {
      seen.tickets++;
      if (seen.latest.issuedAt < r.issuedAt) seen.latest = r;
    }
  }
  const byTicket = new Map((requests === 'HANDED_OVER' ? [] : requests).map((r) => [r.ticketId, r]));
  return [...byKey.values()].map(({ latest, tickets }) => {
    const request = byTicket.get(latest.ticketId);
    const entry: HistoryService = {
      service: latest.service,
      registered_service_id: latest.registeredServiceId,
      ticket_id: latest.ticketId,
      issued_at: latest.issuedAt.toISOString(),
      tickets,
      logout: requests === 'HANDED_OVER' ? 'HANDED_OVER' : request ? request.channel : 'NONE',
    };
    if (request?.channel === 'BACK_CHANNEL') Object.assign(entry, { request_id: request.id, status: 'PENDING' });
    return entry;
  });
}

function toEntry(r: HistoryRow): HistoryEntry {
  return {
    id: Number(r.id),
    ticket_granting_ticket: r.session_id,
    principal: r.principal,
    created_at: r.created_at.toISOString(),
    last_used_at: r.last_used_at?.toISOString() ?? null,
    ended_at: r.ended_at.toISOString(),
    reason: r.reason,
    ended_by: r.ended_by,
    uses: r.uses,
    remember_me: r.remember_me,
    authentication_handler: r.authentication_handler,
    authentication_factors: r.authentication_factors,
    client_ip: r.client_ip,
    user_agent: r.user_agent,
    device: r.device_browser ?? r.device_os ?? r.device_type ? { browser: r.device_browser, os: r.device_os, type: r.device_type } : null,
    location: r.location_country ?? r.location_city ? { country: r.location_country, city: r.location_city } : null,
    services: r.services,
  };
}

import { Injectable } from '@nestjs/common';
import { storableAttributes } from '../common/attributes';
import { Clock } from '../common/clock';
import { usernameKey } from '../common/username';
import type { Attributes } from '../common/attributes';
import { Sql, Tx } from '../database/sql';
import { CasMetrics } from '../metrics/cas-metrics';
import type { ServiceTicketPolicy, SessionPolicy } from '../services/ticket-policy';
import { newTicketId, TicketType } from './ticket-ids';
import {
  AuthenticationFactors, ConsumedRow, ConsumedTicket, EndedSessionRows, ReachedRow, Session, SessionDetail, SessionDetailRow, SessionKind, SessionRow,
  SessionTotals, toConsumed, toFactors, toReached, toSession, toSessionDetail,
} from './ticket-rows';
import * as q from './ticket-statements';
import { originParams, type SessionOriginRecord } from './session-origin';

export type { AuthenticationFactors, ConsumedTicket, EndedSessionRows, ReachedService, Session, SessionDetail, SessionKind } from './ticket-rows';
export type { DeviceSummary, SessionLocation, SessionOriginRecord } from './session-origin';

export interface NewSession {
  principal: string;
  attributes: Attributes;
  /** The authentication handler that accepted the credentials (CAS successfulAuthenticationHandlers). */
  authenticationHandler?: string;
  rememberMe: boolean;
  /** Multi-factor providers satisfied at login, provider id → when (CAS authnContextClass). */
  factors?: AuthenticationFactors;
  /** Hard limit and idle timeout, resolved once when the session is created (it keeps them). */
  policy: SessionPolicy;
  /** Where the login came from (address, User-Agent, device, location); none recorded when absent. */
  origin?: SessionOriginRecord;
}

export interface GrantServiceTicket {
  service: string;
  registeredServiceId: number | null;
  /** Credentials were checked in this very request (CAS isFromNewLogin). */
  credentialsProvided: boolean;
  policy: ServiceTicketPolicy;
  /** The service's own TGT lifetime: a session older than this gets no ticket for it (CAS 7 SSO participation). */
  sessionMaxAgeSeconds?: number;
  /** The address the ticket is granted to (after TRUSTED_PROXIES), recorded with the grant. */
  clientIp?: string | null;
}

/** A service record of an ended session that the service registry's answers given did not cover. */
export interface UnresolvedService {
  service: string;
  registered_service_id: number | null;
}

/**
 * A Security Event Token to queue in the single-logout outbox with a new session (kind SET): the
 * shape of logout/'s QueuedEvent, restated here since the registry imports nothing from logout/.
 */
export interface SessionEventRow {
  id: string;
  handle: string;
  principal: string;
  eventType: string;
  reason: string;
  receiverUrl: string;
  claims: string;
}

/**
 * The one Postgres-backed ticket repository. Every read that decides validity compares with the
 * injected clock's time; single-use tickets are consumed by one atomic statement. Ending a session
 * runs in the caller's transaction and answers what the session reached: what is sent to those
 * services is the logout pipeline's business (logout/session-terminator.ts).
 */
@Injectable()
export class TicketRegistry {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly metrics: CasMetrics,
  ) {}

  /** Creates a TGT (a new SSO session) and returns it; in the caller's transaction when given one. */
  async createSession(s: NewSession, tx?: Tx): Promise<Session> {
    const now = this.clock.now();
    const id = newTicketId('TGT');
    const { maxTimeToLiveSeconds, timeToKillSeconds } = s.policy;
    const hard = new Date(now.getTime() + maxTimeToLiveSeconds * 1000);
    const idle = timeToKillSeconds === null ? hard : new Date(now.getTime() + timeToKillSeconds * 1000);
    const expires = idle < hard ? idle : hard;
    await (tx ?? this.sql).affected(q.INSERT_SESSION_SQL, [
      id, s.principal, now, expires, hard, timeToKillSeconds, s.rememberMe, JSON.stringify(storableAttributes(s.attributes)), usernameKey(s.principal),
      s.authenticationHandler ?? null, s.factors && Object.keys(s.factors).length ? JSON.stringify(s.factors) : null, ...originParams(s.origin),
    ]);
    this.metrics.sessionCreated();
    return {
      id, principal: s.principal, createdAt: now, lastUsedAt: now, expiresAt: expires, useCount: 0, attributes: s.attributes, factors: s.factors ?? {},
    };
  }

  /**
   * A new session and its first ST, granted from a new login (credentials checked in this
   * request), in one statement: createSession then grantServiceTicket, with what they write, in
   * one round trip and one commit; in the caller's transaction when given one. The TGT counts the
   * grant as its first use. Returns null, writing nothing, when the service's TGT lifetime admits
   * no session at all (`sessionMaxAgeSeconds` ≤ 0: grantServiceTicket refuses even a new one), so
   * the caller creates the session alone as it would have. No one can end the session between the
   * two: it is visible to no other transaction before the statement commits. `eventsOf`: the
   * session's events (session-events.ts), queued in the single-logout outbox by the same statement.
   */
  async createSessionWithTicket(
    s: NewSession, g: Omit<GrantServiceTicket, 'credentialsProvided'>, tx?: Tx, eventsOf?: (session: Session) => SessionEventRow[],
  ): Promise<{ session: Session; ticket: string } | null> {
    if (g.sessionMaxAgeSeconds !== undefined && g.sessionMaxAgeSeconds <= 0) return null;
    const now = this.clock.now();
    const id = newTicketId('TGT');
    const stId = newTicketId('ST');
    const { maxTimeToLiveSeconds, timeToKillSeconds } = s.policy;
    const hard = new Date(now.getTime() + maxTimeToLiveSeconds * 1000);
    const idle = timeToKillSeconds === null ? hard : new Date(now.getTime() + timeToKillSeconds * 1000);
    const expires = idle < hard ? idle : hard;
    const session: Session = {
      id, principal: s.principal, createdAt: now, lastUsedAt: now, expiresAt: expires, useCount: 1, attributes: s.attributes, factors: s.factors ?? {},
    };
    const params: unknown[] = [
      id, s.principal, now, expires, hard, timeToKillSeconds, s.rememberMe, JSON.stringify(storableAttributes(s.attributes)), usernameKey(s.principal),
      s.authenticationHandler ?? null, s.factors && Object.keys(s.factors).length ? JSON.stringify(s.factors) : null, ...originParams(s.origin),
      stId, g.service, g.registeredServiceId, g.policy.timeToLiveSeconds, g.policy.numberOfUses, g.clientIp ?? null,
    ];
    const events = eventsOf?.(session) ?? [];
    let name = 'cas_create_session_with_ticket';
    let text = q.INSERT_SESSION_WITH_TICKET_SQL;
    if (events.length) {
      // The session's events queued by the same statement (session-events.ts).
      name = 'cas_create_session_with_ticket_events';
      text = q.INSERT_SESSION_WITH_TICKET_AND_EVENTS_SQL;
      params.push(
        events.map((e) => e.id), events.map((e) => e.handle), events.map((e) => e.principal), events.map((e) => e.eventType),
        events.map((e) => e.receiverUrl), events.map((e) => e.claims), events.map((e) => e.reason),
      );
    }
    const rows = tx ? await tx.prepared<{ id: string }>(name, text, params) : await this.sql.prepared<{ id: string }>(name, text, params);
    this.metrics.sessionCreated();
    this.metrics.ticketGranted('ST');
    return { session, ticket: rows[0].id };
  }

  /**
   * Records a multi-factor provider satisfied now by the live session `tgtId` (step-up from an
   * SSO session). Returns false, writing nothing, when the session is unknown or expired.
   */
  async addFactor(tgtId: string, providerId: string): Promise<boolean> {
    return (await this.sql.rows(q.ADD_SESSION_FACTOR_SQL, [tgtId, providerId, this.clock.now()])).length === 1;
  }

  /** The live session with this TGT id, or null when it is unknown or expired. Does not count as a use. */
  async findSession(tgtId: string): Promise<Session | null> {
    const row = await this.sql.one<SessionRow>(q.FIND_SESSION_SQL, [tgtId, this.clock.now()]);
    return row && toSession(row);
  }

  /**
   * Uses the session to grant an ST, in one statement: the TGT's idle window slides (never past
   * its hard limit; a session without idle timeout keeps its expiry) and its use count grows, the
   * ST row and the session_services record are inserted. Returns the ST id, or null when the TGT
   * is unknown, expired, or older than the service allows (nothing is written then). The ST is
   * "from new login" (renew=true, isFromNewLogin) only when this request checked credentials
   * (SPEC 2.5.1), never because it is the session's first ticket: Apereo CAS also counts a fresh
   * TGT's first use, so a login at /login without a service let the next SSO ticket pass renew.
   */
  async grantServiceTicket(tgtId: string, g: GrantServiceTicket): Promise<string | null> {
    const stId = newTicketId('ST');
    const rows = await this.sql.prepared<{ id: string }>('cas_grant_service_ticket', q.GRANT_SERVICE_TICKET_SQL, [
      tgtId, this.clock.now(), stId, g.service, g.registeredServiceId, g.policy.timeToLiveSeconds, g.credentialsProvided,
      g.sessionMaxAgeSeconds ?? null, g.policy.numberOfUses, g.clientIp ?? null,
    ]);
    if (rows.length) this.metrics.ticketGranted('ST');
    return rows.length ? rows[0].id : null;
  }

  /**
   * Uses an ST (or PT) in one statement: its last allowed use deletes it, an earlier one (multi-use
   * service policies) counts it. Whatever the outcome of the validation that follows (wrong
   * service, expired), that use is spent. Returns null when no usable ticket of the given types
   * had that id. The two branches exclude each other, so a row is never touched twice; under a
   * race on a multi-use ticket a caller may lose a use it could have had, never gain one.
   */
  async consumeServiceTicket(id: string, types: TicketType[]): Promise<ConsumedTicket | null> {
    const rows = await this.sql.prepared<ConsumedRow>('cas_consume_service_ticket', q.CONSUME_SERVICE_TICKET_SQL, [id, types, this.clock.now()]);
    return rows.length ? toConsumed(rows[0]) : null;
  }

  /**
   * Stores the PGT that a validation with `pgtUrl` minted from ticket `from` (already consumed),
   * once its callback accepted it. It belongs to the same session (session_id = root TGT, so the
   * session's end removes it), descends from the ticket-granting ticket `from` came from, and lives
   * like that session: the same hard limit and idle timeout, the idle window sliding with each PT
   * it grants. Returns false, writing nothing, when the session is gone or expired meanwhile, or
   * when `from` already minted a PGT (an ST or PT mints at most one), or when the PGT that
   * granted `from` (a PT) has ended meanwhile. The TGT row, then the ticket-granting ticket `from`
   * came from, are locked (KEY SHARE, the lock order): a logout of the session or of that proxied
   * session (which locks its PGTs FOR UPDATE) running at the same time either waits and then
   * removes the new PGT with the rest, or has already removed them and nothing is inserted.
   */
  async grantProxyGrantingTicket(from: ConsumedTicket, pgtId: string, pgtUrl: string): Promise<boolean> {
    const rows = await this.sql.rows(q.INSERT_PROXY_GRANTING_TICKET_SQL, [
      pgtId, from.sessionId, from.parentId, from.principal, this.clock.now(), from.service, [pgtUrl, ...from.proxies], from.id,
    ]);
    if (rows.length === 1) this.metrics.ticketGranted('PGT');
    return rows.length === 1;
  }

  /** A live PGT (in a live session) with what `/proxy` checks before granting (the root session's attributes and factors), or null. */
  async findProxyGrantingTicket(pgtId: string): Promise<{ id: string; principal: string; attributes: Attributes; factors: AuthenticationFactors } | null> {
    const row = await this.sql.one<{ id: string; principal: string; attributes: Attributes | null; authentication_factors: Record<string, string> | null }>(
      q.FIND_PROXY_GRANTING_TICKET_SQL,
      [pgtId, this.clock.now()],
    );
    return row && { id: row.id, principal: row.principal, attributes: row.attributes ?? {}, factors: toFactors(row.authentication_factors) };
  }

  /**
   * Uses a PGT to grant a PT for a target service, in one statement (as grantServiceTicket does
   * for a TGT): the PGT's idle window slides and its use count grows, the PT row (carrying the
   * PGT's proxy chain) and its session_services record (granted_by = the PGT, so single logout
   * reaches back-end services too) are inserted. Returns the PT id, or null when the PGT or its
   * session is unknown or expired (nothing is written then). The TGT is locked (KEY SHARE) before
   * the PGT, the order a logout takes them in, so the two cannot deadlock. The UPDATE locks the
   * PGT row, which conflicts with the FOR UPDATE lock endProxyGrantingTicket takes on it before it
   * reads what to remove: an end of the proxied session either waits for this grant and then
   * removes the PT with the rest, or removed the PGT first and no PT is granted.
   */
  async grantProxyTicket(pgtId: string, g: Omit<GrantServiceTicket, 'credentialsProvided' | 'sessionMaxAgeSeconds'>): Promise<string | null> {
    const ptId = newTicketId('PT');
    const row = await this.sql.one<{ id: string }>(q.GRANT_PROXY_TICKET_SQL, [
      pgtId, this.clock.now(), ptId, g.service, g.registeredServiceId, g.policy.timeToLiveSeconds, g.policy.numberOfUses,
    ]);
    if (row) this.metrics.ticketGranted('PT');
    return row && row.id;
  }

  /**
   * Ends a proxied session (a PGT) in the caller's transaction: the PGT, every PT and PGT
   * descending from it, and the service records of the PTs they granted are deleted, and the
   * back-end services those PTs reached are returned. The user's SSO session itself lives on.
   * Returns null when there was no such PGT. First the TGT is locked (KEY SHARE, as every proxy
   * grant does) and then, in id order, the PGT and the PGTs descending from it (FOR UPDATE, which
   * every grant from one of them conflicts with); only then does a second statement, with a
   * snapshot taken after those locks, read and delete the tree: a PT or PGT granted at that moment
   * either committed before (and is deleted and reported here) or finds its PGT gone. The locking
   * statement runs again until it finds no PGT it had not locked yet (one that a grant committed
   * under a PGT while this one waited).
   */
  async endProxyGrantingTicket(tx: Tx, pgtId: string): Promise<EndedSessionRows | null> {
    let locked: string[] = [];
    for (;;) {
      const found = await tx.rows<{ id: string }>(q.LOCK_PROXIED_SESSION_SQL, [pgtId]);
      const grew = found.some((r) => !locked.includes(r.id));
      locked = found.map((r) => r.id);
      if (!grew) break;
    }
    if (!locked.includes(pgtId)) return null;
    const row = await tx.one<{ principal: string; reached: ReachedRow[] }>(q.REMOVE_PROXIED_SESSION_SQL, [pgtId]);
    return row && { principal: row.principal, reached: row.reached.map(toReached) };
  }

  /**
   * Ends a session in the caller's transaction: the TGT and every ticket and service record of it
   * are deleted, and the services it reached are returned (for the caller to queue their logout
   * requests in the same transaction: a crash then loses neither half). With `expiredAt`, only a
   * session already expired at that time is ended. Returns null when there was no such session
   * (or another node ended it first: the row is deleted once).
   */
  async endSession(tx: Tx, tgtId: string, expiredAt?: Date): Promise<EndedSessionRows | null> {
    const gone = await tx.one<{ principal: string; snapshot: string }>(q.DELETE_SESSION_SQL, [tgtId, expiredAt ?? null]);
    if (!gone) return null;
    const reached = await this.removeSessionRows(tx, [tgtId]);
    return { principal: gone.principal, reached: reached.map(toReached), snapshot: gone.snapshot };
  }

  /**
   * The cleaner's batch, in the caller's transaction (run it first there: it steers the planner
   * for the rest of it): up to `limit` sessions expired at `now` are claimed FOR UPDATE SKIP
   * LOCKED, so nodes cleaning at once take disjoint batches and a session is ended (and logged
   * out) exactly once; a session in use right now (its row locked by a grant) is skipped and, its
   * expiry slid, is no longer expired. Then one statement deletes them with their tickets and
   * service records and writes what their end leaves (END_EXPIRED_SESSIONS_SQL: the logout
   * requests queued and the history rows, from `services`, the service registry's answers the
   * caller gives). A service record `services` does not answer rolls that statement back to a
   * savepoint taken after the claim (the locks stay), `resolve` is asked for the missing answers,
   * and it runs again. Two round trips for the writes, where a batch took thirteen.
   */
  async endExpiredSessions(
    tx: Tx,
    now: Date,
    limit: number,
    logout: { services: Record<string, unknown>; enabled: boolean; returnEnded: boolean; resolve: (missing: UnresolvedService[]) => Record<string, unknown> },
  ): Promise<{ ended: number; sessions: { id: string; principal: string }[] }> {
    await tx.affected(q.STEER_CLEANER_JOINS_SQL);
    const claimed = await tx.rows<{ id: string }>(q.CLAIM_EXPIRED_SESSIONS_SQL, [now, limit]);
    if (!claimed.length) return { ended: 0, sessions: [] };
    const ids = claimed.map((c) => c.id);
    let services = logout.services;
    for (let attempt = 0; ; attempt++) {
      if (attempt === 0) await tx.affected('SAVEPOINT cleaner_batch');
      else await tx.affected('ROLLBACK TO SAVEPOINT cleaner_batch');
      const [r] = await tx.rows<{ sessions: number; unresolved: UnresolvedService[] | null; ended: { id: string; principal: string }[] | null }>(
        q.END_EXPIRED_SESSIONS_SQL,
        [ids, now, JSON.stringify(services), logout.enabled, logout.returnEnded],
      );
      // The claim's locks hold every session: the second run meets the same records, all answered.
      if (r.unresolved?.length) {
        if (attempt > 0) throw new Error('the service registry left service records of expired sessions unanswered');
        services = { ...services, ...logout.resolve(r.unresolved) };
        continue;
      }
      return { ended: r.sessions, sessions: r.ended ?? [] };
    }
  }

  /**
   * Deletes every ticket and service record of these sessions, set-wise on the session_id
   * indexes, and returns the service records. Call it after the TGT rows were deleted (or locked)
   * in the same transaction: every statement that adds a row to a session locks its TGT row
   * first, so this statement, whose snapshot is taken after that lock was granted, sees every
   * such row and none can be added afterwards. No foreign key cascades: their per-row triggers
   * were most of the cleaner's time (migration DropSessionForeignKeys1764000009000).
   */
  private removeSessionRows(tx: Tx, sessionIds: string[]): Promise<(ReachedRow & { session_id: string })[]> {
    return tx.rows(q.REMOVE_SESSION_ROWS_SQL, [sessionIds]);
  }

  /**
   * A new login of the same user in a browser that had a live session: the old TGT goes, with
   * every ticket of it (ASVS 3.2.1: a new token at each authentication), and the services it
   * reached move to the new session in the same transaction, so that the new session's single
   * logout still reaches them. Returns false, changing nothing, when `oldId` is not a live
   * session of that principal (compared by canonical username), or when the new session is gone already
   * (an administrator ended it): the caller then ends the old one, with its single logout. Both
   * TGT rows are locked, in id order, before anything moves: an end of the new session waits,
   * then sees the moved records (without that lock its snapshot missed them, and they stayed,
   * owned by no session, never logged out). `ended`, if given, runs in the same transaction with
   * the old session as it was and the services it handed over (the session history's row).
   */
  async handOverSession(oldId: string, newId: string, principal: string, ended?: (tx: Tx, old: EndedSessionRows) => Promise<void>): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const both = await tx.rows<{ id: string }>(q.LOCK_SESSION_PAIR_SQL, [oldId, newId]);
      if (!both.some((r) => r.id === newId)) return false;
      const old = await tx.one<{ principal: string; snapshot: string }>(q.LOCK_LIVE_SESSION_OF_SQL, [oldId, this.clock.now(), usernameKey(principal)]);
      if (!old) return false;
      const moved = await tx.rows<ReachedRow>(q.MOVE_SESSION_SERVICES_SQL, [oldId, newId]);
      await tx.affected(q.DELETE_SESSION_TICKETS_SQL, [oldId]);
      await ended?.(tx, { principal: old.principal, reached: moved.map(toReached), snapshot: old.snapshot });
      return true;
    });
  }

  /**
   * A page of live sessions in id order (keyset: ids after `after`), optionally one principal's
   * (usernameKey), each with the services it reached. `kind` picks TGTs (sessions established
   * with CAS), PGTs (proxied sessions, each listed as CAS lists them: its own entry, with the PTs
   * it granted as services) or both; all PGT ids sort before all TGT ids, so the two keyset
   * branches concatenate. Each branch walks an index (TGTs: the primary key from 'TGT-'; PGTs:
   * ix_tickets_pgt_id; a principal: (type, principal_key)); never OFFSET, never the table.
   */
  async listSessions(p: { kind?: SessionKind; principal?: string; after?: string; limit: number }): Promise<SessionDetail[]> {
    const values = [this.clock.now(), p.after ?? '', p.principal === undefined ? null : usernameKey(p.principal), p.limit, p.kind ?? 'TGT'];
    // Both prepared: planning the page cost 0.9 ms beside 3-5.5 ms of execution at every request
    // (pg_stat_statements, BENCH_ONLY=admin-listing at 1,100,000 tickets); every plan is a walk of
    // the id indexes under the page's LIMIT, so the generic plan Postgres settles on fits any cursor.
    const rows =
      p.principal === undefined
        ? await this.sql.prepared<SessionDetailRow>('cas_list_sessions', q.LIST_SESSIONS_SQL, values)
        : await this.sql.prepared<SessionDetailRow>('cas_list_user_sessions', q.LIST_USER_SESSIONS_SQL, values);
    return rows.map(toSessionDetail);
  }

  /**
   * How many SSO sessions (TGT rows) there are, from the trigger-kept counter (no table scan): an
   * expired session the cleaner has not ended yet still counts.
   */
  async sessionCount(): Promise<number> {
    // Prepared: planning cost more than running it (bench BENCH_ONLY=scrape).
    return Number((await this.sql.prepared<{ sessions: string }>('cas_count_sessions', q.COUNT_SESSIONS_SQL, []))[0].sessions);
  }

  /** CAS 6 totals, counted by SQL: sessions, proxy-granting tickets, distinct users, uses. */
  async sessionTotals(): Promise<SessionTotals> {
    return (await this.sql.one<SessionTotals>(q.SESSION_TOTALS_SQL, [this.clock.now()]))!;
  }

  /** Deletes up to `limit` STs/PTs expired at `now` (their sessions live on). Returns rows removed. */
  deleteExpiredServiceTickets(now: Date, limit: number): Promise<number> {
    return this.sql.affected(q.DELETE_EXPIRED_SERVICE_TICKETS_SQL, [now, limit]);
  }

  /**
   * Takes, in the caller's transaction, the lock that serialises the logins of one principal
   * (canonical username) under a session limit: a transaction-scoped advisory lock, released at
   * commit. Take it first in the transaction, before any row lock: nothing else waits for it, so
   * it cannot be part of a deadlock. A login without a limit never takes it.
   */
  async lockSessionsOf(tx: Tx, principal: string): Promise<void> {
    await tx.rows(q.LOCK_PRINCIPAL_SESSIONS_SQL, [usernameKey(principal)]);
  }

  /**
   * The live sessions (TGT ids) of a principal, oldest first, but `excluding` (the session a
   * same-browser login replaces). Under lockSessionsOf, in READ COMMITTED: the statement's
   * snapshot is taken after the lock, so it sees every session a login that held it committed.
   */
  async liveSessionIdsOf(tx: Tx, principal: string, excluding: string | null): Promise<string[]> {
    return (await tx.rows<{ id: string }>(q.LIVE_SESSIONS_OF_SQL, [usernameKey(principal), this.clock.now(), excluding])).map((r) => r.id);
  }

  /** The live sessions (TGT ids) of a principal, compared by canonical username. */
  async sessionIdsOf(principal: string): Promise<string[]> {
    return (await this.sql.rows<{ id: string }>(q.SESSION_IDS_OF_SQL, [usernameKey(principal)])).map((r) => r.id);
  }
}

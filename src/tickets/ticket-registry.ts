import { Injectable } from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { storableAttributes } from '../common/attributes';
import { Clock } from '../common/clock';
import { usernameKey } from '../common/username';
import type { Attributes } from '../common/attributes';
import type { ServiceTicketPolicy, SessionPolicy } from '../services/ticket-policy';
import type { LogoutRequestRow, ReachedService } from './single-logout';
import { EndReason, SingleLogoutOutbox } from './single-logout-outbox';
import { newTicketId, TicketType } from './ticket-ids';

export interface NewSession {
  principal: string;
  attributes: Attributes;
  rememberMe: boolean;
  /** Hard limit and idle timeout, resolved once when the session is created (it keeps them). */
  policy: SessionPolicy;
}

export interface Session {
  id: string;
  principal: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  useCount: number;
  attributes: Attributes;
}

export interface GrantServiceTicket {
  service: string;
  registeredServiceId: number | null;
  /** Credentials were checked in this very request (CAS isFromNewLogin). */
  credentialsProvided: boolean;
  policy: ServiceTicketPolicy;
  /** The service's own TGT lifetime: a session older than this gets no ticket for it (CAS 7 SSO participation). */
  sessionMaxAgeSeconds?: number;
}

export interface ConsumedTicket {
  id: string;
  type: TicketType;
  /** Root TGT of the session. */
  sessionId: string;
  /** The ticket-granting ticket it came from: the TGT for an ST, the PGT for a PT. */
  parentId: string;
  service: string;
  /** PT: the proxies' callback URLs, most recent first (cas:proxies); empty for an ST. */
  proxies: string[];
  principal: string;
  attributes: Attributes;
  authenticatedAt: Date;
  fromNewLogin: boolean;
  rememberMe: boolean;
  /** False when the ticket or its session had expired: the ticket is consumed all the same. */
  live: boolean;
}

/**
 * The cleaner batch's two statements, exported for the bench's EXPLAIN (npm run bench).
 * Claim: up to $2 sessions expired at $1, locked SKIP LOCKED and deleted, ordered on the
 * sessions-only expiry index.
 */
export const CLAIM_EXPIRED_SESSIONS_SQL = `WITH victims AS (
           SELECT id FROM tickets WHERE type = 'TGT' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM tickets t USING victims v WHERE t.id = v.id RETURNING t.id, t.principal
         )
         SELECT id, principal FROM gone`;

/**
 * Every ticket and service record of the sessions $1, returning the service records. A join to
 * unnest() rather than = ANY($1): the planner estimated every element of a 1,000-id array one
 * by one, 24 ms of planning per cleaner batch (npm run bench).
 */
export const REMOVE_SESSION_ROWS_SQL = `WITH ids AS (
         SELECT unnest($1::varchar[]) AS id
       ), reached AS (
         DELETE FROM session_services s USING ids WHERE s.session_id = ids.id
         RETURNING s.session_id, s.ticket_id, s.service, s.registered_service_id, s.issued_at
       ), tickets_gone AS (
         DELETE FROM tickets t USING ids WHERE t.session_id = ids.id
       )
       SELECT * FROM reached`;

/** Sessions whose logout requests the cleaner builds between two turns of the event loop. */
const BUILD_SLICE = 250;

/**
 * The one Postgres-backed ticket repository. Every read that decides validity compares with the
 * injected clock's time; single-use tickets are consumed by one atomic statement.
 */
@Injectable()
export class TicketRegistry {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly outbox: SingleLogoutOutbox,
  ) {}

  /**
   * Runs a hot-path statement as a named prepared statement, so each pooled connection parses and
   * plans it once instead of at every call: planning was 0.59 ms of the 1.5 ms of Postgres CPU a
   * validation cost (npm run bench, pg_stat_statements). Single autocommit statements only; a
   * transaction's statements go through its EntityManager.
   */
  private async prepared<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const pool = (this.db.driver as unknown as { master: Pool }).master;
    return (await pool.query<R>({ name, text, values })).rows;
  }

  /** Creates a TGT (a new SSO session) and returns it. */
  async createSession(s: NewSession): Promise<Session> {
    const now = this.clock.now();
    const id = newTicketId('TGT');
    const { maxTimeToLiveSeconds, timeToKillSeconds } = s.policy;
    const hard = new Date(now.getTime() + maxTimeToLiveSeconds * 1000);
    const idle = timeToKillSeconds === null ? hard : new Date(now.getTime() + timeToKillSeconds * 1000);
    const expires = idle < hard ? idle : hard;
    await this.db.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at,
                            hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes)
       VALUES ($1, 'TGT', $1, $2, $9, $3, $3, $4, $5, $6, 0, $7, $8)`,
      [id, s.principal, now, expires, hard, timeToKillSeconds, s.rememberMe, JSON.stringify(storableAttributes(s.attributes)), usernameKey(s.principal)],
    );
    return { id, principal: s.principal, createdAt: now, lastUsedAt: now, expiresAt: expires, useCount: 0, attributes: s.attributes };
  }

  /** The live session with this TGT id, or null when it is unknown or expired. Does not count as a use. */
  async findSession(tgtId: string): Promise<Session | null> {
    const rows: SessionRow[] = await this.db.query(
      `SELECT id, principal, created_at, last_used_at, expires_at, use_count, attributes
         FROM tickets WHERE id = $1 AND type = 'TGT' AND expires_at > $2`,
      [tgtId, this.clock.now()],
    );
    return rows.length ? toSession(rows[0]) : null;
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
    const now = this.clock.now();
    const stId = newTicketId('ST');
    const rows = await this.prepared<{ id: string }>(
      'cas_grant_service_ticket',
      `WITH tgt AS (
         UPDATE tickets
            SET last_used_at = $2,
                use_count = use_count + 1,
                expires_at = LEAST(hard_expires_at, $2 + make_interval(secs => idle_timeout_seconds))
          WHERE id = $1 AND type = 'TGT' AND expires_at > $2
            AND ($8::integer IS NULL OR created_at > $2 - make_interval(secs => $8::integer))
          RETURNING id, principal
       ), st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses)
         SELECT $3, 'ST', tgt.id, tgt.id, tgt.principal, $4, $5, $2, $2, $2 + make_interval(secs => $6),
                $7, $9
           FROM tgt
         RETURNING id
       ), tracked AS (
         INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
         SELECT tgt.id, $3, $4, $5, $2 FROM tgt
       )
       SELECT id FROM st`,
      [
        tgtId, now, stId, g.service, g.registeredServiceId, g.policy.timeToLiveSeconds, g.credentialsProvided,
        g.sessionMaxAgeSeconds ?? null, g.policy.numberOfUses,
      ],
    );
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
    // A PT is also dead once the PGT it came from is gone or expired (CAS: an expired parent expires its children).
    const rows = await this.prepared<ConsumedRow>(
      'cas_consume_service_ticket',
      `WITH last_use AS (
         DELETE FROM tickets WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 >= max_uses
         RETURNING id, type, session_id, parent_id, service, principal, expires_at, from_new_login, proxy_chain
       ), earlier_use AS (
         UPDATE tickets SET use_count = use_count + 1, last_used_at = $3
          WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 < max_uses
         RETURNING id, type, session_id, parent_id, service, principal, expires_at, from_new_login, proxy_chain
       ), st AS (
         SELECT * FROM last_use UNION ALL SELECT * FROM earlier_use
       )
       SELECT st.id, st.type, st.session_id, st.parent_id, st.service, st.principal, st.from_new_login, st.proxy_chain,
              tgt.attributes, tgt.created_at AS authenticated_at, tgt.remember_me,
              (st.expires_at > $3 AND tgt.expires_at > $3 AND (st.type <> 'PT' OR COALESCE(pgt.expires_at > $3, false))) AS live
         FROM st JOIN tickets tgt ON tgt.id = st.session_id
         LEFT JOIN tickets pgt ON st.type = 'PT' AND pgt.id = st.parent_id AND pgt.type = 'PGT'`,
      [id, types, this.clock.now()],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      id: r.id,
      type: r.type,
      sessionId: r.session_id,
      parentId: r.parent_id,
      service: r.service,
      proxies: r.proxy_chain ?? [],
      principal: r.principal,
      attributes: r.attributes ?? {},
      authenticatedAt: r.authenticated_at,
      fromNewLogin: r.from_new_login === true,
      rememberMe: r.remember_me,
      live: r.live,
    };
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
    const now = this.clock.now();
    const rows: unknown[] = await this.db.query(
      `INSERT INTO tickets (id, type, session_id, parent_id, principal, principal_key, created_at, last_used_at, expires_at,
                            hard_expires_at, idle_timeout_seconds, use_count, remember_me, proxied_by, proxy_chain, granted_from)
       SELECT $1, 'PGT', tgt.id, $3, $4, tgt.principal_key, $5, $5, LEAST(tgt.hard_expires_at, $5::timestamptz + make_interval(secs => tgt.idle_timeout_seconds)),
              tgt.hard_expires_at, tgt.idle_timeout_seconds, 0, tgt.remember_me, $6, $7::text[], $8
         FROM tickets tgt JOIN tickets parent ON parent.id = $3 AND parent.session_id = tgt.id
        WHERE tgt.id = $2 AND tgt.type = 'TGT' AND tgt.expires_at > $5
          FOR KEY SHARE
       ON CONFLICT (granted_from) WHERE type = 'PGT' DO NOTHING
       RETURNING id`,
      [pgtId, from.sessionId, from.parentId, from.principal, now, from.service, [pgtUrl, ...from.proxies], from.id],
    );
    return rows.length === 1;
  }

  /** A live PGT (in a live session) with what `/proxy` checks before granting, or null. */
  async findProxyGrantingTicket(pgtId: string): Promise<{ id: string; principal: string; attributes: Attributes } | null> {
    const now = this.clock.now();
    const rows: { id: string; principal: string; attributes: Attributes | null }[] = await this.db.query(
      `SELECT p.id, p.principal, tgt.attributes
         FROM tickets p JOIN tickets tgt ON tgt.id = p.session_id
        WHERE p.id = $1 AND p.type = 'PGT' AND p.expires_at > $2 AND tgt.expires_at > $2`,
      [pgtId, now],
    );
    return rows.length ? { id: rows[0].id, principal: rows[0].principal, attributes: rows[0].attributes ?? {} } : null;
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
    const now = this.clock.now();
    const ptId = newTicketId('PT');
    const rows: { id: string }[] = await this.db.query(
      `WITH root AS (
         SELECT tgt.id FROM tickets tgt
          WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT' AND tgt.expires_at > $2
          FOR KEY SHARE
       ), pgt AS (
         UPDATE tickets p
            SET last_used_at = $2,
                use_count = p.use_count + 1,
                expires_at = LEAST(p.hard_expires_at, $2 + make_interval(secs => p.idle_timeout_seconds))
           FROM root
          WHERE p.id = $1 AND p.type = 'PGT' AND p.expires_at > $2 AND p.session_id = root.id
          RETURNING p.id, p.session_id, p.principal, p.proxy_chain
       ), pt AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses, proxy_chain)
         SELECT $3, 'PT', pgt.session_id, pgt.id, pgt.principal, $4, $5, $2, $2, $2 + make_interval(secs => $6), false, $7, pgt.proxy_chain
           FROM pgt
         RETURNING id
       ), tracked AS (
         INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, granted_by)
         SELECT pgt.session_id, $3, $4, $5, $2, pgt.id FROM pgt
       )
       SELECT id FROM pt`,
      [pgtId, now, ptId, g.service, g.registeredServiceId, g.policy.timeToLiveSeconds, g.policy.numberOfUses],
    );
    return rows.length ? rows[0].id : null;
  }

  /**
   * Ends a proxied session (a PGT) through the single-logout pipeline, in one transaction: the PGT,
   * every PT and PGT descending from it, and the service records of the PTs they granted are
   * deleted, and the logout requests for those back-end services are written to the outbox (under
   * the PGT's id). The user's SSO session itself lives on. Returns null when there was no such PGT.
   * First the TGT is locked (KEY SHARE, as every proxy grant does) and then, in id order, the PGT
   * and the PGTs descending from it (FOR UPDATE, which every grant from one of them conflicts
   * with); only then does a second statement, with a snapshot taken after those locks, read and
   * delete the tree: a PT or PGT granted at that moment either committed before (and is deleted
   * and logged out here) or finds its PGT gone. The locking statement runs again until it finds
   * no PGT it had not locked yet (one that a grant committed under a PGT while this one waited).
   */
  async endProxyGrantingTicket(
    pgtId: string,
    reason: EndReason,
    requestsFor: (principal: string, reached: ReachedService[]) => LogoutRequestRow[],
  ): Promise<{ principal: string; requests: LogoutRequestRow[] } | null> {
    return this.db.transaction(async (m) => {
      let locked: string[] = [];
      for (;;) {
        const found: { id: string }[] = await m.query(
          `WITH RECURSIVE root AS (
             SELECT tgt.id FROM tickets tgt
              WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT'
              FOR KEY SHARE
           ), tree AS (
             SELECT p.id FROM tickets p JOIN root ON p.session_id = root.id WHERE p.id = $1 AND p.type = 'PGT'
             UNION ALL
             SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id WHERE t.type = 'PGT'
           )
           SELECT p.id FROM tickets p JOIN tree ON tree.id = p.id ORDER BY p.id FOR UPDATE OF p`,
          [pgtId],
        );
        const grew = found.some((r) => !locked.includes(r.id));
        locked = found.map((r) => r.id);
        if (!grew) break;
      }
      if (!locked.includes(pgtId)) return null;
      const rows: { principal: string; reached: ReachedRow[] }[] = await m.query(
        `WITH RECURSIVE root AS (
           SELECT tgt.id FROM tickets tgt
            WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT'
            FOR KEY SHARE
         ), tree AS (
           SELECT p.id, p.session_id, p.principal FROM tickets p JOIN root ON p.session_id = root.id WHERE p.id = $1 AND p.type = 'PGT'
           UNION ALL
           SELECT t.id, t.session_id, t.principal FROM tickets t JOIN tree ON t.parent_id = tree.id WHERE t.type IN ('PGT', 'PT')
         ), reached AS (
           DELETE FROM session_services s USING tree WHERE s.session_id = tree.session_id AND s.granted_by = tree.id
           RETURNING s.ticket_id, s.service, s.registered_service_id, s.issued_at
         ), gone AS (
           DELETE FROM tickets t USING tree WHERE t.id = tree.id RETURNING t.id
         )
         SELECT (SELECT principal FROM tree WHERE id = $1) AS principal,
                COALESCE((SELECT json_agg(reached.*) FROM reached), '[]'::json) AS reached
           FROM tree WHERE tree.id = $1`,
        [pgtId],
      );
      if (!rows.length) return null;
      const { principal } = rows[0];
      const requests = requestsFor(principal, rows[0].reached.map(toReached));
      await this.outbox.enqueue(m, reason, backChannel(requests, pgtId));
      return { principal, requests };
    });
  }

  /**
   * Ends a session through the single-logout pipeline, in one transaction: the TGT and every
   * ticket and service record of it are deleted, and the logout requests that `requestsFor`
   * builds from the services it reached are written to the outbox. A crash can lose neither half.
   * With `expiredAt`, only a session already expired at that time is ended. Returns null when
   * there was no such session (or another node ended it first: the row is deleted once).
   */
  async endSession(
    tgtId: string,
    reason: EndReason,
    requestsFor: (principal: string, reached: ReachedService[]) => LogoutRequestRow[],
    expiredAt?: Date,
  ): Promise<{ principal: string; requests: LogoutRequestRow[] } | null> {
    return this.db.transaction(async (m) => {
      const gone: { principal: string }[] = await m.query(
        `WITH gone AS (
           DELETE FROM tickets WHERE id = $1 AND type = 'TGT' AND ($2::timestamptz IS NULL OR expires_at <= $2) RETURNING principal
         ) SELECT principal FROM gone`,
        [tgtId, expiredAt ?? null],
      );
      if (!gone.length) return null;
      const { principal } = gone[0];
      const reached = (await this.removeSessionRows(m, [tgtId])).map(toReached);
      const requests = requestsFor(principal, reached);
      await this.outbox.enqueue(m, reason, backChannel(requests, tgtId));
      return { principal, requests };
    });
  }

  /**
   * Deletes every ticket and service record of these sessions, set-wise on the session_id
   * indexes, and returns the service records. Call it after the TGT rows were deleted (or locked)
   * in the same transaction: every statement that adds a row to a session locks its TGT row
   * first, so this statement, whose snapshot is taken after that lock was granted, sees every
   * such row and none can be added afterwards. No foreign key cascades: their per-row triggers
   * were most of the cleaner's time (migration DropSessionForeignKeys1764000009000).
   */
  private async removeSessionRows(m: EntityManager, sessionIds: string[]): Promise<(ReachedRow & { session_id: string })[]> {
    return m.query(REMOVE_SESSION_ROWS_SQL, [sessionIds]);
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
   * owned by no session, never logged out).
   */
  async handOverSession(oldId: string, newId: string, principal: string): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const both = (await m.query(
        `SELECT id FROM tickets WHERE id IN ($1, $2) AND type = 'TGT' ORDER BY id FOR UPDATE`,
        [oldId, newId],
      )) as { id: string }[];
      if (!both.some((r) => r.id === newId)) return false;
      const live = (await m.query(
        `SELECT id FROM tickets WHERE id = $1 AND type = 'TGT' AND expires_at > $2 AND principal_key = $3 FOR UPDATE`,
        [oldId, this.clock.now(), usernameKey(principal)],
      )) as { id: string }[];
      if (!live.length) return false;
      await m.query(`UPDATE session_services SET session_id = $2 WHERE session_id = $1`, [oldId, newId]);
      await m.query(`DELETE FROM tickets WHERE session_id = $1`, [oldId]);
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
  async listSessions(q: { kind?: SessionKind; principal?: string; after?: string; limit: number }): Promise<SessionDetail[]> {
    const kind = q.kind ?? 'TGT';
    const rows: SessionDetailRow[] = await this.db.query(
      `WITH page AS (
         (SELECT p.id FROM tickets p
           WHERE $5::text IN ('ALL', 'PGT') AND p.type = 'PGT' AND (p.expires_at > $1) IS TRUE AND p.id > $2
             AND ($3::text IS NULL OR p.principal_key = $3::text)
             -- a PGT outlives an idle TGT only until the cleaner ends the session: it is dead already
             AND EXISTS (SELECT 1 FROM tickets r WHERE r.id = p.session_id AND r.expires_at > $1)
           ORDER BY p.id LIMIT $4)
         UNION ALL
         -- "(expires_at > $1) IS TRUE" keeps the expiry indexes out of the plan: combined in a
         -- bitmap with the id range, they made a page near the end of the ids sort 13,000 live
         -- sessions for 50 (22 ms instead of 1.6 ms at 1M tickets, EXPLAIN ANALYZE).
         (SELECT id FROM tickets
           WHERE $5::text IN ('ALL', 'TGT') AND type = 'TGT' AND (expires_at > $1) IS TRUE AND id > GREATEST($2, 'TGT-')
             AND ($3::text IS NULL OR principal_key = $3::text)
           ORDER BY id LIMIT $4)
         ORDER BY id LIMIT $4
       )
       SELECT t.id, t.type, t.principal, t.created_at, t.last_used_at, t.expires_at, t.hard_expires_at, t.idle_timeout_seconds,
              t.use_count, t.remember_me, root.attributes, t.proxied_by,
              COALESCE((SELECT json_agg(json_build_object('ticket_id', s.ticket_id, 'service', s.service, 'issued_at', s.issued_at)
                                        ORDER BY s.issued_at)
                          FROM session_services s
                         WHERE s.session_id = t.session_id
                           AND (CASE WHEN t.type = 'PGT' THEN s.granted_by = t.id ELSE s.granted_by IS NULL END)), '[]'::json) AS services
         FROM page JOIN tickets t ON t.id = page.id JOIN tickets root ON root.id = t.session_id
        ORDER BY t.id`,
      [this.clock.now(), q.after ?? '', q.principal === undefined ? null : usernameKey(q.principal), q.limit, kind],
    );
    return rows.map((r) => ({
      ...toSession(r),
      proxiedBy: r.type === 'PGT' ? r.proxied_by : null,
      hardExpiresAt: r.hard_expires_at,
      idleTimeoutSeconds: r.idle_timeout_seconds,
      rememberMe: r.remember_me,
      services: r.services.map((s) => ({ ticketId: s.ticket_id, service: s.service, issuedAt: new Date(s.issued_at) })),
    }));
  }

  /** CAS 6 totals, counted by SQL: sessions, proxy-granting tickets, distinct users, uses. */
  async sessionTotals(): Promise<{ tgts: number; pgts: number; principals: number; uses: number }> {
    const [r] = (await this.db.query(
      `SELECT count(*) FILTER (WHERE type = 'TGT')::int AS tgts,
              count(*) FILTER (WHERE type = 'PGT')::int AS pgts,
              count(DISTINCT principal_key) FILTER (WHERE type = 'TGT')::int AS principals,
              COALESCE(sum(use_count) FILTER (WHERE type = 'TGT'), 0)::int AS uses
         FROM tickets WHERE type IN ('TGT', 'PGT') AND expires_at > $1`,
      [this.clock.now()],
    )) as { tgts: number; pgts: number; principals: number; uses: number }[];
    return r;
  }

  /**
   * The cleaner's batch: up to `limit` sessions expired at `now` are deleted with their tickets
   * and service records, and their logout requests queued, in one transaction. The sessions are
   * claimed FOR UPDATE SKIP LOCKED, so nodes cleaning at once take disjoint batches and a
   * session's logout requests are queued exactly once; a session in use right now (its row
   * locked by a grant) is skipped and, its expiry slid, is no longer expired. Returns the
   * sessions ended.
   */
  async endExpiredSessions(
    now: Date,
    limit: number,
    requestsFor: (principal: string, reached: ReachedService[]) => LogoutRequestRow[],
  ): Promise<number> {
    return this.db.transaction(async (m) => {
      // For a batch of ids, the planner weighs the unnest() (estimated at its real size) against
      // the whole tables and picks hash joins over sequential scans of tickets and
      // session_services: 237 ms per 1,000-session batch at 110k tickets, against 54 ms with
      // the ix_tickets_session / pk_session_services lookups it takes otherwise. Only this
      // transaction's statements are steered (SET LOCAL); none of them gains from a hash join.
      await m.query('SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
      const gone: { id: string; principal: string }[] = await m.query(
        CLAIM_EXPIRED_SESSIONS_SQL,
        [now, limit],
      );
      if (!gone.length) return 0;
      const reachedBySession = new Map<string, ReachedRow[]>();
      for (const r of await this.removeSessionRows(m, gone.map((g) => g.id))) {
        const list = reachedBySession.get(r.session_id);
        if (list) list.push(r);
        else reachedBySession.set(r.session_id, [r]);
      }
      // Set-wise INSERTs for the whole batch: one round trip per session kept a 10,000-session
      // batch's transaction open for minutes under validation load (npm run bench: 499 rows/s).
      // The requests are built a slice of sessions at a time, letting this node's requests in
      // between: 1,000 sessions' are 18-33 ms of synchronous work on a quiet core.
      const requests: (LogoutRequestRow & { sessionId: string })[] = [];
      for (let i = 0; i < gone.length; i += BUILD_SLICE) {
        if (i > 0) await yieldToEventLoop();
        for (const g of gone.slice(i, i + BUILD_SLICE)) {
          requests.push(...backChannel(requestsFor(g.principal, (reachedBySession.get(g.id) ?? []).map(toReached)), g.id));
        }
      }
      await this.outbox.enqueue(m, 'EXPIRED', requests);
      return gone.length;
    });
  }

  /** Deletes up to `limit` STs/PTs expired at `now` (their sessions live on). Returns rows removed. */
  async deleteExpiredServiceTickets(now: Date, limit: number): Promise<number> {
    const [, count] = (await this.db.query(
      `DELETE FROM tickets WHERE id IN (
         SELECT id FROM tickets WHERE type IN ('ST', 'PT') AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, limit],
    )) as [unknown, number];
    return count;
  }

  /** The live sessions (TGT ids) of a principal, compared by canonical username. */
  async sessionIdsOf(principal: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM tickets WHERE type = 'TGT' AND principal_key = $1 ORDER BY id`,
      [usernameKey(principal)],
    );
    return rows.map((r) => r.id);
  }
}

interface SessionRow {
  id: string;
  principal: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  use_count: number;
  attributes: Attributes | null;
}

/** TGT: sessions established with CAS (DIRECT); PGT: proxied sessions (PROXIED); ALL: both. */
export type SessionKind = 'ALL' | 'TGT' | 'PGT';

export interface SessionDetail extends Session {
  /** For a PGT: the service that proxies; null for a TGT. */
  proxiedBy: string | null;
  hardExpiresAt: Date | null;
  idleTimeoutSeconds: number | null;
  rememberMe: boolean;
  services: { ticketId: string; service: string; issuedAt: Date }[];
}

interface SessionDetailRow extends SessionRow {
  type: TicketType;
  proxied_by: string | null;
  hard_expires_at: Date | null;
  idle_timeout_seconds: number | null;
  remember_me: boolean;
  services: { ticket_id: string; service: string; issued_at: string }[];
}

interface ConsumedRow {
  id: string;
  type: TicketType;
  session_id: string;
  parent_id: string;
  proxy_chain: string[] | null;
  service: string;
  principal: string;
  from_new_login: boolean | null;
  attributes: Attributes | null;
  authenticated_at: Date;
  remember_me: boolean;
  live: boolean;
}

interface ReachedRow {
  ticket_id: string;
  service: string;
  registered_service_id: number | null;
  issued_at: string;
}

function toReached(r: ReachedRow): ReachedService {
  return {
    ticketId: r.ticket_id,
    service: r.service,
    registeredServiceId: r.registered_service_id === null ? null : Number(r.registered_service_id),
    issuedAt: new Date(r.issued_at),
  };
}

function toSession(r: SessionRow): Session {
  return {
    id: r.id,
    principal: r.principal,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    useCount: r.use_count,
    attributes: r.attributes ?? {},
  };
}

/** The requests the outbox delivers (FRONT_CHANNEL ones are made by the browser), tagged with their session. */
function backChannel(requests: LogoutRequestRow[], sessionId: string): (LogoutRequestRow & { sessionId: string })[] {
  return requests.filter((r) => r.channel === 'BACK_CHANNEL').map((r) => ({ ...r, sessionId }));
}

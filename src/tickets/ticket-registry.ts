import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storableAttributes } from '../common/attributes';
import { Clock } from '../common/clock';
import type { Attributes } from '../config/cas-config';
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
  service: string;
  principal: string;
  attributes: Attributes;
  authenticatedAt: Date;
  fromNewLogin: boolean;
  rememberMe: boolean;
  /** False when the ticket or its session had expired: the ticket is consumed all the same. */
  live: boolean;
}

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

  /** Creates a TGT (a new SSO session) and returns it. */
  async createSession(s: NewSession): Promise<Session> {
    const now = this.clock.now();
    const id = newTicketId('TGT');
    const { maxTimeToLiveSeconds, timeToKillSeconds } = s.policy;
    const hard = new Date(now.getTime() + maxTimeToLiveSeconds * 1000);
    const idle = timeToKillSeconds === null ? hard : new Date(now.getTime() + timeToKillSeconds * 1000);
    const expires = idle < hard ? idle : hard;
    await this.db.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at,
                            hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes)
       VALUES ($1, 'TGT', $1, $2, $3, $3, $4, $5, $6, 0, $7, $8)`,
      [id, s.principal, now, expires, hard, timeToKillSeconds, s.rememberMe, JSON.stringify(storableAttributes(s.attributes))],
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
   * is unknown, expired, or older than the service allows (nothing is written then).
   */
  async grantServiceTicket(tgtId: string, g: GrantServiceTicket): Promise<string | null> {
    const now = this.clock.now();
    const stId = newTicketId('ST');
    const rows: { id: string }[] = await this.db.query(
      `WITH tgt AS (
         UPDATE tickets
            SET last_used_at = $2,
                use_count = use_count + 1,
                expires_at = LEAST(hard_expires_at, $2 + make_interval(secs => idle_timeout_seconds))
          WHERE id = $1 AND type = 'TGT' AND expires_at > $2
            AND ($8::integer IS NULL OR created_at > $2 - make_interval(secs => $8::integer))
          RETURNING id, principal, use_count
       ), st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses)
         SELECT $3, 'ST', tgt.id, tgt.id, tgt.principal, $4, $5, $2, $2, $2 + make_interval(secs => $6),
                $7 OR tgt.use_count = 1, $9
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
    const rows: ConsumedRow[] = await this.db.query(
      `WITH last_use AS (
         DELETE FROM tickets WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 >= max_uses
         RETURNING id, type, session_id, service, principal, expires_at, from_new_login
       ), earlier_use AS (
         UPDATE tickets SET use_count = use_count + 1, last_used_at = $3
          WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 < max_uses
         RETURNING id, type, session_id, service, principal, expires_at, from_new_login
       ), st AS (
         SELECT * FROM last_use UNION ALL SELECT * FROM earlier_use
       )
       SELECT st.id, st.type, st.service, st.principal, st.from_new_login,
              tgt.attributes, tgt.created_at AS authenticated_at, tgt.remember_me,
              (st.expires_at > $3 AND tgt.expires_at > $3) AS live
         FROM st JOIN tickets tgt ON tgt.id = st.session_id`,
      [id, types, this.clock.now()],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      id: r.id,
      type: r.type,
      service: r.service,
      principal: r.principal,
      attributes: r.attributes ?? {},
      authenticatedAt: r.authenticated_at,
      fromNewLogin: r.from_new_login === true,
      rememberMe: r.remember_me,
      live: r.live,
    };
  }

  /**
   * Ends a session through the single-logout pipeline, in one transaction: the TGT and (by cascade)
   * every ticket and service record of it are deleted, and the logout requests that `requestsFor`
   * builds from the services it reached are written to the outbox. A crash can lose neither half.
   * Returns null when there was no such session.
   */
  async endSession(
    tgtId: string,
    reason: EndReason,
    requestsFor: (principal: string, reached: ReachedService[]) => LogoutRequestRow[],
  ): Promise<{ principal: string; requests: LogoutRequestRow[] } | null> {
    return this.db.transaction(async (m) => {
      // The CTE reads session_services from the statement's snapshot, before the cascade removes them.
      const rows: { principal: string; reached: ReachedRow[] }[] =
        await m.query(
          `WITH reached AS (
             SELECT ticket_id, service, registered_service_id, issued_at FROM session_services WHERE session_id = $1
           ), gone AS (
             DELETE FROM tickets WHERE id = $1 AND type = 'TGT' RETURNING principal
           )
           SELECT gone.principal,
                  COALESCE(json_agg(reached.*) FILTER (WHERE reached.ticket_id IS NOT NULL), '[]'::json) AS reached
             FROM gone LEFT JOIN reached ON true GROUP BY gone.principal`,
          [tgtId],
        );
      if (!rows.length) return null;
      const { principal } = rows[0];
      const reached = rows[0].reached.map(toReached);
      const requests = requestsFor(principal, reached);
      await this.outbox.enqueue(m, tgtId, principal, reason, requests.filter((r) => r.channel === 'BACK_CHANNEL'));
      return { principal, requests };
    });
  }

  /**
   * A page of live sessions in TGT id order (keyset: ids after `after`), optionally one principal's
   * (ignoring case), each with the services it reached. Uses the primary key (all TGT ids sort
   * together) or the (type, lower(principal)) index; never OFFSET, never loads the table.
   */
  async listSessions(q: { principal?: string; after?: string; limit: number }): Promise<SessionDetail[]> {
    const rows: SessionDetailRow[] = await this.db.query(
      `SELECT t.id, t.principal, t.created_at, t.last_used_at, t.expires_at, t.hard_expires_at, t.idle_timeout_seconds,
              t.use_count, t.remember_me, t.attributes,
              COALESCE((SELECT json_agg(json_build_object('ticket_id', s.ticket_id, 'service', s.service, 'issued_at', s.issued_at)
                                        ORDER BY s.issued_at)
                          FROM session_services s WHERE s.session_id = t.id), '[]'::json) AS services
         FROM tickets t
        WHERE t.type = 'TGT' AND t.expires_at > $1 AND t.id > $2
          AND ($3::text IS NULL OR lower(t.principal) = lower($3::text))
        ORDER BY t.id
        LIMIT $4`,
      [this.clock.now(), q.after ?? 'TGT-', q.principal ?? null, q.limit],
    );
    return rows.map((r) => ({
      ...toSession(r),
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
              count(DISTINCT lower(principal)) FILTER (WHERE type = 'TGT')::int AS principals,
              COALESCE(sum(use_count) FILTER (WHERE type = 'TGT'), 0)::int AS uses
         FROM tickets WHERE type IN ('TGT', 'PGT') AND expires_at > $1`,
      [this.clock.now()],
    )) as { tgts: number; pgts: number; principals: number; uses: number }[];
    return r;
  }

  /**
   * The cleaner's batch: up to `limit` sessions expired at `now` are deleted (their tickets and
   * service records by cascade) and their logout requests queued, in one transaction. The rows
   * are claimed FOR UPDATE SKIP LOCKED, so nodes cleaning at once take disjoint batches and a
   * session's logout requests are queued exactly once. Returns the sessions ended.
   */
  async endExpiredSessions(
    now: Date,
    limit: number,
    requestsFor: (principal: string, reached: ReachedService[]) => LogoutRequestRow[],
  ): Promise<number> {
    return this.db.transaction(async (m) => {
      const rows: { id: string; principal: string; reached: ReachedRow[] }[] = await m.query(
        `WITH victims AS (
           SELECT id FROM tickets WHERE type = 'TGT' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), reached AS (
           -- = ANY(array) keeps this an index lookup: as a join the planner chose a sequential scan
           -- of the whole session_services table for every batch (npm run bench, EXPLAIN).
           SELECT s.session_id, s.ticket_id, s.service, s.registered_service_id, s.issued_at
             FROM session_services s WHERE s.session_id = ANY(ARRAY(SELECT id FROM victims))
         ), gone AS (
           DELETE FROM tickets t USING victims v WHERE t.id = v.id RETURNING t.id, t.principal
         )
         SELECT gone.id, gone.principal,
                COALESCE(json_agg(reached.*) FILTER (WHERE reached.ticket_id IS NOT NULL), '[]'::json) AS reached
           FROM gone LEFT JOIN reached ON reached.session_id = gone.id GROUP BY gone.id, gone.principal`,
        [now, limit],
      );
      // One INSERT for the whole batch: one round trip per session kept a 10,000-session batch's
      // transaction open for minutes under validation load (npm run bench: 499 rows/s).
      const requests = rows.flatMap((r) =>
        requestsFor(r.principal, r.reached.map(toReached))
          .filter((x) => x.channel === 'BACK_CHANNEL')
          .map((x) => ({ ...x, sessionId: r.id, principal: r.principal })),
      );
      await this.outbox.enqueueMany(m, 'EXPIRED', requests);
      return rows.length;
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

  /** The live sessions (TGT ids) of a principal, compared ignoring case. */
  async sessionIdsOf(principal: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM tickets WHERE type = 'TGT' AND lower(principal) = lower($1) ORDER BY id`,
      [principal],
    );
    return rows.map((r) => r.id);
  }

  /** Destroys a session and, in the same statement, every ticket and service record of it. Returns rows removed. */
  async destroySession(tgtId: string): Promise<number> {
    const [, count] = (await this.db.query(`DELETE FROM tickets WHERE session_id = $1`, [tgtId])) as [unknown, number];
    return count;
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

export interface SessionDetail extends Session {
  hardExpiresAt: Date | null;
  idleTimeoutSeconds: number | null;
  rememberMe: boolean;
  services: { ticketId: string; service: string; issuedAt: Date }[];
}

interface SessionDetailRow extends SessionRow {
  hard_expires_at: Date | null;
  idle_timeout_seconds: number | null;
  remember_me: boolean;
  services: { ticket_id: string; service: string; issued_at: string }[];
}

interface ConsumedRow {
  id: string;
  type: TicketType;
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

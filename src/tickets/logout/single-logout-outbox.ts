import { Injectable } from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Clock } from '../../common/clock';
import { Sql, Tx } from '../../database/sql';
import type { EndReason } from '../end-reason';
import { RECORD_LOGOUT_OUTCOMES_SQL } from '../session-history';
import { OUTBOX_CLAIM_SECONDS } from '../ticket-statements';
import { logoutRequestXml, type LogoutRequestRow } from './single-logout';

export type DeliveryStatus = 'PENDING' | 'SENDING' | 'SUCCESS' | 'FAILURE';

export interface LogoutRequestStatus {
  id: string;
  ticketId: string;
  service: string;
  logoutUrl: string;
  status: DeliveryStatus;
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  /** PENDING: when it is next due; SENDING: when its claim expires (due again then); otherwise when it was last due. */
  nextAttemptAt: Date;
  /** SUCCESS or FAILURE: when it finished. */
  completedAt: Date | null;
}

export interface ClaimedRequest {
  id: string;
  /** LOGOUT: a SAML LogoutRequest (message); SET: a session event, its claims (message) signed at delivery. */
  kind: OutboxKind;
  logoutUrl: string;
  message: string;
  attempts: number;
}

export type OutboxKind = 'LOGOUT' | 'SET';

/** A session event for one receiver (tickets/session-events.ts): its claims are its message. */
export interface QueuedEvent {
  /** The SET's jti. */
  id: string;
  /** The session's opaque handle, or '' (a credential change). */
  handle: string;
  principal: string;
  /** The CAEP event type URI. */
  eventType: string;
  /** The end reason, ESTABLISHED or CREDENTIAL. */
  reason: string;
  receiverUrl: string;
  claims: string;
}

export interface AttemptOutcome {
  id: string;
  /**
   * The claim this outcome is for: the row's `attempts` as claimDue returned it. Every claim
   * counts one more, so it names the claim, and a late outcome of an expired claim is dropped.
   */
  attempt: number;
  ok: boolean;
  httpStatus?: number;
  error?: string;
  finalAttempt: boolean;
  retryInSeconds: number;
}

/** Rows per INSERT when many sessions' requests are queued at once (the cleaner's batch). */
const ENQUEUE_CHUNK = 250;

/** Claims expire so a request held by a node that died is attempted again elsewhere. */
const CLAIM_SECONDS = OUTBOX_CLAIM_SECONDS;

/** The backlog is counted up to this: beyond it, the exact number tells an operator nothing more. */
export const BACKLOG_CAP = 10_000;

/**
 * Claims up to $2 requests due at $1 (bench/explain.ts shows its plan while a backlog is
 * delivered). A claim moves the row's next_attempt_at to its claim's expiry: a request being sent
 * is due again only if its claim expires, and it leaves the head of ix_slo_outbox_due, where the
 * claim reads. It used to stay there, at its old due time, and every claim read the heap row of
 * every request in flight on every node (status SENDING, claim not expired) before finding 20 due
 * ones: 12-22 ms a claim during a mass expiry's delivery (docs/benchmarks.md).
 */
export const claimDueSql = (onlyEvents: boolean) => `UPDATE slo_outbox SET status = 'SENDING', attempts = attempts + 1,
              claimed_until = $1::timestamptz + make_interval(secs => ${CLAIM_SECONDS}), next_attempt_at = $1::timestamptz + make_interval(secs => ${CLAIM_SECONDS})
        WHERE id IN (
          SELECT id FROM slo_outbox
           WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= $1
             -- a row claimed before claims moved next_attempt_at (an upgrade) still waits for its claim to expire
             AND (status = 'PENDING' OR claimed_until < $1)${onlyEvents ? ` AND kind = 'SET'` : ''}
           ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, logout_url, message, principal, ticket_id, created_at, attempts`;

/** The `slo_outbox` table: the only SQL on it. */
@Injectable()
export class SingleLogoutOutbox {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /**
   * Inserts the requests of one or many ended sessions inside the caller's transaction (the one
   * deleting the sessions): the cleaner's batch costs a few round trips, not one per session. The
   * SAML message is not stored: claimDue rebuilds it from the row (migration 1764000010000).
   * Rows go in chunks with a turn of the event loop between them: serialising a whole batch's
   * parameters at once is enough synchronous work for requests on this node to queue behind
   * (docs/benchmarks.md).
   */
  async enqueue(tx: Tx, reason: EndReason, rows: (LogoutRequestRow & { sessionId: string })[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ENQUEUE_CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = rows.slice(i, i + ENQUEUE_CHUNK);
      await tx.affected(
        // Times as epoch milliseconds: pg formats a Date parameter far more slowly than a number.
        `INSERT INTO slo_outbox (id, session_id, ticket_id, principal, service, logout_url, reason, next_attempt_at, created_at)
         SELECT id, session_id, ticket_id, principal, service, logout_url, $1, to_timestamp(issued_ms / 1000.0), to_timestamp(issued_ms / 1000.0)
           FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::text[], $7::text[], $8::float8[])
                AS r(id, session_id, ticket_id, principal, service, logout_url, issued_ms)`,
        [
          reason,
          chunk.map((r) => r.id), chunk.map((r) => r.sessionId), chunk.map((r) => r.ticketId), chunk.map((r) => r.principal),
          chunk.map((r) => r.service), chunk.map((r) => r.logoutUrl), chunk.map((r) => r.issuedAt.getTime()),
        ],
      );
    }
  }

  /**
   * Session events for receivers, inside the caller's transaction (the one that starts or ends the
   * session): one INSERT per chunk, whatever the number of sessions and receivers.
   */
  async enqueueEvents(tx: Tx, rows: QueuedEvent[], now: Date): Promise<void> {
    for (let i = 0; i < rows.length; i += ENQUEUE_CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = rows.slice(i, i + ENQUEUE_CHUNK);
      await tx.affected(
        `INSERT INTO slo_outbox (id, kind, session_id, ticket_id, principal, service, logout_url, message, reason, next_attempt_at, created_at)
         SELECT id, 'SET', session_id, '', principal, service, logout_url, message, reason, to_timestamp($1 / 1000.0), to_timestamp($1 / 1000.0)
           FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], $5::text[], $6::text[], $7::text[], $8::varchar[])
                AS r(id, session_id, principal, service, logout_url, message, reason)`,
        [
          now.getTime(), chunk.map((r) => r.id), chunk.map((r) => r.handle), chunk.map((r) => r.principal), chunk.map((r) => r.eventType),
          chunk.map((r) => r.receiverUrl), chunk.map((r) => r.claims), chunk.map((r) => r.reason),
        ],
      );
    }
  }

  /**
   * The requests not delivered yet (PENDING or SENDING, counted up to BACKLOG_CAP) and the creation
   * time of the oldest, for the metrics: both walk the partial index on pending rows
   * (ix_slo_outbox_pending_created), the minimum its first entry, never the table. The ORDER BY
   * is the index's: it keeps the count on the index whatever the statistics say, where a seq scan
   * would read the week of delivered rows the outbox keeps.
   */
  async backlog(): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
    // Prepared: planning cost ten times what running it does on a small backlog (bench BENCH_ONLY=scrape).
    const [row] = await this.sql.prepared<{ pending: number; oldest: Date | null }>(
      'cas_outbox_backlog',
      `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM slo_outbox WHERE status IN ('PENDING', 'SENDING') ORDER BY created_at LIMIT ${BACKLOG_CAP}) p) AS pending,
              (SELECT min(created_at) FROM slo_outbox WHERE status IN ('PENDING', 'SENDING')) AS oldest`,
      [],
    );
    return { pending: row.pending, oldestCreatedAt: row.oldest };
  }

  /**
   * Claims up to `limit` due requests for this node (SKIP LOCKED: nodes never claim the same row).
   * `onlyEvents`: session events only (single logout switched off leaves the logout requests be).
   */
  async claimDue(limit: number, onlyEvents = false): Promise<ClaimedRequest[]> {
    const now = this.clock.now();
    // Prepared, as record is: a login with session events on runs both after its 302, and each
    // was planned at every call (0.28 and 0.47 ms of planning against 0.17 and 0.21 of execution).
    const rows = await this.sql.prepared<{ id: string; kind: OutboxKind; logout_url: string; message: string | null; principal: string; ticket_id: string; created_at: Date; attempts: number }>(
      onlyEvents ? 'cas_outbox_claim_events' : 'cas_outbox_claim',
      claimDueSql(onlyEvents),
      [now, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      logoutUrl: r.logout_url,
      // Every attempt sends the same bytes: the inputs are the row's, IssueInstant its created_at.
      message: r.message ?? logoutRequestXml(r.id, r.principal, r.ticket_id, r.created_at),
      attempts: r.attempts,
    }));
  }

  /**
   * Records attempts' outcomes in one statement: SUCCESS, FAILURE (no attempts left), or PENDING
   * again after `retryInSeconds`, each only for the claim it was made under (same `attempts`): a
   * claim that expired and was taken by another node (attempts + 1) is that node's to record, and
   * a late outcome of the old one would otherwise overwrite it (a retry or SUCCESS lost, or a row
   * marked done while the other node is still sending). The finished ones set their status in
   * their session's history row in the same statement (session-history.ts).
   */
  async record(outcomes: AttemptOutcome[]): Promise<void> {
    if (!outcomes.length) return;
    const now = this.clock.now();
    const status = (o: AttemptOutcome): DeliveryStatus => (o.ok ? 'SUCCESS' : o.finalAttempt ? 'FAILURE' : 'PENDING');
    await this.sql.prepared(
      'cas_outbox_record',
      `WITH done AS (
       UPDATE slo_outbox o SET status = r.status, last_http_status = r.http_status, last_error = r.error, claimed_until = NULL,
              next_attempt_at = $1::timestamptz + make_interval(secs => r.retry_in),
              completed_at = CASE WHEN r.status IN ('SUCCESS', 'FAILURE') THEN $1::timestamptz ELSE NULL END
         FROM unnest($2::varchar[], $3::varchar[], $4::integer[], $5::text[], $6::integer[], $7::integer[])
              AS r(id, status, http_status, error, retry_in, attempt)
        WHERE o.id = r.id AND o.status = 'SENDING' AND o.attempts = r.attempt
       -- A SET row's session_id is a handle, no history row's: it is left out by name.
       RETURNING o.id, CASE WHEN o.kind = 'LOGOUT' THEN o.session_id END AS session_id, o.status)
       ${RECORD_LOGOUT_OUTCOMES_SQL}`,
      [
        now, outcomes.map((o) => o.id), outcomes.map(status), outcomes.map((o) => o.httpStatus ?? null),
        outcomes.map((o) => o.error ?? null), outcomes.map((o) => o.retryInSeconds), outcomes.map((o) => o.attempt),
      ],
    );
  }

  async forSession(sessionId: string): Promise<LogoutRequestStatus[]> {
    const rows = await this.sql.rows<{
      id: string; ticket_id: string; service: string; logout_url: string; status: DeliveryStatus;
      attempts: number; last_http_status: number | null; last_error: string | null; next_attempt_at: Date; completed_at: Date | null;
    }>(
      `SELECT id, ticket_id, service, logout_url, status, attempts, last_http_status, last_error, next_attempt_at, completed_at
         FROM slo_outbox WHERE session_id = $1 AND kind = 'LOGOUT' ORDER BY service`,
      [sessionId],
    );
    return rows.map((r) => ({
      id: r.id, ticketId: r.ticket_id, service: r.service, logoutUrl: r.logout_url, status: r.status,
      attempts: r.attempts, lastHttpStatus: r.last_http_status, lastError: r.last_error, nextAttemptAt: r.next_attempt_at, completedAt: r.completed_at,
    }));
  }

  /**
   * An administrator's "retry now": the session's logout request `id`, waiting for its next attempt
   * (PENDING) or given up (FAILURE), is due now. A given-up request gets one attempt more (the
   * delivery's attempt count is the row's, already at its limit); its history row keeps FAILURE
   * until that attempt's outcome is recorded over it. A request being sent (SENDING) or delivered
   * is left alone. Returns whether the request was made due.
   */
  async makeDue(sessionId: string, id: string): Promise<boolean> {
    const now = this.clock.now();
    const changed = await this.sql.affected(
      `UPDATE slo_outbox SET status = 'PENDING', next_attempt_at = $3, completed_at = NULL
        WHERE id = $2 AND session_id = $1 AND kind = 'LOGOUT' AND status IN ('PENDING', 'FAILURE')`,
      [sessionId, id, now],
    );
    return changed === 1;
  }

  /** Deletes up to `limit` requests finished (SUCCESS or FAILURE) before `before`; returns how many. */
  async deleteFinished(before: Date, limit: number): Promise<number> {
    return this.sql.affected(
      `DELETE FROM slo_outbox WHERE id IN (
         SELECT id FROM slo_outbox WHERE status IN ('SUCCESS', 'FAILURE') AND completed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
  }
}

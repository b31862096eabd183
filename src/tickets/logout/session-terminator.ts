import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { Sql, Tx } from '../../database/sql';
import { CasMetrics } from '../../metrics/cas-metrics';
import { ServiceRegistry } from '../../services/service-registry';
import { SessionEvents } from '../session-events';
import { SessionHistory } from '../session-history';
import { parseTicketId } from '../ticket-ids';
import { EndedSessionRows, ReachedService, TicketRegistry, UnresolvedService } from '../ticket-registry';
import type { RegisteredService } from '../../services/registered-service';
import { frontChannelUrl, logoutChannelOf, LogoutRequestRow, logoutRequests } from './single-logout';
import type { EndReason } from '../end-reason';
import { LogoutRequestStatus, SingleLogoutOutbox } from './single-logout-outbox';
import { SingleLogoutDelivery } from './single-logout.delivery';

export interface EndedSession {
  /** Back-channel requests and their delivery status. */
  backChannel: LogoutRequestStatus[];
  /** URLs the browser must GET for FRONT_CHANNEL services. */
  frontChannel: string[];
}

/** The service keys the cleaner remembers answering (servicesAnswers); forgotten all at once beyond this. */
const MAX_ANSWERED = 10_000;

/**
 * The one logout pipeline: user logout, admin deletion, a disabled account (and expiry, with the
 * cleaner) all end sessions here, so every one of them sends the same single logout requests.
 * Each end is one transaction: the registry deletes the session and says what it reached, the
 * logout requests are built from that, and the outbox queues them; a crash loses neither half.
 */
@Injectable()
export class SessionTerminator {
  /** Services the cleaner's batches met, by END_EXPIRED_SESSIONS_SQL's key (`i<id>` or `u<url>`). */
  private readonly answered = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly delivery: SingleLogoutDelivery,
    private readonly clock: Clock,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly history: SessionHistory,
    private readonly events: SessionEvents,
    private readonly metrics: CasMetrics,
  ) {}

  /**
   * Ends the session and queues its back-channel logout requests durably, then starts delivering
   * them. With `waitMs`, waits at most that long for deliveries before answering their current
   * status. The front-channel requests are returned for the logout page to have the browser make.
   * Returns null when there was no such session. A PGT id ends that proxied session only (the
   * PGT, what descends from it, logout requests to the services its PTs reached), as CAS's
   * logout manager does for a PGT. `endedBy` (ADMIN: the admin token id) goes into the session's
   * history row, written in the same transaction.
   */
  async end(tgtId: string, reason: EndReason, waitMs = 0, endedBy: string | null = null): Promise<EndedSession | null> {
    const now = this.clock.now();
    const requests = await this.sql.transaction((tx) => this.endWithin(tx, tgtId, reason, now, endedBy));
    if (!requests) return null;
    const frontChannel = requests.filter((r) => r.channel === 'FRONT_CHANNEL').flatMap((r) => frontChannelUrl(r) ?? []);
    if (!requests.some((r) => r.channel === 'BACK_CHANNEL')) {
      // Its session-revoked events, if any receiver is configured, still go now.
      if (this.events.enabled) void this.delivery.kick();
      return { backChannel: [], frontChannel };
    }
    const delivered = this.delivery.kick();
    if (waitMs > 0) {
      // At most waitMs on the injected clock, less when the deliveries finish first.
      const finished = new AbortController();
      void delivered.finally(() => finished.abort());
      await this.clock.sleep(waitMs, finished.signal);
    }
    return { backChannel: await this.outbox.forSession(tgtId), frontChannel };
  }

  /**
   * `end`'s work inside the caller's transaction (a login over its session limit ends the oldest
   * sessions in the one that inserts the new one): the session goes and its back-channel logout
   * requests are queued. Returns every request built (FRONT_CHANNEL ones included), or null when
   * there was no such session; the caller kicks the delivery once committed.
   */
  async endWithin(tx: Tx, tgtId: string, reason: EndReason, now: Date, endedBy: string | null = null): Promise<LogoutRequestRow[] | null> {
    const ended =
      parseTicketId(tgtId) === 'PGT' ? await this.tickets.endProxyGrantingTicket(tx, tgtId) : await this.tickets.endSession(tx, tgtId);
    if (!ended) return null;
    // cas.slo.disabled: sessions end without any logout request.
    const built = this.config.slo.disabled ? [] : this.requestsFor(ended, now);
    await this.outbox.enqueue(tx, reason, backChannel(built, tgtId));
    await this.history.record(tx, reason, now, endedBy, [{ ended, requests: built }]);
    // A proxied session (PGT) is no SSO session: it has no event of its own.
    if (ended.snapshot !== undefined) await this.events.revoked(tx, reason, now, [{ id: tgtId, principal: ended.principal }]);
    if (ended.snapshot !== undefined) this.metrics.sessionsEnded(reason);
    return built;
  }

  /**
   * The cleaner's batch: expired sessions ended with their logout requests queued and their
   * history rows written, in one transaction; returns how many. The registry claims them, then
   * one statement writes everything (END_EXPIRED_SESSIONS_SQL builds the requests and history
   * rows in SQL from the rows it deletes); what this node adds is the service registry's answer
   * for each service the batch's sessions reached (servicesAnswers), not a loop over sessions:
   * thirteen statements and the Node work between them took three times the Postgres time of the
   * same work in one statement (docs/benchmarks.md).
   */
  async endExpired(limit: number): Promise<number> {
    const now = this.clock.now();
    const enabled = !this.config.slo.disabled && this.config.cleaner.sloOnExpiry;
    const ended = await this.sql.transaction(async (tx) => {
      const r = await this.tickets.endExpiredSessions(tx, now, limit, {
        services: enabled ? this.serviceAnswers() : {},
        enabled,
        returnEnded: this.events.enabled,
        resolve: (missing) => this.answer(missing),
      });
      if (r.sessions.length) await this.events.revoked(tx, 'EXPIRED', now, r.sessions);
      return r.ended;
    });
    this.metrics.sessionsEnded('EXPIRED', ended);
    if (ended > 0) void this.delivery.kick();
    return ended;
  }

  /**
   * The registry's answers for the services the cleaner met before (remembered by key, answered
   * afresh at each batch, so a service disabled or changed since is seen by the next batch):
   * `i<id>` for a registered service found by id, `u<url>` for a record matched by its URL.
   */
  private serviceAnswers(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of this.answered) {
      const id = key.startsWith('i') ? Number(key.slice(1)) : null;
      const registered = id !== null ? this.services.findById(id) : this.services.match(key.slice(1));
      if (id !== null && !registered) this.answered.delete(key);
      else out[key] = answerOf(registered);
    }
    return out;
  }

  /** Answers for the records END_EXPIRED_SESSIONS_SQL found unanswered, as lookup() resolves them; remembered for later batches. */
  private answer(missing: UnresolvedService[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.answered.size > MAX_ANSWERED) this.answered.clear();
    for (const m of missing) {
      const byId = m.registered_service_id !== null ? this.services.findById(m.registered_service_id) : null;
      const key = byId ? `i${m.registered_service_id}` : `u${m.service}`;
      out[key] = answerOf(byId ?? this.services.match(m.service));
      this.answered.add(key);
    }
    return out;
  }

  /**
   * A session a request found expired (its TGC still points at it) is treated as absent and ended
   * now, the way the cleaner would have: same logout requests, reason EXPIRED. Nothing happens to
   * a live or unknown session. Whoever deletes the row first (this request, another node's, or a
   * cleaner) queues its logout requests; the others find nothing, so they are sent exactly once.
   * Returns whether this call ended it.
   */
  async endIfExpired(tgtId: string): Promise<boolean> {
    const now = this.clock.now();
    const requests = await this.sql.transaction(async (tx) => {
      const ended = await this.tickets.endSession(tx, tgtId, now);
      if (!ended) return null;
      const built = this.expiryRequests(ended, now);
      await this.outbox.enqueue(tx, 'EXPIRED', backChannel(built, tgtId));
      await this.history.record(tx, 'EXPIRED', now, null, [{ ended, requests: built }]);
      await this.events.revoked(tx, 'EXPIRED', now, [{ id: tgtId, principal: ended.principal }]);
      return built;
    });
    if (requests) this.metrics.sessionsEnded('EXPIRED');
    if (requests && (this.events.enabled || requests.some((r) => r.channel === 'BACK_CHANNEL'))) void this.delivery.kick();
    return requests !== null;
  }

  /** Logout requests for an expired session, unless SLO or SLO-on-expiry is switched off. */
  private expiryRequests(ended: EndedSessionRows, now: Date): LogoutRequestRow[] {
    return this.config.slo.disabled || !this.config.cleaner.sloOnExpiry ? [] : this.requestsFor(ended, now);
  }

  private requestsFor(ended: EndedSessionRows, now: Date): LogoutRequestRow[] {
    return logoutRequests(ended.principal, ended.reached, (r) => this.lookup(r), now);
  }

  private lookup(r: ReachedService) {
    return (r.registeredServiceId !== null ? this.services.findById(r.registeredServiceId) : null) ?? this.services.match(r.service);
  }

  /**
   * A new login of the same user in a browser whose live session it replaces: the registry moves
   * the old session's services to the new one (no logout: they are still in use) and deletes the
   * old session, whose history row (REPLACED) is written in that same transaction. False, changing
   * nothing, as TicketRegistry.handOverSession.
   */
  async handOver(oldId: string, newId: string, principal: string): Promise<boolean> {
    const handed = await this.tickets.handOverSession(oldId, newId, principal, async (tx, old) => {
      const now = this.clock.now();
      await this.history.record(tx, 'REPLACED', now, null, [{ ended: old, requests: 'HANDED_OVER' }]);
      await this.events.revoked(tx, 'REPLACED', now, [{ id: oldId, principal: old.principal }]);
    });
    if (handed) this.metrics.sessionsEnded('REPLACED');
    if (handed && this.events.enabled) void this.delivery.kick();
    return handed;
  }

  /** Ends every session of a principal; returns how many. */
  async endAllOf(principal: string, reason: EndReason): Promise<number> {
    let ended = 0;
    for (const id of await this.tickets.sessionIdsOf(principal)) {
      if ((await this.end(id, reason)) !== null) ended++;
    }
    return ended;
  }
}

/**
 * How the cleaner's statement logs a service out: by channel, to its logoutUrl (absent: the
 * service URL), or not at all (null): logoutChannelOf, as for logoutRequests().
 */
function answerOf(registered: RegisteredService | null): { t: LogoutRequestRow['channel']; u?: string } | null {
  const channel = logoutChannelOf(registered);
  if (!registered || !channel) return null;
  return registered.logoutUrl !== undefined ? { t: channel, u: registered.logoutUrl } : { t: channel };
}

/** The requests the outbox delivers (FRONT_CHANNEL ones are made by the browser), tagged with their session. */
function backChannel(requests: LogoutRequestRow[], sessionId: string): (LogoutRequestRow & { sessionId: string })[] {
  return requests.filter((r) => r.channel === 'BACK_CHANNEL').map((r) => ({ ...r, sessionId }));
}

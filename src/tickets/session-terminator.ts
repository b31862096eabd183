import { Injectable } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { Clock } from '../common/clock';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ServiceRegistry } from '../services/service-registry';
import { frontChannelUrl, logoutRequests, ReachedService } from './single-logout';
import { EndReason, LogoutRequestStatus, SingleLogoutOutbox } from './single-logout-outbox';
import { SingleLogoutDelivery } from './single-logout.delivery';
import { parseTicketId } from './ticket-ids';
import { TicketRegistry } from './ticket-registry';

export interface EndedSession {
  /** Back-channel requests and their delivery status. */
  backChannel: LogoutRequestStatus[];
  /** URLs the browser must GET for FRONT_CHANNEL services. */
  frontChannel: string[];
}

/**
 * The one logout pipeline: user logout, admin deletion, a disabled account (and expiry, with the
 * cleaner) all end sessions here, so every one of them sends the same single logout requests.
 */
@Injectable()
export class SessionTerminator {
  constructor(
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly delivery: SingleLogoutDelivery,
    private readonly clock: Clock,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  /**
   * Ends the session and queues its back-channel logout requests durably, then starts delivering
   * them. With `waitMs`, waits at most that long for deliveries before answering their current
   * status. The front-channel requests are returned for the logout page to have the browser make.
   * Returns null when there was no such session. A PGT id ends that proxied session only (the
   * PGT, what descends from it, logout requests to the services its PTs reached), as CAS's
   * logout manager does for a PGT.
   */
  async end(tgtId: string, reason: EndReason, waitMs = 0): Promise<EndedSession | null> {
    const now = this.clock.now();
    // cas.slo.disabled: sessions end without any logout request.
    const requestsFor = (principal: string, reached: ReachedService[]) =>
      this.config.slo.disabled ? [] : logoutRequests(principal, reached, (r) => this.lookup(r), now);
    const ended =
      parseTicketId(tgtId) === 'PGT'
        ? await this.tickets.endProxyGrantingTicket(tgtId, reason, requestsFor)
        : await this.tickets.endSession(tgtId, reason, requestsFor);
    if (!ended) return null;
    const frontChannel = ended.requests.filter((r) => r.channel === 'FRONT_CHANNEL').flatMap((r) => frontChannelUrl(r) ?? []);
    if (!ended.requests.some((r) => r.channel === 'BACK_CHANNEL')) return { backChannel: [], frontChannel };
    const delivered = this.delivery.kick();
    if (waitMs > 0) await Promise.race([delivered, new Promise((r) => setTimeout(r, waitMs).unref())]);
    return { backChannel: await this.outbox.forSession(tgtId), frontChannel };
  }

  /** The cleaner's batch: expired sessions ended with their logout requests queued; returns how many. */
  async endExpired(limit: number): Promise<number> {
    const now = this.clock.now();
    const ended = await this.tickets.endExpiredSessions(now, limit, (principal, reached) => this.expiryRequests(principal, reached, now));
    if (ended > 0) void this.delivery.kick();
    return ended;
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
    const ended = await this.tickets.endSession(tgtId, 'EXPIRED', (principal, reached) => this.expiryRequests(principal, reached, now), now);
    if (ended?.requests.some((r) => r.channel === 'BACK_CHANNEL')) void this.delivery.kick();
    return ended !== null;
  }

  /** Logout requests for an expired session, unless SLO or SLO-on-expiry is switched off. */
  private expiryRequests(principal: string, reached: ReachedService[], now: Date) {
    return this.config.slo.disabled || !this.config.cleaner.sloOnExpiry ? [] : logoutRequests(principal, reached, (r) => this.lookup(r), now);
  }

  private lookup(r: ReachedService) {
    return (r.registeredServiceId !== null ? this.services.findById(r.registeredServiceId) : null) ?? this.services.match(r.service);
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

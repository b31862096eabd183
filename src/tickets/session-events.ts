import { Inject, Injectable } from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Clock } from '../common/clock';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { SessionEventReceiver } from '../config/session-events-config';
import { Sql, Tx } from '../database/sql';
import type { EndReason } from './end-reason';
import type { QueuedEvent } from './logout/single-logout-outbox';
import { SingleLogoutOutbox } from './logout/single-logout-outbox';
import { SingleLogoutDelivery } from './logout/single-logout.delivery';
import { handleOf } from './session-handle';
import { randomToken } from './ticket-ids';
import { GrantServiceTicket, NewSession, Session, TicketRegistry } from './ticket-registry';

export { handleOf } from './session-handle';

/** CAEP 1.0 event types (OpenID Continuous Access Evaluation Profile, §3). */
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
export const SESSION_REVOKED = `${CAEP}session-revoked`;
export const SESSION_ESTABLISHED = `${CAEP}session-established`;
export const CREDENTIAL_CHANGE = `${CAEP}credential-change`;

/** CAEP `initiating_entity` of each end: who or what ended the session. */
const INITIATED_BY: Record<EndReason, 'user' | 'admin' | 'policy' | 'system'> = {
  LOGOUT: 'user',
  REPLACED: 'user',
  ADMIN: 'admin',
  DISABLED: 'admin',
  PASSWORD_CHANGE: 'admin',
  EXPIRED: 'policy',
  LIMIT: 'policy',
};

/** Sessions whose events the cleaner's batch builds between two turns of the event loop (as its logout requests). */
const BUILD_SLICE = 250;

/** An ended SSO session, as the terminator has it. */
export interface EndedForEvents {
  id: string;
  principal: string;
}

/**
 * Session lifecycle events for the receivers of SESSION_EVENTS_WEBHOOKS: OpenID Shared Signals /
 * CAEP Security Event Tokens (RFC 8417) `session-established`, `session-revoked` (with the end
 * reason) and `credential-change`. Each is queued in the single-logout outbox (kind SET) in the
 * transaction that starts or ends the session, one row per receiver, and delivered, retried and
 * purged with the logout requests (single-logout.delivery.ts signs it when it sends it).
 *
 * The subject is `complex` (SSF 1.0 §3): the user as `iss_sub` (this server's prefix, the
 * principal) and the session as an `opaque` handle, a one-way hash of the TGT id: a TGT id is a
 * bearer credential and never leaves the server, while a receiver can still pair a session's
 * established and revoked events.
 *
 * With no receiver configured nothing here runs: the login and the ends take one boolean test.
 */
@Injectable()
export class SessionEvents {
  private readonly receivers: SessionEventReceiver[];
  private readonly issuer: string;

  constructor(
    private readonly sql: Sql,
    private readonly tickets: TicketRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly delivery: SingleLogoutDelivery,
    private readonly clock: Clock,
    @Inject(CAS_CONFIG) config: CasConfig,
  ) {
    this.receivers = config.sessionEvents.receivers;
    this.issuer = config.server.prefix;
  }

  get enabled(): boolean {
    return this.receivers.length > 0;
  }

  /**
   * TicketRegistry.createSession, with its `session-established` event queued in the same
   * transaction when receivers are configured (the caller's, or one of its own, kicking the
   * delivery once committed). Without receivers it is createSession itself.
   */
  async createSession(s: NewSession, tx?: Tx): Promise<Session> {
    if (!this.enabled) return this.tickets.createSession(s, tx);
    const create = async (t: Tx) => {
      const session = await this.tickets.createSession(s, t);
      await this.established(t, s, session);
      return session;
    };
    if (tx) return create(tx);
    const session = await this.sql.transaction(create);
    void this.delivery.kick();
    return session;
  }

  /**
   * TicketRegistry.createSessionWithTicket (a new session and its first ST in one statement), with
   * the session's `session-established` event, when receivers are configured, queued by that same
   * statement already claimed by this node (INSERT_SESSION_WITH_TICKET_AND_EVENTS_SQL), and sent
   * once it has committed: one round trip and one commit for the login, none for a claim. In the
   * caller's transaction (which the caller commits, then kicks the delivery) the event is queued
   * unclaimed, as createSession queues it. Without receivers, the session and its ticket alone.
   */
  async createSessionWithTicket(
    s: NewSession, g: Omit<GrantServiceTicket, 'credentialsProvided'>, tx?: Tx,
  ): Promise<{ session: Session; ticket: string } | null> {
    if (!this.enabled) return this.tickets.createSessionWithTicket(s, g, tx);
    if (tx) {
      const created = await this.tickets.createSessionWithTicket(s, g, tx);
      if (created) await this.established(tx, s, created.session);
      return created;
    }
    let events: QueuedEvent[] = [];
    const created = await this.tickets.createSessionWithTicket(s, g, undefined, (session) => (events = this.establishedEvents(s, session)));
    // Committed: this node holds the claim (attempt 1) on each row it queued.
    if (created) void this.delivery.deliverClaimed(events.map((e) => ({ id: e.id, kind: 'SET', logoutUrl: e.receiverUrl, message: e.claims, attempts: 1 })));
    return created;
  }

  /** The `session-established` event of a session created in the caller's transaction `t`. */
  private async established(t: Tx, s: NewSession, session: Session): Promise<void> {
    await this.outbox.enqueueEvents(t, this.establishedEvents(s, session), session.createdAt);
  }

  /** The `session-established` SETs of a new session, one per receiver. */
  private establishedEvents(s: NewSession, session: Session): QueuedEvent[] {
    const event: Record<string, unknown> = { event_timestamp: seconds(session.createdAt) };
    if (s.origin?.clientIp) event.ips = [s.origin.clientIp];
    return this.forEachReceiver(SESSION_ESTABLISHED, 'ESTABLISHED', session.principal, handleOf(session.id), event, session.createdAt);
  }

  /**
   * `session-revoked` for each SSO session ended in the caller's transaction, the end reason in
   * `reason_admin` and `initiating_entity`; set-wise for a cleaner batch. Returns whether any was
   * queued (the caller kicks the delivery once committed).
   */
  async revoked(tx: Tx, reason: EndReason, now: Date, ended: readonly EndedForEvents[]): Promise<boolean> {
    if (!this.enabled || !ended.length) return false;
    const event = { event_timestamp: seconds(now), initiating_entity: INITIATED_BY[reason], reason_admin: { en: reason } };
    const rows: QueuedEvent[] = [];
    for (let i = 0; i < ended.length; i += BUILD_SLICE) {
      if (i > 0) await yieldToEventLoop();
      for (const e of ended.slice(i, i + BUILD_SLICE)) rows.push(...this.forEachReceiver(SESSION_REVOKED, reason, e.principal, handleOf(e.id), event, now));
    }
    await this.outbox.enqueueEvents(tx, rows, now);
    return true;
  }

  /**
   * `credential-change` (a password set through the users CLI): queued on its own, right after
   * the password was written; the server's delivery sends it even when the CLI has exited.
   */
  async credentialChanged(principal: string): Promise<void> {
    if (!this.enabled) return;
    const now = this.clock.now();
    const event = { event_timestamp: seconds(now), credential_type: 'password', change_type: 'update', initiating_entity: 'admin' };
    await this.sql.transaction((tx) => this.outbox.enqueueEvents(tx, this.forEachReceiver(CREDENTIAL_CHANGE, 'CREDENTIAL', principal, null, event, now), now));
    void this.delivery.kick();
  }

  /** One SET per receiver: the same event, each with its own jti and audience. */
  private forEachReceiver(type: string, reason: string, principal: string, handle: string | null, event: object, at: Date): QueuedEvent[] {
    const user = { format: 'iss_sub', iss: this.issuer, sub: principal };
    const subject = handle === null ? user : { format: 'complex', user, session: { format: 'opaque', id: handle } };
    return this.receivers.map((r) => {
      const id = `SET-${randomToken(32)}`;
      const claims = { iss: this.issuer, jti: id, iat: seconds(at), aud: r.url, sub_id: subject, events: { [type]: event } };
      return { id, handle: handle ?? '', principal, eventType: type, reason, receiverUrl: r.url, claims: JSON.stringify(claims) };
    });
  }
}


function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

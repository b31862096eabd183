import { Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ServiceRegistry } from '../../services/service-registry';
import { SessionTerminator } from '../../tickets/logout/session-terminator';
import { SessionHistory, type HistoryReason } from '../../tickets/session-history';
import { SessionListing, type SessionApplication, type SessionOrigin, type UserSession } from '../../tickets/session-listing';
import { TicketRegistry } from '../../tickets/ticket-registry';
import { TgcCodec } from '../tgc-codec';

/** A user with more live sessions than this sees the most recent ones and how many there are in all. */
const LISTED_SESSIONS = 100;
/** "Last sign-ins": how many of the user's ended sessions the page and the API show. */
const RECENT_SESSIONS = 10;
const HANDLE = /^[A-Za-z0-9_-]{22}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The browser's own session: who is asking, and with which TGT (never leaves the server). */
export interface CurrentSession {
  tgtId: string;
  principal: string;
}

/** An application as the user sees it: the registered service's name when there is one. */
export interface ApplicationView {
  name: string | null;
  service: string;
  lastAccessAt: Date;
}

/** A session as the user sees it: an opaque handle instead of its TGT id. */
export interface SessionView {
  handle: string;
  current: boolean;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  rememberMe: boolean;
  /** IP, User-Agent, device and location of the login; nulls where unknown. */
  origin: SessionOrigin;
  applications: ApplicationView[];
}

export interface SessionsView {
  principal: string;
  sessions: SessionView[];
  /** All the user's live sessions, listed or not. */
  total: number;
}

/** One of the user's ended sessions ("last sign-ins"): nothing that names it (it is over; its TGT id stays on the server). */
export interface PastSessionView {
  createdAt: Date;
  endedAt: Date;
  /** Why it ended, as the history says it (the page words it). */
  reason: HistoryReason;
  origin: SessionOrigin;
  applications: ApplicationView[];
}

/** What ending one session did: nothing (not one of the user's), another device's, or this browser's own. */
export type EndOutcome = { kind: 'unknown' } | { kind: 'other' } | { kind: 'current'; frontChannel: string[] };

/**
 * The user's own sessions (`/account/sessions` and its JSON twin): listed, ended one by one or
 * all but this browser's, each end through the logout pipeline (SessionTerminator, reason LOGOUT,
 * single logout sent).
 *
 * A TGT id is a bearer credential, so the user is shown a handle instead: an HMAC of the id under
 * a key derived from the TGC signing key (every node computes the same one, nothing is stored,
 * and the id cannot be recovered from it). A handle is only ever looked up among the asking
 * user's own sessions, so another user's handle, a guessed one or a TGT id finds nothing.
 *
 * The forms' CSRF token is another HMAC of the TGT id, under its own key: bound to this session
 * (a new login gets a new one, a logout kills it), the same on every node, and unknown to any
 * other site, which can neither read the page (same-origin policy, frame-ancestors 'none') nor
 * compute it.
 */
@Injectable()
export class AccountSessions {
  constructor(
    private readonly tgc: TgcCodec,
    private readonly tickets: TicketRegistry,
    private readonly listing: SessionListing,
    private readonly terminator: SessionTerminator,
    private readonly services: ServiceRegistry,
    private readonly history: SessionHistory,
  ) {}

  /** The live session behind the browser's (decoded) TGC, or null. */
  async current(tgtId: string | null): Promise<CurrentSession | null> {
    if (!tgtId) return null;
    const session = await this.tickets.findSession(tgtId);
    return session && { tgtId: session.id, principal: session.principal };
  }

  async list(me: CurrentSession): Promise<SessionsView> {
    const { sessions, total } = await this.listing.sessionsOf(me.principal, me.tgtId, LISTED_SESSIONS);
    return { principal: me.principal, total, sessions: sessions.map((s) => this.view(s, me)) };
  }

  /** The user's latest ended sessions, newest first ("last sign-ins", from the session history). */
  async recent(me: CurrentSession): Promise<PastSessionView[]> {
    return (await this.history.recentOf(me.principal, RECENT_SESSIONS)).map((s) => ({
      createdAt: s.createdAt,
      endedAt: s.endedAt,
      reason: s.reason,
      origin: s.origin,
      applications: s.applications.map((a) => this.application(a)),
    }));
  }

  /** The per-session token the forms and the API's DELETE carry. */
  csrfToken(me: CurrentSession): string {
    return mac(this.keys('cas-account-csrf')[0], me.tgtId);
  }

  /** Whether `token` is this session's (under any configured key, so a key rotation does not break open pages). */
  validCsrf(me: CurrentSession, token: unknown): boolean {
    if (typeof token !== 'string' || !TOKEN.test(token)) return false;
    return this.keys('cas-account-csrf').some((k) => timingSafeEqual(Buffer.from(mac(k, me.tgtId)), Buffer.from(token)));
  }

  /**
   * Ends the user's session with this handle through the logout pipeline. A handle that is none
   * of this user's sessions ends nothing. Ending this browser's own session is a logout: the
   * caller clears the TGC and shows the front-channel logouts.
   */
  async end(me: CurrentSession, handle: unknown): Promise<EndOutcome> {
    if (typeof handle !== 'string' || !HANDLE.test(handle)) return { kind: 'unknown' };
    const tgtId = (await this.tickets.sessionIdsOf(me.principal)).find((id) => this.handleMatches(id, handle));
    if (!tgtId) return { kind: 'unknown' };
    const ended = await this.terminator.end(tgtId, 'LOGOUT');
    if (!ended) return { kind: 'unknown' };
    return tgtId === me.tgtId ? { kind: 'current', frontChannel: ended.frontChannel } : { kind: 'other' };
  }

  /**
   * Ends every other session of the user, each through the logout pipeline; returns how many.
   * Their front-channel logouts are not made: they belong to the other browsers, as with an
   * administrator's DELETE.
   */
  async endOthers(me: CurrentSession): Promise<number> {
    let ended = 0;
    for (const id of await this.tickets.sessionIdsOf(me.principal)) {
      if (id !== me.tgtId && (await this.terminator.end(id, 'LOGOUT')) !== null) ended++;
    }
    return ended;
  }

  private view(s: UserSession, me: CurrentSession): SessionView {
    return {
      handle: this.handle(s.id),
      current: s.id === me.tgtId,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      expiresAt: s.expiresAt,
      rememberMe: s.rememberMe,
      origin: s.origin,
      applications: s.applications.map((a) => this.application(a)),
    };
  }

  /** The registered service's name for an application: by its id when it was recorded, else by its URL. */
  private application(a: SessionApplication): ApplicationView {
    const registered = (a.registeredServiceId !== null ? this.services.findById(a.registeredServiceId) : null) ?? this.services.match(a.service);
    return { name: registered?.name ?? null, service: a.service, lastAccessAt: a.lastAccessAt };
  }

  /** 128 bits of the HMAC: unguessable, short enough for a URL path. */
  private handle(tgtId: string, key = this.keys('cas-account-session-handle')[0]): string {
    return mac(key, tgtId).slice(0, 22);
  }

  private handleMatches(tgtId: string, handle: string): boolean {
    return this.keys('cas-account-session-handle').some((k) => timingSafeEqual(Buffer.from(this.handle(tgtId, k)), Buffer.from(handle)));
  }

  private keys(purpose: string): Uint8Array[] {
    return this.tgc.derivedKeys(purpose, 32);
  }
}

function mac(key: Uint8Array, tgtId: string): string {
  return createHmac('sha256', key).update(tgtId, 'utf8').digest('base64url');
}

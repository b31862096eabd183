import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { ServiceRegistry } from '../services/service-registry';
import { SessionFilter, SessionGroupBy, SessionSearch } from '../tickets/session-search';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { SingleLogoutOutbox } from '../tickets/logout/single-logout-outbox';
import { parseTicketId } from '../tickets/ticket-ids';
import { SessionKind, TicketRegistry } from '../tickets/ticket-registry';
import { hasFilters, RawSessionFilter, toSessionFilter } from './sso-session-filters';
import { mapLogoutRequest, mapSsoSession } from './sso-session.view';

export type SessionType = 'ALL' | 'DIRECT' | 'PROXIED';

/** How long a DELETE waits for its logout requests before answering their current status (T23: ≤ 2 s). */
const SLO_WAIT_MS = 1500;
/**
 * Below this many live sessions the totals are counted for every request; from it on they are
 * cached: the count grows with the sessions, from a few milliseconds to far more than a page
 * (docs/benchmarks.md). Decided by the count, not by timing one query: a single slow count on a
 * small table (a cold cache, a busy box) must not turn exact totals into a copy up to 5 s old.
 */
export const CACHED_TOTALS_FROM_SESSIONS = 5000;
const TOTALS_MAX_AGE_MS = 5000;

const KINDS: Record<SessionType, SessionKind> = { ALL: 'ALL', DIRECT: 'TGT', PROXIED: 'PGT' };

type Totals = Awaited<ReturnType<TicketRegistry['sessionTotals']>>;

@Injectable()
export class SsoSessionsService {
  constructor(
    private readonly tickets: TicketRegistry,
    private readonly terminator: SessionTerminator,
    private readonly outbox: SingleLogoutOutbox,
    private readonly clock: Clock,
    private readonly search: SessionSearch,
    private readonly services: ServiceRegistry,
  ) {}

  private totals?: { value: Totals; at: Date; cheap: boolean };
  private refreshing?: Promise<void>;

  /**
   * The CAS 6 totals count every live session, which over a large table costs far more than a
   * page (docs/benchmarks.md). Below
   * CACHED_TOTALS_FROM_SESSIONS they are computed per request; from it on, a copy at most 5 s old
   * is served and refreshed in the background, and `totalsAsOf` says how old it is.
   */
  private async currentTotals(): Promise<{ value: Totals; at: Date }> {
    const t = this.totals;
    if (!t || t.cheap) {
      await this.refreshTotals();
      return this.totals!;
    }
    if (this.clock.now().getTime() - t.at.getTime() > TOTALS_MAX_AGE_MS && !this.refreshing) {
      this.refreshing = this.refreshTotals().finally(() => (this.refreshing = undefined));
      this.refreshing.catch(() => undefined);
    }
    return t;
  }

  private async refreshTotals(): Promise<void> {
    const at = this.clock.now();
    const value = await this.tickets.sessionTotals();
    this.totals = { value, at, cheap: value.tgts + value.pgts < CACHED_TOTALS_FROM_SESSIONS };
  }

  async list(q: { type: SessionType; username?: string; filter?: RawSessionFilter; count: number; cursor?: string }) {
    // As CAS lists them: a PGT is a proxied session of its own; ALL lists both kinds. Unfiltered
    // (all, or one user's), the registry's listing; filtered, the same page through the search.
    const sessions =
      q.filter && hasFilters(q.filter)
        ? await this.search.page({ kind: KINDS[q.type], principal: q.username, ...toSessionFilter(q.filter, this.clock.now()) }, q.cursor, q.count)
        : await this.tickets.listSessions({ kind: KINDS[q.type], principal: q.username, after: q.cursor, limit: q.count });
    const { value: totals, at } = await this.currentTotals();
    const page = sessions.map((s) => mapSsoSession(s, q.type !== 'DIRECT'));
    return {
      activeSsoSessions: page,
      totalSsoSessions: totals.tgts,
      totalTicketGrantingTickets: totals.tgts,
      totalProxyGrantingTickets: totals.pgts,
      totalTickets: totals.tgts + totals.pgts,
      totalPrincipals: totals.principals,
      totalUsageCount: totals.uses,
      totalsAsOf: at.toISOString(),
      // Keyset paging: pass it back as `cursor` for the next page; absent on the last page.
      ...(sessions.length === q.count ? { next: sessions[sessions.length - 1].id } : {}),
    };
  }

  /**
   * Live SSO sessions matching the filter, counted per group, the `limit` largest first. Counted
   * for each request (never cached): a summary is asked for a reason, and its filter makes it
   * another question each time.
   */
  async summary(groupBy: SessionGroupBy, filter: RawSessionFilter, limit: number) {
    const at = this.clock.now();
    const s = await this.search.summary(toSessionFilter(filter, at), groupBy, limit);
    const name = (key: string) => this.services.findById(Number(key))?.name ?? null;
    return {
      groupBy,
      totalSsoSessions: s.sessions,
      totalGroups: s.groups,
      groups: s.top.map((g) => ({ key: g.key, ...(groupBy === 'user' ? { username: g.label } : {}), ...(groupBy === 'service' ? { name: name(g.key) } : {}), sessions: g.sessions })),
      asOf: at.toISOString(),
    };
  }

  /** Users with live sessions from more than one address (LemonLDAP::NG's doubleIp), most addresses first. */
  async multipleIps(filter: RawSessionFilter, limit: number) {
    const at = this.clock.now();
    const m = await this.search.multipleIps(toSessionFilter(filter, at), limit);
    return { totalUsers: m.users, users: m.top, asOf: at.toISOString() };
  }

  /** Ends one session through the logout pipeline; null when there is no such session. `endedBy`: the admin token id, for its history. */
  async destroy(tgtId: string, endedBy: string | null = null) {
    const type = parseTicketId(tgtId);
    if (type !== 'TGT' && type !== 'PGT') return null;
    const ended = await this.terminator.end(tgtId, 'ADMIN', SLO_WAIT_MS, endedBy);
    if (ended === null) return null;
    return { status: 200, ticketGrantingTicket: tgtId, singleLogoutRequests: ended.backChannel.map(mapLogoutRequest) };
  }

  /** Ends every session of a user: a map keyed by TGT id, as CAS answers. */
  async destroyAllOf(username: string, endedBy: string | null = null): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const deadline = Date.now() + SLO_WAIT_MS;
    for (const id of await this.tickets.sessionIdsOf(username)) {
      const ended = await this.terminator.end(id, 'ADMIN', Math.max(0, deadline - Date.now()), endedBy);
      if (ended !== null) out[id] = { status: 200, ticketGrantingTicket: id, singleLogoutRequests: ended.backChannel.map(mapLogoutRequest) };
    }
    return out;
  }

  /**
   * Ends every session of a type, page by page; answers how many ended. PROXIED ends the PGTs
   * (the users' sessions live on); ALL and DIRECT end the TGTs, and with them their PGTs.
   */
  async destroyAllOfType(type: SessionType, endedBy: string | null = null): Promise<{ status: number; ended: number }> {
    let ended = 0;
    for (;;) {
      const page = await this.tickets.listSessions({ kind: type === 'PROXIED' ? 'PGT' : 'TGT', limit: 500 });
      if (!page.length) break;
      for (const s of page) if ((await this.terminator.end(s.id, 'ADMIN', 0, endedBy)) !== null) ended++;
    }
    return { status: 200, ended };
  }

  /**
   * Ends every SSO session matching the filter, through the logout pipeline (reason ADMIN), walking
   * their ids in keyset pages; answers how many ended. A session that matches only once the walk
   * has passed its id (a new login) is left for the next request.
   */
  async destroyMatching(filter: SessionFilter, endedBy: string | null = null): Promise<number> {
    let ended = 0;
    let after: string | undefined;
    for (;;) {
      const ids = await this.search.sessionIds(filter, after, 500);
      if (!ids.length) return ended;
      for (const id of ids) if ((await this.terminator.end(id, 'ADMIN', 0, endedBy)) !== null) ended++;
      after = ids[ids.length - 1];
    }
  }

  async logoutRequestsOf(tgtId: string) {
    return (await this.outbox.forSession(tgtId)).map(mapLogoutRequest);
  }
}

import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { SessionLimitAction } from '../config/session-limits-config';
import { Sql } from '../database/sql';
import { SessionTerminator } from './logout/session-terminator';
import { SingleLogoutDelivery } from './logout/single-logout.delivery';
import { SessionEvents } from './session-events';
import { NewSession, Session, TicketRegistry } from './ticket-registry';

export interface SessionLimit {
  /** Live sessions the principal may hold once the new one exists (at least 1). */
  maximum: number;
  action: SessionLimitAction;
  /** The session this browser had, which the login replaces: never counted against the limit. */
  replacing: string | null;
}

export type LimitedSession =
  | { kind: 'created'; session: Session; /** Sessions ended to make room (END_OLDEST), oldest first. */ ended: string[] }
  | { kind: 'refused'; maximum: number; /** Live sessions the principal holds (not counting the one replaced). */ live: number };

/**
 * A new session under a session limit (CAS's unique principal policy, a maximum of sessions per
 * user). The count and the insert are one transaction that first takes the principal's advisory
 * lock (TicketRegistry.lockSessionsOf), so two logins of one user at the same moment, on any
 * nodes, take turns: the second counts the first's session, and the limit holds. Sessions ended
 * to make room go through the logout pipeline in that same transaction (reason LIMIT), so a crash
 * loses neither the new session's check nor their single logout. A login without a limit never
 * comes here and takes no lock.
 */
@Injectable()
export class SessionLimiter {
  constructor(
    private readonly sql: Sql,
    private readonly tickets: TicketRegistry,
    private readonly terminator: SessionTerminator,
    private readonly delivery: SingleLogoutDelivery,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
  ) {}

  async createSession(s: NewSession, limit: SessionLimit): Promise<LimitedSession> {
    const now = this.clock.now();
    const result = await this.sql.transaction(async (tx): Promise<LimitedSession & { backChannel?: boolean }> => {
      await this.tickets.lockSessionsOf(tx, s.principal);
      const live = await this.tickets.liveSessionIdsOf(tx, s.principal, limit.replacing);
      const excess = live.length + 1 - Math.max(1, limit.maximum);
      if (excess > 0 && limit.action === 'REFUSE') return { kind: 'refused', maximum: limit.maximum, live: live.length };
      const ended: string[] = [];
      let backChannel = false;
      for (const id of excess > 0 ? live.slice(0, excess) : []) {
        const requests = await this.terminator.endWithin(tx, id, 'LIMIT', now);
        if (!requests) continue;
        ended.push(id);
        backChannel ||= requests.some((r) => r.channel === 'BACK_CHANNEL');
      }
      return { kind: 'created', session: await this.events.createSession(s, tx), ended, backChannel };
    });
    // Back-channel logout requests of the sessions ended, or the events of the new one and of those.
    if (result.backChannel || (result.kind === 'created' && this.events.enabled)) void this.delivery.kick();
    if (result.kind === 'refused') return result;
    return { kind: 'created', session: result.session, ended: result.ended };
  }
}

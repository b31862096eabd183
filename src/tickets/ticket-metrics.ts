import { Injectable, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock';
import { CasMetrics } from '../metrics/cas-metrics';
import { BACKLOG_CAP, SingleLogoutOutbox } from './logout/single-logout-outbox';
import { TicketRegistry } from './ticket-registry';

/**
 * The gauges read from the ticket tables at each scrape, by their owner: live SSO sessions (the
 * trigger-kept counter, no table scan) and the single logout backlog (a capped count and a
 * minimum, both on a partial index). Two cheap statements per scrape, whatever the tables hold.
 */
@Injectable()
export class TicketMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: CasMetrics,
    private readonly tickets: TicketRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const sessions = this.metrics.gauge(
      'cas_sso_sessions',
      'SSO sessions (TGTs) in the ticket registry, all nodes: an expired session the cleaner has not ended yet still counts',
      [],
    );
    const backlog = this.metrics.gauge('cas_logout_outbox_pending', `Single logout requests and session events not delivered yet (pending or being sent), all nodes, counted up to ${BACKLOG_CAP}`, []);
    const oldest = this.metrics.gauge('cas_logout_outbox_oldest_pending_age_seconds', 'Age of the oldest single logout request or session event not delivered yet (0: none)', []);
    this.metrics.readAtScrape(async () => sessions.set(await this.tickets.sessionCount()));
    this.metrics.readAtScrape(async () => {
      const b = await this.outbox.backlog();
      backlog.set(b.pending);
      oldest.set(b.oldestCreatedAt ? Math.max(0, (this.clock.now().getTime() - b.oldestCreatedAt.getTime()) / 1000) : 0);
    });
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { CasMetrics } from '../../metrics/cas-metrics';
import { SessionHistory } from '../session-history';
import { TicketRegistry } from '../ticket-registry';
import { SessionTerminator } from './session-terminator';
import { SingleLogoutDelivery } from './single-logout.delivery';
import { SingleLogoutOutbox } from './single-logout-outbox';

/** Finished logout requests are kept this long for the admin API and DBAs, then deleted. */
const SLO_RETENTION_DAYS = 7;

/** How many of this node's last runs recentRuns() keeps (the console's overview shows them). */
const RECENT_RUNS = 5;

export interface CleanReport {
  total: number;
  removed: { sessions: number; serviceTickets: number; logoutRequests: number };
  startTime: string;
  endTime: string;
  duration: number;
}

/**
 * The registry cleaner (CAS `cas.ticket.registry.cleaner.schedule.*`), run on every node: after
 * the start delay, and then the repeat interval after each run ends (CAS's fixed delay), it ends
 * expired sessions through the logout pipeline and deletes expired STs/PTs, in bounded batches
 * claimed with SKIP LOCKED, until a batch comes back short. It never loads the table and logs one
 * line per run, never ticket ids. Its waits and durations come from the injected clock.
 */
@Injectable()
export class TicketRegistryCleaner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TicketRegistryCleaner');
  private running: Promise<CleanReport> | null = null;
  private schedule: Promise<void> | null = null;
  /** Aborted at shutdown: ends the schedule's wait or the pause under way. */
  private readonly stop = new AbortController();
  /** This node's last runs, newest first. */
  private readonly runs: CleanReport[] = [];

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly terminator: SessionTerminator,
    private readonly tickets: TicketRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly clock: Clock,
    private readonly history: SessionHistory,
    private readonly metrics: CasMetrics,
    private readonly delivery: SingleLogoutDelivery,
  ) {}

  onApplicationBootstrap(): void {
    const c = this.config.cleaner;
    if (!c.enabled) return;
    this.schedule = (async () => {
      await this.clock.sleep(c.startDelaySeconds * 1000, this.stop.signal);
      while (!this.stop.signal.aborted) {
        await this.clean();
        await this.clock.sleep(c.repeatIntervalSeconds * 1000, this.stop.signal);
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    // A run under way stops after its current batch (each batch is its own transaction).
    this.stop.abort();
    await Promise.all([this.schedule, this.running]);
  }

  /** This node's last runs (at most five), newest first: what the console's overview shows. */
  recentRuns(): CleanReport[] {
    return [...this.runs];
  }

  /** One run now (a run already under way on this node is joined, not doubled). */
  clean(): Promise<CleanReport> {
    // The logout backlog is chased again once the run ends (SingleLogoutDelivery.holdBacklog).
    this.running ??= this.delivery.holdBacklog(() => this.run()).finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Runs one batch, then, with a pause ratio r, waits r times as long as the batch took: the
   * cleaner then holds the database (and this node) at most 1/(1+r) of the time, whatever the
   * machine, and requests get the rest. Shutdown ends the pause.
   */
  private async paced<T>(batch: () => Promise<T>): Promise<T> {
    const t0 = this.clock.monotonicMs();
    const result = await batch();
    const pause = (this.clock.monotonicMs() - t0) * this.config.cleaner.pauseRatio;
    if (pause > 0 && !this.stop.signal.aborted) await this.clock.sleep(pause, this.stop.signal);
    return result;
  }

  private async run(): Promise<CleanReport> {
    const startTime = this.clock.now();
    const batch = this.config.cleaner.batchSize;
    let sessions = 0;
    let serviceTickets = 0;
    let logoutRequests = 0;
    let historyRows = 0;
    try {
      for (let n = batch; n === batch && !this.stop.signal.aborted; sessions += n) n = await this.paced(() => this.terminator.endExpired(batch));
      for (let n = batch; n === batch && !this.stop.signal.aborted; serviceTickets += n) n = await this.paced(() => this.tickets.deleteExpiredServiceTickets(this.clock.now(), batch));
      const retention = new Date(this.clock.now().getTime() - SLO_RETENTION_DAYS * 86_400_000);
      for (let n = batch; n === batch && !this.stop.signal.aborted; logoutRequests += n) n = await this.outbox.deleteFinished(retention, batch);
      // SESSION_HISTORY_RETENTION: bounded batches, SKIP LOCKED (every node runs this).
      for (let n = batch; n === batch && !this.stop.signal.aborted; historyRows += n) n = await this.history.purge(this.config.sessionHistory.retentionSeconds, batch);
    } catch (e) {
      this.logger.warn(`cleaning stopped early: ${(e as Error).message}`);
    }
    const endTime = this.clock.now();
    const duration = (endTime.getTime() - startTime.getTime()) / 1000;
    this.metrics.cleanerRun(sessions + serviceTickets, duration);
    // One line per run, counts only (never ticket ids), so an operator sees the cleaner is alive.
    this.logger.log(
      `${sessions} expired session(s), ${serviceTickets} expired service ticket(s) and ${logoutRequests} finished logout request(s) removed in ${duration.toFixed(3)} s` +
        (historyRows ? `; ${historyRows} session history row(s) past SESSION_HISTORY_RETENTION purged` : ''),
    );
    const report: CleanReport = {
      total: sessions + serviceTickets,
      removed: { sessions, serviceTickets, logoutRequests },
      startTime: startTime.toISOString(),
      endTime: endTime.toISOString(),
      duration,
    };
    this.runs.unshift(report);
    this.runs.length = Math.min(this.runs.length, RECENT_RUNS);
    return report;
  }
}

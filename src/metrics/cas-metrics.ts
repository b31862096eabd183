import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Clock } from '../common/clock';

/** One minute of this node's activity, for the console's overview chart. */
export interface MinuteCount {
  /** ISO 8601, the start of the minute (UTC). */
  minute: string;
  /** Successful password logins. */
  logins: number;
  /** Refused password logins (wrong credentials or an account state). */
  loginFailures: number;
  /** Ticket validations, successful or not. */
  validations: number;
}

/** A value read at scrape time by the module that owns the table (outbox backlog, live sessions). */
export type ScrapeReader = () => Promise<void>;

const MINUTES = 60;
const MINUTE_MS = 60_000;

/** How a login attempt ended: signed in, refused by a source, or no source could answer. */
export type LoginOutcome = 'success' | 'failure' | 'unavailable';
/** The kinds of tickets the server grants (CAS prefixes). */
export type TicketType = 'TGT' | 'ST' | 'PT' | 'PGT';
/** What became of one logout request or session event POST. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';
/** The HTTP answer's class, `2xx` … `5xx`. */
type StatusClass = `${1 | 2 | 3 | 4 | 5}xx`;

/** What the SQL helper times: an autocommit statement, a named prepared statement, a whole transaction. */
export type QueryKind = 'statement' | 'prepared' | 'transaction';

/** What pg.Pool counts (structurally, so this base module needs no driver). */
export interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** Which route a request matched; a request no route matched is counted under this fixed label. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The server's Prometheus metrics (`GET /cas/actuator/prometheus`): ONE registry per application
 * instance, not prom-client's global one, so two apps in one process (the tests) never share or
 * double-register a metric. Every label has a bounded set of values fixed by the code or by the
 * configuration (handler names, endpoints, CAS error codes); never a username, an IP, a service URL
 * or a ticket id. Modules record through the typed methods below; gauges that need a table are
 * read at scrape time by the table's owner (`readAtScrape`), so this module runs no SQL itself.
 *
 * Beside the registry, a ring of the last 60 minutes' logins, failures and validations of this
 * node, keyed by the injected clock's minute, for the console's overview.
 */
@Injectable()
export class CasMetrics {
  readonly registry = new Registry();
  private readonly readers: ScrapeReader[] = [];
  private readonly ring: (MinuteCount & { index: number })[] = [];

  private readonly logins = this.counter('cas_logins_total', 'Password login attempts by outcome and by the authentication handler that decided (none: no source knew the user)', ['outcome', 'handler']);
  private readonly passwordFailures = this.counter('cas_password_failures_total', 'Refused password logins by reason: invalid-credentials, or the account state the source gave (locked, password-expired, ...)', ['reason']);
  private readonly mfaFailures = this.counter('cas_mfa_failures_total', 'Refused or impossible multi-factor steps by provider and reason', ['provider', 'reason']);
  private readonly throttledAttempts = this.counter('cas_login_throttled_total', 'Login attempts refused by the failed-login throttle before any credential check', []);
  private readonly ticketsGranted = this.counter('cas_tickets_granted_total', 'Tickets granted by type (TGT, ST, PT, PGT)', ['type']);
  private readonly validations = this.counter('cas_validations_total', 'Ticket validations by endpoint and result: SUCCESS or the CAS error code', ['endpoint', 'code']);
  private readonly sessionsCreated = this.counter('cas_sso_sessions_created_total', 'SSO sessions (TGTs) created', []);
  private readonly sessionsEndedTotal = this.counter('cas_sso_sessions_ended_total', 'SSO sessions ended by reason (LOGOUT, ADMIN, EXPIRED, ...)', ['reason']);
  private readonly logoutDeliveries = this.counter('cas_logout_deliveries_total', 'Single logout requests and session events sent: delivered, retry (will be tried again) or failed (given up)', ['outcome']);
  private readonly cleanerRows = this.counter('cas_cleaner_rows_total', 'Expired tickets removed by the registry cleaner', []);
  private readonly cleanerDuration = new Histogram({
    name: 'cas_cleaner_run_duration_seconds',
    help: 'Duration of the registry cleaner runs',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  private readonly cleanerLastRun = this.gauge('cas_cleaner_last_run_timestamp_seconds', 'When the registry cleaner last finished a run on this node (Unix time; 0: not yet)', []);
  private readonly queryDuration = new Histogram({
    name: 'cas_db_query_duration_seconds',
    help: 'Duration of SQL statements and transactions run through the SQL helper, by kind (statement, prepared, transaction)',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'cas_http_request_duration_seconds',
    help: `HTTP requests by method, route pattern and status class; a request no route matched has route="${UNMATCHED_ROUTE}"`,
    labelNames: ['method', 'route', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  constructor(@Inject(Clock) private readonly clock: Clock) {
    collectDefaultMetrics({ register: this.registry });
  }

  loginSucceeded(handler: string): void {
    this.logins.inc({ outcome: 'success', handler });
    this.minute().logins++;
  }

  /** A refused login: `handler` is the source that refused, none when no source knew the user. */
  loginFailed(handler: string | undefined, reason: string): void {
    this.logins.inc({ outcome: 'failure', handler: handler ?? 'none' });
    this.passwordFailures.inc({ reason });
    this.minute().loginFailures++;
  }

  /** No source could decide and at least one was down. */
  loginUnavailable(): void {
    this.logins.inc({ outcome: 'unavailable', handler: 'none' });
  }

  mfaFailed(provider: string, reason: string): void {
    this.mfaFailures.inc({ provider, reason });
  }

  throttled(): void {
    this.throttledAttempts.inc();
  }

  ticketGranted(type: TicketType): void {
    this.ticketsGranted.inc({ type });
  }

  /** `code` is SUCCESS or the CAS error code; `endpoint` the protocol route (serviceValidate, p3/proxyValidate, ...). */
  validated(endpoint: string, code: string): void {
    this.validations.inc({ endpoint, code });
    this.minute().validations++;
  }

  sessionCreated(): void {
    this.sessionsCreated.inc();
    this.ticketGranted('TGT');
  }

  sessionsEnded(reason: string, n = 1): void {
    if (n > 0) this.sessionsEndedTotal.inc({ reason }, n);
  }

  logoutDelivered(outcome: DeliveryOutcome, n = 1): void {
    if (n > 0) this.logoutDeliveries.inc({ outcome }, n);
  }

  cleanerRun(rows: number, seconds: number): void {
    this.cleanerRows.inc(rows);
    this.cleanerDuration.observe(seconds);
    this.cleanerLastRun.set(this.clock.now().getTime() / 1000);
  }

  /** Starts timing one statement or transaction of the SQL helper; call the result when it ends. */
  queryTimer(kind: QueryKind): () => void {
    return this.queryDuration.startTimer({ kind });
  }

  /** The request pool's connections, read at scrape time (pg.Pool's counters: no query). */
  watchPool(pool: PoolCounts): void {
    const connections = this.gauge('cas_db_pool_connections', 'Connections of the request pool to Postgres on this node, by state (idle or in_use)', ['state']);
    const waiting = this.gauge('cas_db_pool_waiting_requests', 'Queries of this node waiting for a free pool connection', []);
    this.readAtScrape(async () => {
      connections.set({ state: 'idle' }, pool.idleCount);
      connections.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      waiting.set(pool.waitingCount);
    });
  }

  /** One HTTP answer: `route` is the matched route pattern (never the URL), or UNMATCHED_ROUTE. */
  httpAnswered(method: string, route: string, status: number, seconds: number): void {
    const statusClass = `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as StatusClass;
    this.httpDuration.observe({ method, route, status_class: statusClass }, seconds);
  }

  /** A gauge of this registry, for the owner of what it measures to set at scrape time (readAtScrape). */
  gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** `read` runs before every scrape; a reader that fails leaves its gauges at their last value. */
  readAtScrape(read: ScrapeReader): void {
    this.readers.push(read);
  }

  /** The Prometheus text format of every metric, after the scrape-time readers have run. */
  async scrape(): Promise<string> {
    await Promise.all(this.readers.map((read) => read().catch(() => undefined)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This node's logins, failures and validations per minute over the last 60 minutes, oldest first, missing minutes as zeros. */
  minuteCounts(): MinuteCount[] {
    const current = this.minuteIndex();
    const counts: MinuteCount[] = [];
    for (let index = current - MINUTES + 1; index <= current; index++) {
      const slot = this.ring[index % MINUTES];
      counts.push(
        slot?.index === index
          ? { minute: slot.minute, logins: slot.logins, loginFailures: slot.loginFailures, validations: slot.validations }
          : { minute: new Date(index * MINUTE_MS).toISOString(), logins: 0, loginFailures: 0, validations: 0 },
      );
    }
    return counts;
  }

  private minuteIndex(): number {
    return Math.floor(this.clock.now().getTime() / MINUTE_MS);
  }

  /** The current minute's slot of the ring, emptied when it last held a minute an hour or more ago. */
  private minute(): MinuteCount {
    const index = this.minuteIndex();
    let slot = this.ring[index % MINUTES];
    if (slot?.index !== index) {
      slot = { index, minute: new Date(index * MINUTE_MS).toISOString(), logins: 0, loginFailures: 0, validations: 0 };
      this.ring[index % MINUTES] = slot;
    }
    return slot;
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

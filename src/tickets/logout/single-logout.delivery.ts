import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import { setImmediate as afterThisTurn } from 'node:timers/promises';
import { Interval } from '@nestjs/schedule';
import { Clock } from '../../common/clock';
import { isAdminApiUrl, OUTBOUND_HEADERS } from '../../common/outbound-requests';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { CasMetrics } from '../../metrics/cas-metrics';
import { SessionEventKeys } from '../session-event-keys';
import { AttemptOutcome, ClaimedRequest, SingleLogoutOutbox } from './single-logout-outbox';

const TIMEOUT_MS = 5000;
const MAX_ATTEMPTS = 5;
const BATCH = 20;
const MAX_INFLIGHT = 100;
/** CAS counts these answers as a delivered logout request. */
const ACCEPTED = new Set([200, 202, 204, 301, 302, 304]);
/** RFC 8935 §2.2: a receiver acknowledges a SET with 202 (200 is taken too); 400 is a SET it will never accept. */
const SET_ACCEPTED = new Set([200, 202]);

/**
 * Delivers the outbox on every node: each pass claims due requests (rows no other node holds) and
 * POSTs each `logoutRequest=<xml>` form-encoded with a 5 s timeout, independently, so a slow
 * service delays no other request; outcomes are recorded and failures retried with backoff (5 s,
 * 10 s, 20 s, 40 s) up to 5 attempts. Passes run every second and right after a session ends.
 * Session events (kind SET, tickets/session-events.ts) take the same path, signed and POSTed as
 * `application/secevent+jwt` (RFC 8935 push delivery).
 */
@Injectable()
export class SingleLogoutDelivery implements OnApplicationShutdown {
  private readonly logger = new Logger('SingleLogout');
  /** Deliveries under way on this node; a slow service holds only its own slot. */
  private readonly inflight = new Set<Promise<void>>();
  private claiming: Promise<void> | null = null;
  /** Outcomes waiting to be recorded, and the one writer recording them. */
  private outcomes: { outcome: AttemptOutcome; recorded: () => void; failed: (e: Error) => void }[] = [];
  private recording: Promise<void> | null = null;
  /** Connections to services are kept open between requests, at most MAX_INFLIGHT per service. */
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_INFLIGHT });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: MAX_INFLIGHT });
  private again = false;
  /** The last claim came back full: more requests are due than this node has room for. */
  private backlog = false;
  /**
   * This node's cleaner is running (holdBacklog): a backlog is not chased (no claim as soon as
   * slots free up, no pass looping on full claims), only the passes kicked (each second, after a
   * logout, after each cleaner batch) claim, one claim each.
   */
  private held = 0;
  private stopped = false;

  constructor(
    private readonly outbox: SingleLogoutOutbox,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly eventKeys: SessionEventKeys,
    private readonly clock: Clock,
    private readonly metrics: CasMetrics,
  ) {}

  /**
   * "Retry now" for one logout request of a session (SingleLogoutOutbox.makeDue), then a pass that
   * sends it; waits at most `waitMs` (the injected clock's) for that pass. Returns false, sending
   * nothing, when the request is not waiting or given up (unknown, being sent, delivered).
   */
  async retryNow(sessionId: string, requestId: string, waitMs: number): Promise<boolean> {
    if (!(await this.outbox.makeDue(sessionId, requestId))) return false;
    const finished = new AbortController();
    void this.kick().finally(() => finished.abort());
    await this.clock.sleep(waitMs, finished.signal);
    return true;
  }

  /**
   * While `during` runs (the cleaner's run), a backlog is delivered at the passes' pace only:
   * during a mass expiry, chasing it took 45 % of Postgres's statement time (each delivery's claim
   * and outcome record) from the requests and the cleaner sharing the database, and its outcome
   * records rewrote the history rows the cleaner was writing. Nothing waits longer than the run:
   * the outbox keeps every request, and the backlog is chased again, at once, when it ends.
   */
  async holdBacklog<T>(during: () => Promise<T>): Promise<T> {
    this.held++;
    try {
      return await during();
    } finally {
      this.held--;
      if (!this.held) void this.kick();
    }
  }

  @Interval(1000)
  poll(): void {
    void this.kick();
  }

  /**
   * Claims due requests now (or right after the claim under way) and starts delivering them;
   * resolves when the deliveries it started are done.
   */
  kick(): Promise<void> {
    // With single logout off, the outbox still carries session events when receivers are configured.
    const onlyEvents = this.config.slo.disabled;
    if (this.stopped || (onlyEvents && !this.config.sessionEvents.receivers.length)) return Promise.resolve();
    if (this.claiming) {
      this.again = true;
      return this.claiming;
    }
    this.claiming = (async () => {
      const started: Promise<void>[] = [];
      // A turn first: with no room the loop below ends without awaiting, and its `finally` would
      // clear `claiming` before this very assignment set it, leaving it set for good: every later
      // kick then joined a pass that had ended, and this node delivered nothing more (a mass
      // expiry's backlog stalled at 100 in flight).
      await Promise.resolve();
      try {
        do {
          this.again = false;
          const room = MAX_INFLIGHT - this.inflight.size;
          if (room <= 0) break;
          const claimed = await this.outbox.claimDue(Math.min(BATCH, room), onlyEvents);
          for (const r of claimed) started.push(this.track(this.deliver(r)));
          // A full claim: more are due (a mass expiry's backlog), claimed again as deliveries end.
          this.backlog = claimed.length === Math.min(BATCH, room);
          if (this.backlog && !this.held) this.again = true;
        } while (this.again && !this.stopped);
      } catch (e) {
        this.logger.warn(`claiming logout requests failed: ${(e as Error).message}`);
      } finally {
        this.claiming = null;
      }
      await Promise.all(started);
    })();
    return this.claiming;
  }

  /**
   * Sends requests this node already holds a claim on (a login's session events, queued claimed
   * by its statement, committed): as a claimed row, without a claim statement. Stopping, it sends
   * nothing: the claim expires and any node's pass sends them. Resolves when they are recorded.
   */
  deliverClaimed(claimed: readonly ClaimedRequest[]): Promise<void> {
    if (this.stopped || !claimed.length) return Promise.resolve();
    return Promise.all(claimed.map((r) => this.track(this.deliver(r)))).then(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.claiming, ...this.inflight]);
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * A delivery ends: with a backlog (the last claim came back full), the slots freed are filled as
   * soon as a claim's worth (BATCH) is free, so a mass expiry's requests go at up to MAX_INFLIGHT
   * at a time instead of one claim per second's poll (200,000 requests took hours that way).
   */
  private track(p: Promise<void>): Promise<void> {
    this.inflight.add(p);
    return p.finally(() => {
      this.inflight.delete(p);
      if (this.backlog && !this.held && !this.stopped && MAX_INFLIGHT - this.inflight.size >= BATCH) void this.kick();
    });
  }

  private async deliver(r: ClaimedRequest): Promise<void> {
    const { permanent, ...outcome } = r.kind === 'SET' ? await this.postEvent(r) : await this.post(r.logoutUrl, logoutForm(r.message), FORM);
    // A URL that can never be sent to (unparseable, not http(s), this server's admin API) is not retried.
    const finalAttempt = permanent === true || r.attempts >= MAX_ATTEMPTS;
    this.metrics.logoutDelivered(outcome.ok ? 'delivered' : finalAttempt ? 'failed' : 'retry');
    try {
      await this.record({ id: r.id, attempt: r.attempts, ...outcome, finalAttempt, retryInSeconds: 5 * 2 ** (r.attempts - 1) });
    } catch (e) {
      // The claim expires and another pass retries it: at least once, never lost.
      this.logger.warn(`recording logout request ${r.id} failed: ${(e as Error).message}`);
    }
    if (!outcome.ok && finalAttempt) {
      this.logger.warn(`${r.kind === 'SET' ? 'session event' : 'logout request'} ${r.id} to ${originOf(r.logoutUrl)} failed ${r.attempts} times; giving up`);
    }
  }

  /**
   * A session event: its stored claims signed now with the server's key (SessionEventKeys: JWS
   * ES256, `typ` secevent+jwt, `kid`), so a rotated key applies to events still queued; ECDSA
   * signatures differ per attempt, the claims and `jti` do not. The receiver's secret from
   * SESSION_EVENTS_WEBHOOKS today goes as `Authorization: Bearer` (RFC 8935 §2 leaves the push's
   * authorization to the parties): it tells the receiver the push comes from its configured
   * sender, and is never stored or logged. A receiver no longer configured is not sent to.
   */
  private async postEvent(r: ClaimedRequest): Promise<Outcome> {
    const receiver = this.config.sessionEvents.receivers.find((x) => x.url === r.logoutUrl);
    if (!receiver) return { ok: false, error: 'receiver no longer in SESSION_EVENTS_WEBHOOKS', permanent: true };
    const token = await this.eventKeys.sign(r.message);
    if (token === null) return { ok: false, error: 'no session event signing key (SESSION_EVENTS_SIGNING_KEY)' };
    const outcome = await this.post(r.logoutUrl, token, { ...SECEVENT, authorization: `Bearer ${receiver.secret}` }, SET_ACCEPTED);
    // RFC 8935 §2.3: 400 is the receiver's verdict on the SET itself; sending it again changes nothing.
    return outcome.httpStatus === 400 ? { ...outcome, permanent: true } : outcome;
  }

  /**
   * Resolves once the outcome is written. Outcomes arriving while a write is under way go in the
   * next one: when 200,000 expired sessions are being logged out, one UPDATE per hundred
   * deliveries instead of one each, and the request path keeps its pool connections.
   */
  private record(outcome: AttemptOutcome): Promise<void> {
    return new Promise((recorded, failed) => {
      this.outcomes.push({ outcome, recorded, failed });
      this.recording ??= this.writeOutcomes();
    });
  }

  private async writeOutcomes(): Promise<void> {
    // Started from idle: the outcomes of the deliveries whose answers came in the same turn of
    // the event loop go in the same statement (and those ending while it runs, in the next one).
    // Not a timed window: waits come from the injected clock (common/clock.ts), and a timer here
    // would hold every frozen-clock test's delivery.
    await afterThisTurn();
    while (this.outcomes.length) {
      const batch = this.outcomes.splice(0, MAX_INFLIGHT);
      try {
        await this.outbox.record(batch.map((b) => b.outcome));
        batch.forEach((b) => b.recorded());
      } catch (e) {
        batch.forEach((b) => b.failed(e as Error));
      }
    }
    this.recording = null;
  }

  /**
   * POSTs with node:http(s) on keep-alive agents rather than fetch(): a fraction of fetch()'s CPU
   * per request, and that CPU, times a mass expiry's logout requests, is taken from the requests
   * the node serves meanwhile (docs/benchmarks.md). One 5 s deadline covers connecting, sending
   * and the answer; redirects are not followed; https verifies the service's certificate against
   * Node's store (and NODE_EXTRA_CA_CERTS).
   */
  private post(url: string, body: string, headers: Record<string, string>, accepted = ACCEPTED): Promise<Outcome> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return resolve({ ok: false, error: 'invalid URL', permanent: true });
      }
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
      if (!client) return resolve({ ok: false, error: `unsupported protocol ${target.protocol}`, permanent: true });
      // A logout URL under this server's admin API is never called (see outbound-requests.ts).
      if (isAdminApiUrl(target, this.config.server.contextPath)) return resolve({ ok: false, error: "refused: the URL is under this server's admin API", permanent: true });
      // Settles once, whatever comes first: the answer's end, an error, the deadline, a close.
      let settled = false;
      const done = (outcome: { ok: boolean; httpStatus?: number; error?: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        req.destroy();
        resolve(outcome);
      };
      const req = client.request(target, {
        method: 'POST',
        agent: client === https ? this.httpsAgent : this.httpAgent,
        headers: { ...OUTBOUND_HEADERS, ...headers, 'content-length': Buffer.byteLength(body) },
      });
      const deadline = setTimeout(() => done({ ok: false, error: 'timeout after 5 s' }), TIMEOUT_MS);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const outcome = accepted.has(status) ? { ok: true, httpStatus: status } : { ok: false, httpStatus: status, error: `HTTP ${status}` };
        res.on('end', () => {
          if (settled) return;
          // Answered in full: the connection goes back to the agent instead of being destroyed.
          settled = true;
          clearTimeout(deadline);
          resolve(outcome);
        });
        res.on('error', () => done(outcome));
        res.on('aborted', () => done(outcome));
        res.resume();
      });
      req.on('error', (e: Error & { code?: string }) => done({ ok: false, error: e.code ?? e.message }));
      req.on('close', () => done({ ok: false, error: 'connection closed before an answer' }));
      req.end(body);
    });
  }
}

type Outcome = { ok: boolean; httpStatus?: number; error?: string; permanent?: boolean };

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** RFC 8935 §2: a SET is POSTed as is; the answer, if any body, is JSON. */
const SECEVENT = { 'content-type': 'application/secevent+jwt', accept: 'application/json' };

function logoutForm(message: string): string {
  return new URLSearchParams({ logoutRequest: message }).toString();
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

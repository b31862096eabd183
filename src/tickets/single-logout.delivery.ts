import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { SingleLogoutOutbox } from './single-logout-outbox';

const TIMEOUT_MS = 5000;
const MAX_ATTEMPTS = 5;
const BATCH = 20;
/** CAS counts these answers as a delivered logout request. */
const ACCEPTED = new Set([200, 202, 204, 301, 302, 304]);

/**
 * Delivers the outbox on every node: each pass claims due requests (rows no other node holds),
 * POSTs `logoutRequest=<xml>` form-encoded with a 5 s timeout, all in parallel so a slow service
 * delays no other, and records the outcome; failures are retried with backoff (5 s, 10 s, 20 s,
 * 40 s) up to 5 attempts. Passes run every second and right after a session ends.
 */
@Injectable()
export class SingleLogoutDelivery implements OnApplicationShutdown {
  private readonly logger = new Logger('SingleLogout');
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly outbox: SingleLogoutOutbox,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  @Interval(1000)
  poll(): void {
    void this.kick();
  }

  /** Starts a pass now (or right after the running one); resolves when the passes are done. */
  kick(): Promise<void> {
    if (this.stopped || this.config.slo.disabled) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.stopped);
      } catch (e) {
        this.logger.warn(`delivery pass failed: ${(e as Error).message}`);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  onApplicationShutdown(): Promise<void> | void {
    this.stopped = true;
    return this.running ?? undefined;
  }

  private async pass(): Promise<void> {
    const claimed = await this.outbox.claimDue(BATCH);
    await Promise.all(
      claimed.map(async (r) => {
        const outcome = await this.post(r.logoutUrl, r.message);
        const finalAttempt = r.attempts >= MAX_ATTEMPTS;
        await this.outbox.record(r.id, { ...outcome, finalAttempt, retryInSeconds: 5 * 2 ** (r.attempts - 1) });
        if (!outcome.ok && finalAttempt) this.logger.warn(`logout request ${r.id} to ${originOf(r.logoutUrl)} failed ${r.attempts} times; giving up`);
      }),
    );
  }

  private async post(url: string, message: string): Promise<{ ok: boolean; httpStatus?: number; error?: string }> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logoutRequest: message }).toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      return ACCEPTED.has(res.status) ? { ok: true, httpStatus: res.status } : { ok: false, httpStatus: res.status, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, error: err.name === 'TimeoutError' ? 'timeout after 5 s' : (err.cause?.code ?? err.message) };
    }
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

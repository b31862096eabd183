import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { usernameDigest, usernameKey } from '../common/username';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { Sql } from '../database/sql';
import { CasMetrics } from '../metrics/cas-metrics';

export interface AttemptKeys {
  ip: string;
  username: string;
  /** Id from a valid device cookie for this username, if the browser has one. */
  deviceId?: string;
}

/** A reserved attempt: refund it when the password turns out right. */
export interface Reservation {
  keys: string[];
  windowStart: Date;
}

/**
 * Failed-login throttling shared by all nodes through Postgres (owner of `login_throttle`).
 *
 * Every password check first reserves a slot in its counters with one conditional upsert per
 * key, so concurrent attempts cannot overshoot a limit; a success gives the slots back. An account
 * is counted per browser class: browsers that logged in to it before (device cookie) have their
 * own counter, so an attacker exhausting the account's counter cannot lock the real user out.
 * Windows are fixed, so in any sliding window at most twice a threshold get through.
 *
 * Keys: `ip:<address>`, `account:<canonical username>` (common/username.ts: every spelling of
 * one account counts on one counter) and `device:<account digest>:<device id>`, so that an
 * administrator clearing an account's lockout clears its browsers' counters too.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly metrics: CasMetrics,
  ) {}

  get enabled(): boolean {
    return this.config.throttle.enabled;
  }

  /** Reserves one attempt for the IP and for the account (or device); null when a limit is reached. */
  async reserve(k: AttemptKeys): Promise<Reservation | null> {
    const t = this.config.throttle;
    const windowMs = t.rangeSeconds * 1000;
    const windowStart = new Date(Math.floor(this.clock.now().getTime() / windowMs) * windowMs);
    const limits: [string, number][] = [
      [`ip:${k.ip}`, t.ipThreshold],
      k.deviceId ? [deviceKey(k.username, k.deviceId), t.deviceThreshold] : [accountKey(k.username), t.accountThreshold],
    ];
    const taken: string[] = [];
    for (const [key, limit] of limits) {
      const reserved = await this.sql.one(
        `INSERT INTO login_throttle (key, window_start, failures) VALUES ($1, $2, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET failures = login_throttle.failures + 1
          WHERE login_throttle.failures < $3
         RETURNING failures`,
        [key, windowStart, limit],
      );
      if (!reserved) {
        await this.refund({ keys: taken, windowStart });
        this.metrics.throttled();
        return null;
      }
      taken.push(key);
    }
    return { keys: taken, windowStart };
  }

  /** Gives reserved slots back (the password was right). */
  async refund(r: Reservation): Promise<void> {
    if (!r.keys.length) return;
    await this.sql.affected(
      `UPDATE login_throttle SET failures = failures - 1 WHERE key = ANY($1::varchar[]) AND window_start = $2 AND failures > 0`,
      [r.keys, r.windowStart],
    );
  }

  retryAfterSeconds(): number {
    const windowMs = this.config.throttle.rangeSeconds * 1000;
    return Math.ceil((windowMs - (this.clock.now().getTime() % windowMs)) / 1000);
  }

  /**
   * An administrator's way out of a lockout: deletes the counters of the account and of the
   * browsers that logged in to it. Every window's: the current one is what matters, and with no
   * clock involved, a node whose clock is a little off still clears it. The IP counters are left
   * alone: they are not this account's. Returns the counters deleted.
   */
  async clearAccount(username: string): Promise<number> {
    // starts_with() reads every counter: fine for an administrator's action.
    return this.sql.affected(
      `DELETE FROM login_throttle WHERE key = $1 OR starts_with(key, $2)`,
      [accountKey(username), deviceKey(username, '')],
    );
  }

  /** Deletes up to `limit` counters of windows that have ended; returns how many. */
  async deletePastWindows(limit: number): Promise<number> {
    const windowMs = this.config.throttle.rangeSeconds * 1000;
    const currentStart = new Date(Math.floor(this.clock.now().getTime() / windowMs) * windowMs);
    return this.sql.affected(
      `DELETE FROM login_throttle WHERE (key, window_start) IN (
         SELECT key, window_start FROM login_throttle WHERE window_start < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [currentStart, limit],
    );
  }
}

const accountKey = (username: string) => `account:${usernameKey(username)}`;
/** The digest holds no `:`, so an account's device keys share a prefix no other account's do. */
const deviceKey = (username: string, deviceId: string) => `device:${usernameDigest(username)}:${deviceId}`;

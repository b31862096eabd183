import { Inject, Injectable } from '@nestjs/common';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Clock } from '../common/clock';
import { usernameDigest, usernameKey } from '../common/username';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { Sql } from '../database/sql';
import { CasMetrics } from '../metrics/cas-metrics';
import { type FlowUse, USE_FLOW_SQL } from './login-flows';

export interface AttemptKeys {
  ip: string;
  username: string;
  /** Id from a valid device cookie for this username, if the browser has one. */
  deviceId?: string;
}

/**
 * A counter at its limit in the current window: what is refused now. `subject` is the address, the
 * canonical username, or `<account digest>:<device id>` (a browser's counter names no account in clear).
 */
export interface ThrottledCounter {
  kind: 'ip' | 'account' | 'device';
  subject: string;
  failures: number;
  limit: number;
  /** When the window ends and the counter no longer refuses. */
  until: Date;
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
    const windowStart = this.currentWindowStart();
    const limits = this.limitsFor(k);
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

  /**
   * A login form's token used up (LoginFlows.USE_FLOW_SQL) and, only if that use was new, one
   * attempt reserved for the IP and for the account (or device), in one statement: one round trip
   * and one commit where the use and the two counters took three. `used` false: a replayed token,
   * nothing reserved. `reservation` null: a limit is reached (any slot taken is given back, as
   * reserve does). The counters are upserted in the order reserve takes them, the IP's first, so
   * two attempts sharing a counter lock them in the same order; each row stops at its own limit.
   */
  async reserveOnUse(k: AttemptKeys, use: FlowUse): Promise<{ used: boolean; reservation: Reservation | null }> {
    const windowStart = this.currentWindowStart();
    const limits = this.limitsFor(k);
    const [row] = await this.sql.prepared<{ used: boolean; reserved: string[] }>('cas_reserve_on_flow_use', RESERVE_ON_FLOW_USE_SQL, [
      use.id, use.expiresAt, windowStart, limits.map(([key]) => key), limits.map(([, limit]) => limit),
    ]);
    if (!row?.used) return { used: false, reservation: null };
    if (row.reserved.length < limits.length) {
      await this.refund({ keys: row.reserved, windowStart });
      this.metrics.throttled();
      return { used: true, reservation: null };
    }
    return { used: true, reservation: { keys: limits.map(([key]) => key), windowStart } };
  }

  /** The counters an attempt takes, with their limits: the IP's, then the account's or the device's. */
  private limitsFor(k: AttemptKeys): [string, number][] {
    const t = this.config.throttle;
    return [
      [`ip:${k.ip}`, t.ipThreshold],
      k.deviceId ? [deviceKey(k.username, k.deviceId), t.deviceThreshold] : [accountKey(k.username), t.accountThreshold],
    ];
  }

  /**
   * Gives reserved slots back (the password was right); resolves once they are. Refunds are
   * gathered: when logins succeed close together (a refund written less than REFUND_BUSY_MS ago)
   * the first waits REFUND_GATHER_MS for others, and those arriving while a refund is being
   * written go in the next one, so under load one statement and one commit give back the
   * slots of several logins, where each login's refund was a round trip and a commit of its own.
   * Until it is written a slot stays taken: the counters can only be higher meanwhile, never
   * lower, so no attempt gets through that would not have (a node stopping before the write
   * leaves them taken, as a node stopping between a reservation and its refund always did).
   */
  refund(r: Reservation): Promise<void> {
    if (!r.keys.length) return Promise.resolve();
    return new Promise((done, failed) => {
      this.refunds.push({ r, done, failed });
      this.refunding ??= this.writeRefunds();
    });
  }

  private readonly refunds: { r: Reservation; done: () => void; failed: (e: Error) => void }[] = [];
  private refunding: Promise<void> | null = null;
  private lastRefundAt = -Infinity;

  private async writeRefunds(): Promise<void> {
    // Logins succeeding close together: gather; a lone one (the last refund a while ago) waits for nothing but this turn of the event loop.
    const busy = performance.now() - this.lastRefundAt < REFUND_BUSY_MS;
    await (busy ? new Promise((r) => setTimeout(r, REFUND_GATHER_MS).unref()) : yieldToEventLoop());
    this.lastRefundAt = performance.now();
    while (this.refunds.length) {
      const batch = this.refunds.splice(0, MAX_REFUNDS);
      const keys = batch.flatMap((b) => b.r.keys);
      const windows = batch.flatMap((b) => b.r.keys.map(() => b.r.windowStart));
      try {
        // Prepared: every successful login's slots go back through it.
        await this.sql.prepared('cas_throttle_refund_batch', REFUND_SQL, [keys, windows]);
        batch.forEach((b) => b.done());
      } catch (e) {
        batch.forEach((b) => b.failed(e as Error));
      }
    }
    this.refunding = null;
  }

  private currentWindowStart(): Date {
    const windowMs = this.config.throttle.rangeSeconds * 1000;
    return new Date(Math.floor(this.clock.now().getTime() / windowMs) * windowMs);
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

  /**
   * The counters refusing attempts now (current window, at their kind's limit), in key order,
   * those after the key `after`: a keyset page. The current window's rows are the ones the
   * housekeeping leaves (it deletes ended windows), read through ix_login_throttle_window.
   */
  async throttled(after: string | undefined, limit: number): Promise<{ counters: ThrottledCounter[]; next?: string }> {
    const t = this.config.throttle;
    const windowStart = this.currentWindowStart();
    const rows = await this.sql.rows<{ key: string; failures: number }>(
      `SELECT key, failures FROM login_throttle
        WHERE window_start = $1 AND key > $2
          AND failures >= CASE WHEN starts_with(key, 'ip:') THEN $3::int WHEN starts_with(key, 'device:') THEN $4::int ELSE $5::int END
        ORDER BY key LIMIT $6`,
      // One more row than shown: `next` only when there is a next page.
      [windowStart, after ?? '', t.ipThreshold, t.deviceThreshold, t.accountThreshold, limit + 1],
    );
    const shown = rows.slice(0, limit);
    const until = new Date(windowStart.getTime() + t.rangeSeconds * 1000);
    const counters = shown.map(({ key, failures }): ThrottledCounter => {
      const colon = key.indexOf(':');
      const kind = key.slice(0, colon) as ThrottledCounter['kind'];
      const max = kind === 'ip' ? t.ipThreshold : kind === 'device' ? t.deviceThreshold : t.accountThreshold;
      return { kind, subject: key.slice(colon + 1), failures, limit: max, until };
    });
    return { counters, ...(rows.length > limit ? { next: shown[shown.length - 1].key } : {}) };
  }

  /**
   * Clears one counter listed by `throttled`, every window's: an account with its browsers
   * (clearAccount), an address, or one browser of an account. Returns the counters deleted.
   */
  async clear(kind: ThrottledCounter['kind'], subject: string): Promise<number> {
    if (kind === 'account') return this.clearAccount(subject);
    return this.sql.affected(`DELETE FROM login_throttle WHERE key = $1`, [`${kind}:${subject}`]);
  }

  /** Deletes up to `limit` counters of windows that have ended; returns how many. */
  async deletePastWindows(limit: number): Promise<number> {
    const currentStart = this.currentWindowStart();
    return this.sql.affected(
      `DELETE FROM login_throttle WHERE (key, window_start) IN (
         SELECT key, window_start FROM login_throttle WHERE window_start < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [currentStart, limit],
    );
  }
}

/**
 * reserveOnUse's statement (prepared: every login runs it): $1 $2 the token's use, $3 the window,
 * $4 the counters' keys in the order they are taken, $5 their limits.
 */
const RESERVE_ON_FLOW_USE_SQL = `WITH used AS (${USE_FLOW_SQL}
       ), reserved AS (
         INSERT INTO login_throttle AS t (key, window_start, failures)
         SELECT k.key, $3, 1 FROM unnest($4::varchar[]) WITH ORDINALITY AS k(key, n)
          WHERE EXISTS (SELECT 1 FROM used)
          ORDER BY k.n
         ON CONFLICT (key, window_start) DO UPDATE SET failures = t.failures + 1
          WHERE t.failures < ($5::int[])[array_position($4::varchar[], t.key)]
         RETURNING t.key
       )
       SELECT EXISTS (SELECT 1 FROM used) AS used, ARRAY(SELECT key FROM reserved)::text[] AS reserved`;

/** How long the first refund waits for others to share its statement (a login's 302 waits as long), when logins succeed close together. */
const REFUND_GATHER_MS = 10;
/** Logins succeed close together when a refund was written less than this long ago. */
const REFUND_BUSY_MS = 100;
/** Reservations per refund statement. */
const MAX_REFUNDS = 500;

/**
 * The refunds of several logins: $1 the keys, $2 each key's window (a key twice when two logins
 * shared a counter, given back twice). The counters are locked in the order every reservation
 * takes them (reserveOnUse: the address's, then the account's or the device's; here all the
 * addresses' in key order, then the rest in key order), by a FOR UPDATE above its sort, so a
 * refund and reservations waiting for each other's rows cannot deadlock; only rows it has locked
 * are updated. A counter the housekeeping deleted meanwhile (an ended window) is skipped.
 */
const REFUND_SQL = `UPDATE login_throttle t SET failures = GREATEST(t.failures - l.n, 0)
         FROM (SELECT c.key, c.window_start, r.n FROM login_throttle c
                 JOIN (SELECT key, window_start, count(*)::int AS n FROM unnest($1::varchar[], $2::timestamptz[]) AS u(key, window_start)
                        GROUP BY key, window_start) r ON r.key = c.key AND r.window_start = c.window_start
                ORDER BY starts_with(c.key, 'ip:') DESC, c.key, c.window_start
                  FOR UPDATE OF c) l
        WHERE t.key = l.key AND t.window_start = l.window_start`;

const accountKey = (username: string) => `account:${usernameKey(username)}`;
/** The digest holds no `:`, so an account's device keys share a prefix no other account's do. */
const deviceKey = (username: string, deviceId: string) => `device:${usernameDigest(username)}:${deviceId}`;

import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { usernameDigest, usernameKey } from '../common/username';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { Sql } from '../database/sql';
import { CasMetrics } from '../metrics/cas-metrics';
import { type FlowUse, USE_FLOW_SQL } from './login-flows';
import { type AccountLookup, STORED_USER_COLUMNS, type StoredUserRow, storedUserOf } from './user-store';

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

  /**
   * A login form's token used up (LoginFlows.USE_FLOW_SQL) and, only if that use was new, one
   * attempt reserved for the IP and for the account (or device), in one statement: one round trip
   * and one commit where the use and the two counters took three. `used` false: a replayed token,
   * nothing reserved. `reservation` null: a limit is reached (any slot taken is given back). The
   * counters are upserted in limitsFor's order, the IP's first, so two attempts sharing a counter
   * lock them in the same order; each row stops at its own limit.
   * `findUser`: a canonical username whose users-table account the same statement reads (`lookup`,
   * for the users-table handler, only when the use was new and nothing was refused); a read is no
   * password check, which still comes after the reservation.
   */
  async reserveOnUse(k: AttemptKeys, use: FlowUse, findUser?: string): Promise<{ used: boolean; reservation: Reservation | null; lookup?: AccountLookup }> {
    const windowStart = this.currentWindowStart();
    const limits = this.limitsFor(k);
    const [row] = await this.sql.prepared<StoredUserRow & { used: boolean; reserved: string[] }>('cas_reserve_on_flow_use', RESERVE_ON_FLOW_USE_SQL, [
      use.id, use.expiresAt, windowStart, limits.map(([key]) => key), limits.map(([, limit]) => limit), findUser ?? null,
    ]);
    if (!row?.used) return { used: false, reservation: null };
    if (row.reserved.length < limits.length) {
      await this.refund({ keys: row.reserved, windowStart });
      this.metrics.throttled();
      return { used: true, reservation: null };
    }
    const reservation = { keys: limits.map(([key]) => key), windowStart };
    return findUser === undefined ? { used: true, reservation } : { used: true, reservation, lookup: { user: storedUserOf(row) } };
  }

  /** The counters an attempt takes, with their limits: the IP's, then the account's or the device's. */
  private limitsFor(k: AttemptKeys): [string, number][] {
    const t = this.config.throttle;
    return [
      [`ip:${k.ip}`, t.ipThreshold],
      k.deviceId ? [deviceKey(k.username, k.deviceId), t.deviceThreshold] : [accountKey(k.username), t.accountThreshold],
    ];
  }

  /** Gives reserved slots back (the password was right), the address's counter locked first (REFUND_SQL). */
  async refund(r: Reservation): Promise<void> {
    if (!r.keys.length) return;
    // Prepared: every successful login runs it.
    await this.sql.prepared('cas_throttle_refund', REFUND_SQL, [r.keys, r.windowStart]);
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
 * $4 the counters' keys in the order they are taken, $5 their limits; $6 a canonical username whose
 * users-table account is read beside it (null: none), only when the token's use was new.
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
       SELECT EXISTS (SELECT 1 FROM used) AS used, ARRAY(SELECT key FROM reserved)::text[] AS reserved, ${STORED_USER_COLUMNS}
         FROM (SELECT) AS one LEFT JOIN users u ON u.username_key = $6::text AND EXISTS (SELECT 1 FROM used)`;

/**
 * refund's statement: $1 the reservation's keys, $2 its window. The rows are locked by a FOR
 * UPDATE above a sort that puts the address's counter first, as every reservation takes it
 * (limitsFor), so a refund and a reservation sharing counters cannot each hold one the other
 * waits for. A plain `WHERE key = ANY($1)` locked them in index order ('account:…' before
 * 'ip:…') and deadlocked with a reservation of the same user from the same address
 * (test/e2e/throttle-lock-order).
 */
const REFUND_SQL = `UPDATE login_throttle t SET failures = t.failures - 1
         FROM (SELECT key, window_start FROM login_throttle
                WHERE key = ANY($1::varchar[]) AND window_start = $2
                ORDER BY starts_with(key, 'ip:') DESC, key
                  FOR UPDATE) l
        WHERE t.key = l.key AND t.window_start = l.window_start AND t.failures > 0`;

const accountKey = (username: string) => `account:${usernameKey(username)}`;
/** The digest holds no `:`, so an account's device keys share a prefix no other account's do. */
const deviceKey = (username: string, deviceId: string) => `device:${usernameDigest(username)}:${deviceId}`;

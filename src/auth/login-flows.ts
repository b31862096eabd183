import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken } from '../tickets/ticket-ids';

const FLOW_TTL_MS = 15 * 60 * 1000;
const hash = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export interface LoginFlow {
  service: string | null;
}

/**
 * The login form's `execution` token (CAS's flow key; the spec's LT): single use, valid 15 minutes,
 * and bound to the browser that fetched the form through the CASLOGIN cookie, so a token taken
 * from another browser or replayed is refused (login CSRF, T14). Owner of `login_flows`.
 */
@Injectable()
export class LoginFlows {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  newBrowserKey(): string {
    return randomToken(32);
  }

  async start(browserKey: string, service: string | null): Promise<string> {
    const id = `LT-${randomToken(32)}`;
    const now = this.clock.now();
    await this.db.query(
      `INSERT INTO login_flows (id, browser_key, service, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
      [id, hash(browserKey), service, now, new Date(now.getTime() + FLOW_TTL_MS)],
    );
    return id;
  }

  /** Consumes the token (whatever happens next); null when unknown, expired, used, or from another browser. */
  async consume(execution: string, browserKey: string | undefined): Promise<LoginFlow | null> {
    if (!/^LT-[A-Za-z0-9]{32}$/.test(execution) || !browserKey) return null;
    // TypeORM answers a DELETE with [rows, rowCount].
    const [rows] = (await this.db.query(
      `DELETE FROM login_flows WHERE id = $1 RETURNING browser_key, service, expires_at > $2 AS live`,
      [execution, this.clock.now()],
    )) as [{ browser_key: string; service: string | null; live: boolean }[], number];
    if (!rows.length || !rows[0].live) return null;
    const same = timingSafeEqual(Buffer.from(rows[0].browser_key), Buffer.from(hash(browserKey)));
    return same ? { service: rows[0].service } : null;
  }

  /** Deletes up to `limit` expired tokens (forms never submitted); returns how many. */
  async deleteExpired(limit: number): Promise<number> {
    const [, count] = (await this.db.query(
      `DELETE FROM login_flows WHERE id IN (SELECT id FROM login_flows WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.clock.now(), limit],
    )) as [unknown, number];
    return count;
  }
}

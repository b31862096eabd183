import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Sql } from '../database/sql';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  clientIp: string;
  action: string;
  target: string;
  status: number;
  /** The request's id (X-Request-Id), null on rows older than the column. */
  requestId: string | null;
}

/** The `admin_audit` table: the only SQL on it. */
@Injectable()
export class AuditLog {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  async record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.sql.affected(
      `INSERT INTO admin_audit (at, actor, client_ip, action, target, status, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [this.clock.now(), e.actor, e.clientIp, e.action, e.target.slice(0, 2048), e.status, e.requestId],
    );
  }

  /** Newest first, keyset on id: entries older than `before`. */
  async page(limit: number, before?: number): Promise<AuditEntry[]> {
    const rows = await this.sql.rows<{ id: string; at: Date; actor: string; client_ip: string; action: string; target: string; status: number; request_id: string | null }>(
      `SELECT id, at, actor, client_ip, action, target, status, request_id FROM admin_audit
        WHERE ($1::bigint IS NULL OR id < $1::bigint) ORDER BY id DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, clientIp: r.client_ip, action: r.action, target: r.target, status: r.status, requestId: r.request_id }));
  }
}

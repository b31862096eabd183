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

/** What the console's audit page filters on; every field optional, all given ones must hold. */
export interface AuditFilter {
  /** The admin token's id (or `anonymous`, `loopback`), exactly. */
  actor?: string;
  /** The HTTP method, exactly. */
  action?: string;
  /** The answered status, within these bounds (inclusive): one status, or a class such as 400..499. */
  status?: { from: number; to: number };
  /** The path and query as recorded: containing this text, or starting with it. */
  target?: { text: string; match: 'contains' | 'prefix' };
  /** From this instant (inclusive) until that one (exclusive). */
  since?: Date;
  until?: Date;
  requestId?: string;
}

const RECORD_SQL = `INSERT INTO admin_audit (at, actor, client_ip, action, target, status, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`;

/** The `admin_audit` table: the only SQL on it. */
@Injectable()
export class AuditLog {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /**
   * Every admin request writes one, before its answer leaves (audit.hook.ts): a named prepared
   * statement, parsed and planned once per pooled connection, straight on the pool.
   */
  async record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.sql.prepared('cas_record_admin_audit', RECORD_SQL, [this.clock.now(), e.actor, e.clientIp, e.action, e.target.slice(0, 2048), e.status, e.requestId]);
  }

  /** Newest first, keyset on id: entries older than `before`. */
  page(limit: number, before?: number): Promise<AuditEntry[]> {
    return this.search({}, limit, before);
  }

  /** Entries matching every condition of the filter (auditSearchStatement), newest first, keyset on id: those older than `before` (and newer than `above`). */
  async search(f: AuditFilter, limit: number, before?: number, above?: number): Promise<AuditEntry[]> {
    const { text, values } = auditSearchStatement(f, limit, before, above);
    const rows = await this.sql.rows<{ id: string; at: Date; actor: string; client_ip: string; action: string; target: string; status: number; request_id: string | null }>(text, values);
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, clientIp: r.client_ip, action: r.action, target: r.target, status: r.status, requestId: r.request_id }));
  }

  /**
   * `search` that reads at most `window` entries (older than `before`) when a condition no index
   * serves (method, status, target) is given: a text found in no entry would otherwise walk the
   * whole table (400 ms over 1,000,000 entries). The window's edge is found on the primary key
   * (an index-only walk of `window` ids). `stoppedAt` is the oldest entry read when the window
   * ended the search before `limit` matches: the caller offers to go on with the entries before it.
   */
  async searchWindow(f: AuditFilter, limit: number, before: number | undefined, window: number): Promise<{ entries: AuditEntry[]; stoppedAt?: { id: number; at: string } }> {
    if (f.action === undefined && f.status === undefined && f.target === undefined) return { entries: await this.search(f, limit, before) };
    const edge = await this.sql.one<{ id: string; at: Date }>(
      `SELECT id, at FROM admin_audit WHERE ($1::bigint IS NULL OR id < $1::bigint) ORDER BY id DESC OFFSET $2 LIMIT 1`,
      [before ?? null, window - 1],
    );
    const entries = await this.search(f, limit, before, edge ? Number(edge.id) - 1 : undefined);
    return { entries, ...(edge && entries.length < limit ? { stoppedAt: { id: Number(edge.id), at: edge.at.toISOString() } } : {}) };
  }
}

/**
 * The audit search's statement: only the given conditions, each value a bind parameter; an actor
 * walks ix_admin_audit_actor, a request id reads ix_admin_audit_request_id, the rest filter the
 * primary key's walk from the newest entry (it stops at `limit` matches).
 */
export function auditSearchStatement(f: AuditFilter, limit: number, before?: number, above?: number): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const bind = (v: unknown, type: string) => `$${values.push(v)}::${type}`;
  const where: string[] = [];
  if (before !== undefined) where.push(`id < ${bind(before, 'bigint')}`);
  if (above !== undefined) where.push(`id > ${bind(above, 'bigint')}`);
  if (f.actor !== undefined) where.push(`actor = ${bind(f.actor, 'text')}`);
  if (f.action !== undefined) where.push(`action = ${bind(f.action, 'text')}`);
  if (f.status) where.push(`status BETWEEN ${bind(f.status.from, 'int')} AND ${bind(f.status.to, 'int')}`);
  // strpos and starts_with: the text is matched as written, with no LIKE wildcards to escape.
  if (f.target) where.push(f.target.match === 'prefix' ? `starts_with(target, ${bind(f.target.text, 'text')})` : `strpos(target, ${bind(f.target.text, 'text')}) > 0`);
  if (f.since) where.push(`at >= ${bind(f.since, 'timestamptz')}`);
  if (f.until) where.push(`at < ${bind(f.until, 'timestamptz')}`);
  if (f.requestId !== undefined) where.push(`request_id = ${bind(f.requestId, 'text')}`);
  const text = `SELECT id, at, actor, client_ip, action, target, status, request_id FROM admin_audit
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${bind(limit, 'int')}`;
  return { text, values };
}

import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { appVersion } from '../common/app-version';
import { Clock } from '../common/clock';
import { Sql } from '../database/sql';
import { CasMetrics, type MinuteCount } from '../metrics/cas-metrics';
import { type CleanReport, TicketRegistryCleaner } from '../tickets/logout/ticket-registry.cleaner';

/** How often each node upserts its row. */
export const HEARTBEAT_INTERVAL_MS = 30_000;
/** A node seen within this window is listed, and its counts are in the overview's chart. */
export const RECENT_NODE_MS = 3_600_000;
/** A node not seen for this long is deleted (a restart is a new node: its old row goes after a day). */
const FORGET_NODE_AFTER = '1 day';

/** One node as the overview shows it. */
export interface NodeHeartbeat {
  nodeId: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  lastSeen: string;
  /** Its minutes with any login, failure or validation in the last hour, oldest first. */
  minuteCounts: MinuteCount[];
  /** Its last registry cleaner runs, newest first. */
  cleanerRuns: CleanReport[];
  /** The node answering this request: its counts are live, not from its last heartbeat. */
  self: boolean;
}

interface HeartbeatRow {
  node_id: string;
  host: string;
  pid: number;
  version: string;
  started_at: Date;
  last_seen: Date;
  minute_counts: MinuteCount[];
  cleaner_runs: CleanReport[];
}

/**
 * The `node_heartbeats` table (the only SQL on it): nodes are stateless and share the database, so
 * each one tells the others it is alive, and what it did in the last hour, by upserting its own row
 * every 30 s (and once at boot). The statement also deletes the rows not seen for a day, skipping
 * any another node is deleting at the same moment, so every node can run it at once.
 */
@Injectable()
export class NodeHeartbeats implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NodeHeartbeats');
  /** This process's node: a restart is a new node. */
  readonly nodeId = randomUUID();
  private readonly host = hostname();
  private readonly startedAt: Date;
  private beating: Promise<void> | null = null;
  private closing = false;

  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly metrics: CasMetrics,
    private readonly cleaner: TicketRegistryCleaner,
  ) {
    this.startedAt = clock.now();
  }

  /** Awaited: the node is listed from the moment it serves (and its row exists before any request). */
  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    await this.beating;
  }

  /** Upserts this node's row now; a beat under way is joined. A failure is logged, never thrown. */
  @Interval(HEARTBEAT_INTERVAL_MS)
  beat(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.beating ??= this.upsert()
      .catch((e) => this.logger.warn(`heartbeat not recorded: ${(e as Error).message}`))
      .finally(() => (this.beating = null));
    return this.beating;
  }

  /**
   * The nodes seen in the last hour, oldest started first. This node's own entry carries its live
   * counts and cleaner runs (its row may be up to 30 s old, or not written yet just after boot).
   */
  async recent(): Promise<NodeHeartbeat[]> {
    const now = this.clock.now();
    const rows = await this.sql.rows<HeartbeatRow>(
      `SELECT node_id, host, pid, version, started_at, last_seen, minute_counts, cleaner_runs
         FROM node_heartbeats WHERE last_seen >= $1 ORDER BY started_at, node_id`,
      [new Date(now.getTime() - RECENT_NODE_MS)],
    );
    const nodes: NodeHeartbeat[] = rows
      .filter((r) => r.node_id !== this.nodeId)
      .map((r) => ({
        nodeId: r.node_id, host: r.host, pid: r.pid, version: r.version, startedAt: r.started_at.toISOString(),
        lastSeen: r.last_seen.toISOString(), minuteCounts: r.minute_counts, cleanerRuns: r.cleaner_runs, self: false,
      }));
    nodes.push({ ...this.own(now), self: true });
    return nodes.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.nodeId.localeCompare(b.nodeId));
  }

  private own(now: Date): Omit<NodeHeartbeat, 'self'> {
    return {
      nodeId: this.nodeId,
      host: this.host,
      pid: process.pid,
      version: appVersion(),
      startedAt: this.startedAt.toISOString(),
      lastSeen: now.toISOString(),
      // The quiet minutes are left out: they are zeros, and an hour of them would be most of the row.
      minuteCounts: this.metrics.minuteCounts().filter((m) => m.logins || m.loginFailures || m.validations),
      cleanerRuns: this.cleaner.recentRuns(),
    };
  }

  private async upsert(): Promise<void> {
    const own = this.own(this.clock.now());
    await this.sql.affected(
      `WITH forgotten AS (
         DELETE FROM node_heartbeats WHERE node_id IN (
           SELECT node_id FROM node_heartbeats
            WHERE last_seen < $6::timestamptz - interval '${FORGET_NODE_AFTER}' AND node_id <> $1
              FOR UPDATE SKIP LOCKED))
       INSERT INTO node_heartbeats (node_id, host, pid, version, started_at, last_seen, minute_counts, cleaner_runs)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
       ON CONFLICT (node_id) DO UPDATE
         SET last_seen = EXCLUDED.last_seen, minute_counts = EXCLUDED.minute_counts, cleaner_runs = EXCLUDED.cleaner_runs`,
      [own.nodeId, own.host.slice(0, 255), own.pid, own.version.slice(0, 64), own.startedAt, own.lastSeen, JSON.stringify(own.minuteCounts), JSON.stringify(own.cleanerRuns)],
    );
  }
}

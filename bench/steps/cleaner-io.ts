/**
 * What the disk and Postgres wrote over a window of the cleaner step: the data directory's block
 * device from /proc/diskstats (MB written, write requests, flushes, time the device was busy),
 * pg_stat_io's relation blocks written by who wrote them (client backends, checkpointer,
 * background writer, autovacuum) and pg_stat_wal (WAL bytes, full-page images, writes and syncs).
 * Tells a clean's cost to the validations' commits apart: WAL flushes versus data pages written.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Client } from 'pg';
import { f0 } from '../lib';

interface Disk {
  writes: number;
  sectors: number;
  ioMs: number;
  weightedMs: number;
  flushes: number;
  flushMs: number;
}
interface IoSnapshot {
  t: number;
  disk: Disk | null;
  /** Relation blocks written (and fsyncs) by backend type. */
  written: Map<string, { writes: number; fsyncs: number }>;
  wal: { bytes: number; fpi: number; writes: number; syncs: number; writeMs: number; syncMs: number };
  /** Checkpoints started (timed + requested), and the buffers they wrote. */
  checkpoints: number;
}

/** The whole-disk or partition line of /proc/diskstats for the data directory's device (null: not found, e.g. DATABASE_URL). */
function diskOf(dev: { major: number; minor: number } | null): Disk | null {
  if (!dev) return null;
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const p = line.trim().split(/\s+/);
    if (Number(p[0]) !== dev.major || Number(p[1]) !== dev.minor) continue;
    const n = (i: number) => Number(p[i] ?? 0);
    return { writes: n(7), sectors: n(9), ioMs: n(12), weightedMs: n(13), flushes: n(18), flushMs: n(19) };
  }
  return null;
}

export class IoMeter {
  private dev: { major: number; minor: number } | null = null;
  private from: IoSnapshot | null = null;

  constructor(private readonly sql: Client) {}

  async init(): Promise<void> {
    try {
      const dir = String((await this.sql.query(`SELECT current_setting('data_directory') AS d`)).rows[0].d);
      const d = statSync(dir).dev;
      // glibc's gnu_dev_major / gnu_dev_minor.
      this.dev = { major: ((d >>> 8) & 0xfff) | (Math.floor(d / 2 ** 32) & ~0xfff), minor: (d & 0xff) | ((d >>> 12) & ~0xff) };
    } catch {
      this.dev = null;
    }
  }

  private async snapshot(): Promise<IoSnapshot> {
    const { rows } = await this.sql.query(
      `SELECT backend_type AS b, COALESCE(sum(writes), 0)::float8 AS w, COALESCE(sum(fsyncs), 0)::float8 AS f FROM pg_stat_io WHERE object = 'relation' GROUP BY 1`,
    );
    const w = (await this.sql.query(
      `SELECT wal_bytes::float8 AS bytes, wal_fpi::float8 AS fpi, wal_write::float8 AS writes, wal_sync::float8 AS syncs, wal_write_time AS wt, wal_sync_time AS st FROM pg_stat_wal`,
    )).rows[0];
    // pg_stat_checkpointer from Postgres 17, pg_stat_bgwriter before.
    const cp = await this.sql
      .query(`SELECT (num_timed + num_requested)::float8 AS n FROM pg_stat_checkpointer`)
      .catch(() => this.sql.query(`SELECT (checkpoints_timed + checkpoints_req)::float8 AS n FROM pg_stat_bgwriter`));
    return {
      checkpoints: Number(cp.rows[0].n),
      t: performance.now(),
      disk: diskOf(this.dev),
      written: new Map(rows.map((r) => [String(r.b), { writes: Number(r.w), fsyncs: Number(r.f) }])),
      wal: { bytes: Number(w.bytes), fpi: Number(w.fpi), writes: Number(w.writes), syncs: Number(w.syncs), writeMs: Number(w.wt), syncMs: Number(w.st) },
    };
  }

  async start(): Promise<void> {
    // Postgres before 16 has no pg_stat_io: no line.
    this.from = await this.snapshot().catch(() => null);
  }

  /** The window since start(), as one line; '' if never started. */
  async stop(): Promise<string> {
    if (!this.from) return '';
    const a = this.from;
    const b = await this.snapshot().catch(() => null);
    this.from = null;
    if (!b) return '';
    const s = (b.t - a.t) / 1000;
    const parts: string[] = [];
    if (a.disk && b.disk) {
      const d = (k: keyof Disk) => b.disk![k] - a.disk![k];
      parts.push(
        `disk ${this.dev!.major}:${this.dev!.minor} ${((d('sectors') * 512) / 1048576 / s).toFixed(1)} MB/s written in ${f0(d('writes') / s)} writes/s and ${f0(d('flushes') / s)} flushes/s, ` +
          `busy ${((d('ioMs') / (s * 1000)) * 100).toFixed(0)} % of the time, ${(d('weightedMs') / (s * 1000)).toFixed(2)} requests in flight on average`,
      );
    }
    const written = [...b.written].map(([k, v]) => [k, v.writes - (a.written.get(k)?.writes ?? 0)] as const).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]);
    parts.push(`data pages written (pg_stat_io, 8 kB): ${written.map(([k, n]) => `${k} ${f0(n)} (${((n * 8) / 1024 / s).toFixed(1)} MB/s)`).join(', ') || 'none'}`);
    const wal = { bytes: b.wal.bytes - a.wal.bytes, fpi: b.wal.fpi - a.wal.fpi, writes: b.wal.writes - a.wal.writes, syncs: b.wal.syncs - a.wal.syncs };
    parts.push(
      `WAL ${(wal.bytes / 1048576 / s).toFixed(1)} MB/s (${f0(wal.fpi / s)} full-page images/s), ${f0(wal.writes / s)} writes/s, ${f0(wal.syncs / s)} syncs/s` +
        (b.wal.syncMs > a.wal.syncMs ? `, ${((b.wal.syncMs - a.wal.syncMs) / Math.max(1, wal.syncs)).toFixed(2)} ms per sync` : ''),
    );
    parts.push(`${b.checkpoints - a.checkpoints} checkpoint(s) began`);
    return `over ${s.toFixed(1)} s: ${parts.join('; ')}`;
  }
}

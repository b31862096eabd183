import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource, EntityManager } from 'typeorm';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { compileServicePattern, parseServiceDefinition, RegisteredService } from './registered-service';

interface CompiledService {
  service: RegisteredService;
  pattern: RegExp;
}

export type ServiceSource = 'json' | 'api';

/**
 * Registered services: the `registered_services` table (its only owner, and the source of truth
 * after import) and an in-memory list sorted by evaluation order, used for every lookup. Every
 * change bumps `service_registry_version` in the same transaction; each node checks it every
 * second and reloads, so a change made on one node is used by all within a second. The registry
 * is the open-redirect defence: nothing is redirected to, or issued for, a URL that does not
 * match an enabled entry.
 */
@Injectable()
export class ServiceRegistry {
  private readonly logger = new Logger(ServiceRegistry.name);
  private compiled: CompiledService[] = [];
  private version = -1;

  constructor(
    private readonly db: DataSource,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  /**
   * Stores a definition by its id. From a JSON file it does not replace a service last changed
   * through the API unless SERVICE_REGISTRY_IMPORT_OVERWRITE is set. Returns whether it was written.
   */
  async upsert(s: RegisteredService, source: ServiceSource): Promise<boolean> {
    const keepApiChanges = source === 'json' && !this.config.serviceRegistryImportOverwrite;
    return this.change(async (m) => {
      const rows: unknown[] = await m.query(
        `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, service_id = EXCLUDED.service_id,
           evaluation_order = EXCLUDED.evaluation_order, enabled = EXCLUDED.enabled,
           definition = EXCLUDED.definition, source = EXCLUDED.source, updated_at = now()
         WHERE NOT ($8 AND registered_services.source = 'api')
         RETURNING id`,
        [s.id, s.name, s.serviceId, s.evaluationOrder, s.enabled, JSON.stringify(s.definition), source, keepApiChanges],
      );
      return rows.length === 1;
    });
  }

  /** Inserts a new service; false when the id is taken. */
  async create(s: RegisteredService): Promise<boolean> {
    return this.change(async (m) => {
      const rows: unknown[] = await m.query(
        `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
         VALUES ($1, $2, $3, $4, $5, $6, 'api') ON CONFLICT (id) DO NOTHING RETURNING id`,
        [s.id, s.name, s.serviceId, s.evaluationOrder, s.enabled, JSON.stringify(s.definition)],
      );
      return rows.length === 1;
    });
  }

  /** Deletes a service; false when there was none. */
  async remove(id: number): Promise<boolean> {
    return this.change(async (m) => {
      const [, count] = (await m.query(`DELETE FROM registered_services WHERE id = $1`, [id])) as [unknown, number];
      return count === 1;
    });
  }

  /**
   * Deletes the services imported from files (never those last changed through the API) whose
   * serviceId is exactly this one, and returns them. No change, no version bump.
   */
  async removeImported(serviceId: string): Promise<{ id: string; name: string }[]> {
    const found: unknown[] = await this.db.query(`SELECT 1 FROM registered_services WHERE source = 'json' AND definition->>'serviceId' = $1`, [serviceId]);
    if (!found.length) return [];
    return this.change(async (m) => {
      const [rows] = (await m.query(
        `DELETE FROM registered_services WHERE source = 'json' AND definition->>'serviceId' = $1 RETURNING id, name`,
        [serviceId],
      )) as [{ id: string; name: string }[], number];
      return rows;
    });
  }

  /** How many services this node has loaded (enabled or not). */
  get size(): number {
    return this.compiled.length;
  }

  /** Every stored definition, in evaluation order (from the table, not the cache). */
  async definitions(): Promise<Record<string, unknown>[]> {
    const rows: { definition: Record<string, unknown> }[] = await this.db.query(
      `SELECT definition FROM registered_services ORDER BY evaluation_order, name, id`,
    );
    return rows.map((r) => r.definition);
  }

  async definition(id: number): Promise<Record<string, unknown> | null> {
    const rows: { definition: Record<string, unknown> }[] = await this.db.query(`SELECT definition FROM registered_services WHERE id = $1`, [id]);
    return rows.length ? rows[0].definition : null;
  }

  /** Reloads the in-memory list from the table. A row that no longer parses is skipped and reported. */
  async reload(): Promise<void> {
    const [{ version }] = (await this.db.query(`SELECT version FROM service_registry_version WHERE id = 1`)) as { version: string }[];
    const rows: { id: string; definition: unknown }[] = await this.db.query(
      `SELECT id, definition FROM registered_services ORDER BY evaluation_order, name, id`,
    );
    const next: CompiledService[] = [];
    for (const row of rows) {
      try {
        const service = parseServiceDefinition(row.definition);
        next.push({ service, pattern: compileServicePattern(service.serviceId) });
      } catch (e) {
        this.logger.error(`registered service ${row.id} skipped: ${(e as Error).message}`);
      }
    }
    this.compiled = next;
    this.version = Number(version);
  }

  /**
   * Twice a second: reload when another node (or this one) changed the registry. Polling every
   * 500 ms (one indexed single-row read) keeps "a change is used by every node within 1 s" true
   * even when the change lands just after a poll and the reload takes a few milliseconds.
   */
  @Interval(500)
  async refreshIfChanged(): Promise<void> {
    try {
      const [{ version }] = (await this.db.query(`SELECT version FROM service_registry_version WHERE id = 1`)) as { version: string }[];
      if (Number(version) !== this.version) await this.reload();
    } catch (e) {
      this.logger.warn(`registry version check failed: ${(e as Error).message}`);
    }
  }

  /**
   * The registered service for a URL: the first entry (lowest evaluationOrder) whose serviceId
   * matches the whole URL, or null. A disabled match is returned; callers refuse it.
   */
  match(serviceUrl: string): RegisteredService | null {
    for (const c of this.compiled) {
      if (c.pattern.test(serviceUrl)) return c.service;
    }
    return null;
  }

  /** An enabled registered service for the URL, or null: what every endpoint accepts. */
  authorized(serviceUrl: string): RegisteredService | null {
    const s = this.match(serviceUrl);
    return s && s.enabled ? s : null;
  }

  findById(id: number): RegisteredService | null {
    return this.compiled.find((c) => c.service.id === id)?.service ?? null;
  }

  /** Runs a change and bumps the version in one transaction, then reloads this node at once. */
  private async change<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const result = await this.db.transaction(async (m) => {
      const r = await fn(m);
      await m.query(`UPDATE service_registry_version SET version = version + 1 WHERE id = 1`);
      return r;
    });
    await this.reload();
    return result;
  }
}

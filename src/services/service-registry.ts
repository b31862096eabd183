import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { Sql, type Tx } from '../database/sql';
import { compileServicePattern, InvalidServiceDefinition, parseServiceDefinition, RegisteredService } from './registered-service';
import { isUsableServiceUrl } from './service-url';

interface CompiledService {
  service: RegisteredService;
  pattern: RegExp;
}

export type ServiceSource = 'json' | 'api';

/** One stored service as the console lists it: its definition, and what this server makes of it. */
export interface StoredService {
  id: number;
  source: ServiceSource;
  definition: Record<string, unknown>;
  /** The parsed definition, or null when it no longer parses (then `problem` says why; reload skips it). */
  service: RegisteredService | null;
  problem?: string;
}

/**
 * What the registry does with a URL, as /login decides it: not a URL it may redirect to at all,
 * no entry matching it, the first match disabled, or the first match used. `shadowed` lists the
 * later entries that match too but are never reached (first match wins).
 */
export type ServiceMatchReport =
  | { kind: 'unusable' }
  | { kind: 'none' }
  | { kind: 'disabled' | 'authorized'; service: RegisteredService; shadowed: RegisteredService[] };

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
    private readonly sql: Sql,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  /**
   * Stores a definition by its id. From a JSON file it does not replace a service last changed
   * through the API unless SERVICE_REGISTRY_IMPORT_OVERWRITE is set. Returns whether it was written.
   */
  async upsert(s: RegisteredService, source: ServiceSource): Promise<boolean> {
    const keepApiChanges = source === 'json' && !this.config.serviceRegistryImportOverwrite;
    return this.change(async (tx) => {
      const written = await tx.one(
        `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, service_id = EXCLUDED.service_id,
           evaluation_order = EXCLUDED.evaluation_order, enabled = EXCLUDED.enabled,
           definition = EXCLUDED.definition, source = EXCLUDED.source, updated_at = now()
         WHERE NOT ($8 AND registered_services.source = 'api')
         RETURNING id`,
        [s.id, s.name, s.serviceId, s.evaluationOrder, s.enabled, JSON.stringify(s.definition), source, keepApiChanges],
      );
      return written !== null;
    });
  }

  /** Inserts a new service; false when the id is taken. */
  async create(s: RegisteredService): Promise<boolean> {
    return this.change(async (tx) => {
      const created = await tx.one(
        `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
         VALUES ($1, $2, $3, $4, $5, $6, 'api') ON CONFLICT (id) DO NOTHING RETURNING id`,
        [s.id, s.name, s.serviceId, s.evaluationOrder, s.enabled, JSON.stringify(s.definition)],
      );
      return created !== null;
    });
  }

  /** Deletes a service; false when there was none. */
  async remove(id: number): Promise<boolean> {
    return this.change(async (tx) => (await tx.affected(`DELETE FROM registered_services WHERE id = $1`, [id])) === 1);
  }

  /**
   * Deletes the services imported from files (never those last changed through the API) whose
   * serviceId is exactly this one, and returns them. No change, no version bump.
   */
  async removeImported(serviceId: string): Promise<{ id: string; name: string }[]> {
    const found = await this.sql.one(`SELECT 1 FROM registered_services WHERE source = 'json' AND definition->>'serviceId' = $1`, [serviceId]);
    if (!found) return [];
    return this.change((tx) =>
      tx.rows<{ id: string; name: string }>(
        `DELETE FROM registered_services WHERE source = 'json' AND definition->>'serviceId' = $1 RETURNING id, name`,
        [serviceId],
      ),
    );
  }

  /** How many services this node has loaded (enabled or not). */
  get size(): number {
    return this.compiled.length;
  }

  /** Every stored definition, in evaluation order (from the table, not the cache). */
  async definitions(): Promise<Record<string, unknown>[]> {
    const rows = await this.sql.rows<{ definition: Record<string, unknown> }>(
      `SELECT definition FROM registered_services ORDER BY evaluation_order, name, id`,
    );
    return rows.map((r) => r.definition);
  }

  /**
   * A page of the stored services in evaluation order (the order `match` tries them), keyset-paged
   * after the service with id `after`; `limit + 1` rows are read so the caller knows whether
   * another page follows. A row that no longer parses is listed with its problem, not skipped:
   * the console is where an operator sees it.
   */
  async page(after: number | undefined, limit: number): Promise<{ services: StoredService[]; more: boolean }> {
    const rows = await this.sql.rows<{ id: string; source: ServiceSource; definition: Record<string, unknown> }>(
      after === undefined
        ? `SELECT id, source, definition FROM registered_services ORDER BY evaluation_order, name, id LIMIT $1`
        : `SELECT r.id, r.source, r.definition FROM registered_services r, registered_services a
           WHERE a.id = $2 AND (r.evaluation_order, r.name, r.id) > (a.evaluation_order, a.name, a.id)
           ORDER BY r.evaluation_order, r.name, r.id LIMIT $1`,
      after === undefined ? [limit + 1] : [limit + 1, after],
    );
    return { services: rows.slice(0, limit).map(stored), more: rows.length > limit };
  }

  /** One more than the highest id in use (the primary key's last entry): the id a new service is offered. */
  async nextId(): Promise<number> {
    const row = await this.sql.one<{ id: string | null }>(`SELECT max(id) AS id FROM registered_services`);
    return Number(row?.id ?? 0) + 1;
  }

  /** One stored service, parsed when it still parses; null when there is none with this id. */
  async stored(id: number): Promise<StoredService | null> {
    const row = await this.sql.one<{ id: string; source: ServiceSource; definition: Record<string, unknown> }>(
      `SELECT id, source, definition FROM registered_services WHERE id = $1`,
      [id],
    );
    return row ? stored(row) : null;
  }

  /**
   * Sets CAS's `accessStrategy.enabled` in the stored definition, under the row's lock so a
   * concurrent edit is not lost; the service then counts as changed through the API. Null when
   * there is no such service; throws InvalidServiceDefinition when the stored one no longer parses.
   */
  async setEnabled(id: number, enabled: boolean): Promise<RegisteredService | null> {
    return this.change(async (tx) => {
      const row = await tx.one<{ definition: Record<string, unknown> }>(`SELECT definition FROM registered_services WHERE id = $1 FOR UPDATE`, [id]);
      if (!row) return null;
      const access = row.definition.accessStrategy;
      const strategy = typeof access === 'object' && access !== null && !Array.isArray(access) ? access : { '@class': DEFAULT_ACCESS_STRATEGY };
      const s = parseServiceDefinition({ ...row.definition, accessStrategy: { ...strategy, enabled } });
      await tx.affected(
        `UPDATE registered_services SET enabled = $2, definition = $3, source = 'api', updated_at = now() WHERE id = $1`,
        [id, s.enabled, JSON.stringify(s.definition)],
      );
      return s;
    });
  }

  async definition(id: number): Promise<Record<string, unknown> | null> {
    const row = await this.sql.one<{ definition: Record<string, unknown> }>(`SELECT definition FROM registered_services WHERE id = $1`, [id]);
    return row ? row.definition : null;
  }

  /** Reloads the in-memory list from the table. A row that no longer parses is skipped and reported. */
  async reload(): Promise<void> {
    const version = await this.storedVersion();
    const rows = await this.sql.rows<{ id: string; definition: unknown }>(
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
    this.version = version;
  }

  /**
   * Twice a second: reload when another node (or this one) changed the registry. Polling every
   * 500 ms (one indexed single-row read) keeps "a change is used by every node within 1 s" true
   * even when the change lands just after a poll and the reload takes a few milliseconds.
   */
  @Interval(500)
  async refreshIfChanged(): Promise<void> {
    try {
      if ((await this.storedVersion()) !== this.version) await this.reload();
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

  /**
   * Why a URL is or is not accepted, with the same checks in the same order as /login
   * (LoginService.authorizedService: a usable URL, then the first match, then enabled), on this
   * node's loaded list. For the console's "which service matches this URL?".
   */
  explain(serviceUrl: string): ServiceMatchReport {
    if (!isUsableServiceUrl(serviceUrl)) return { kind: 'unusable' };
    const service = this.match(serviceUrl);
    if (!service) return { kind: 'none' };
    const shadowed = this.compiled.filter((c) => c.service !== service && c.pattern.test(serviceUrl)).map((c) => c.service);
    return { kind: service.enabled ? 'authorized' : 'disabled', service, shadowed };
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
  private async change<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.sql.transaction(async (tx) => {
      const r = await fn(tx);
      await tx.affected(`UPDATE service_registry_version SET version = version + 1 WHERE id = 1`);
      return r;
    });
    await this.reload();
    return result;
  }

  /** The registry's version in the table (bumped by every change, on any node). */
  private async storedVersion(): Promise<number> {
    const row = await this.sql.one<{ version: string }>(`SELECT version FROM service_registry_version WHERE id = 1`);
    return Number(row!.version);
  }
}

const DEFAULT_ACCESS_STRATEGY = 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy';

function stored(row: { id: string; source: ServiceSource; definition: Record<string, unknown> }): StoredService {
  try {
    return { id: Number(row.id), source: row.source, definition: row.definition, service: parseServiceDefinition(row.definition) };
  } catch (e) {
    if (!(e instanceof InvalidServiceDefinition)) throw e;
    return { id: Number(row.id), source: row.source, definition: row.definition, service: null, problem: e.message };
  }
}

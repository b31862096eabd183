import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { compileServicePattern, parseServiceDefinition, RegisteredService } from './registered-service';

interface CompiledService {
  service: RegisteredService;
  pattern: RegExp;
}

/**
 * Registered services: the `registered_services` table (its only owner) and an in-memory list
 * sorted by evaluation order, used for every lookup. The registry is the open-redirect defence:
 * nothing is redirected to, or issued for, a URL that does not match an enabled entry.
 */
@Injectable()
export class ServiceRegistry {
  private readonly logger = new Logger(ServiceRegistry.name);
  private compiled: CompiledService[] = [];

  constructor(private readonly db: DataSource) {}

  /** Inserts or replaces a service by its id. */
  async upsert(s: RegisteredService, source: 'json' | 'api'): Promise<void> {
    await this.db.query(
      `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, service_id = EXCLUDED.service_id,
         evaluation_order = EXCLUDED.evaluation_order, enabled = EXCLUDED.enabled,
         definition = EXCLUDED.definition, source = EXCLUDED.source, updated_at = now()`,
      [s.id, s.name, s.serviceId, s.evaluationOrder, s.enabled, JSON.stringify(s.definition), source],
    );
  }

  /** Reloads the in-memory list from the table. A row that no longer parses is skipped and reported. */
  async reload(): Promise<void> {
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
}

import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ignoredFields, parseServiceDefinition } from './registered-service';
import { ServiceRegistry } from './service-registry';

/**
 * At boot, upserts every `*.json` file of CAS_SERVICE_REGISTRY_JSON_LOCATION into the table,
 * then loads the table into memory. A malformed file is reported with its name and reason and
 * does not stop the others.
 */
@Injectable()
export class ServiceRegistryImporter implements OnModuleInit {
  private readonly logger = new Logger('ServiceRegistry');

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly registry: ServiceRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.importDirectory(this.config.serviceRegistryLocation);
    await this.registry.reload();
  }

  async importDirectory(dir: string): Promise<{ imported: number; failed: number; kept?: number }> {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    } catch {
      this.logger.warn(`service registry directory ${dir} not readable; no services imported from files`);
      return { imported: 0, failed: 0 };
    }
    let imported = 0;
    let failed = 0;
    let kept = 0;
    const unsupported = new Set<string>();
    for (const file of files) {
      try {
        const service = parseServiceDefinition(JSON.parse(await readFile(join(dir, file), 'utf8')));
        ignoredFields(service.definition).forEach((k) => unsupported.add(k));
        if (await this.registry.upsert(service, 'json')) imported++;
        else kept++;
      } catch (e) {
        failed++;
        this.logger.error(`service file ${file} not imported: ${(e as Error).message}`);
      }
    }
    this.logger.log(
      `imported ${imported} service definition(s) from ${dir}${failed ? `, ${failed} failed` : ''}` +
        (kept ? `, ${kept} kept as changed through the API (SERVICE_REGISTRY_IMPORT_OVERWRITE=true replaces them)` : ''),
    );
    if (unsupported.size) this.logger.warn(`service fields kept but not acted on (presentation only): ${[...unsupported].sort().join(', ')}`);
    return kept ? { imported, failed, kept } : { imported, failed };
  }
}

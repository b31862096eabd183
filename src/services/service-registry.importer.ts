import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ignoredFields, parseServiceDefinition } from './registered-service';
import { ServiceRegistry } from './service-registry';

/**
 * The serviceId of the open development registry (dev/services/Development-1.json, and the
 * services/Development-1.json that earlier versions imported everywhere, Docker image included).
 * Known here, not read from the file, so a server without the file still recognises it.
 */
export const DEVELOPMENT_SERVICE_ID = '^(https://.*|http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?(/.*)?)$';

/**
 * At boot, upserts every `*.json` file of CAS_SERVICE_REGISTRY_JSON_LOCATION into the table (and,
 * in development mode with the location unset, the open development registry), then loads the
 * table into memory. A malformed file is reported with its name and reason and does not stop the
 * others. Otherwise an open development service left in the table by an earlier development run
 * or an earlier version is removed first: only this boot's files or the API can keep it.
 */
@Injectable()
export class ServiceRegistryImporter implements OnModuleInit {
  private readonly logger = new Logger('ServiceRegistry');

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly registry: ServiceRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    const dev = this.config.developmentRegistryLocation;
    if (!dev) await this.removeDevelopmentRegistry();
    await this.importDirectory(this.config.serviceRegistryLocation);
    if (dev) await this.importDirectory(dev);
    await this.registry.reload();
    this.announce();
  }

  private async removeDevelopmentRegistry(): Promise<void> {
    for (const s of await this.registry.removeImported(DEVELOPMENT_SERVICE_ID)) {
      this.logger.warn(
        `removed the open development service '${s.name}' (id ${s.id}) that an earlier version or development run imported: ` +
          'it let any https:// application use this server. Register your applications instead.',
      );
    }
  }

  /** Says at boot what is open, or how to add a service when nothing is. */
  private announce(): void {
    const { development, developmentRegistryLocation, serviceRegistryLocation, server } = this.config;
    if (developmentRegistryLocation) {
      this.logger.warn(
        `development mode (${development.reasons.join(', ')}): the open development registry ${developmentRegistryLocation} is imported — ` +
          'any https:// application and http://localhost or 127.0.0.1 on any port may use this server and receives every attribute. ' +
          'It is never imported with a non-local CAS_SERVER_PREFIX, DATABASE_URL set, NODE_ENV=production or CAS_SERVICE_REGISTRY_JSON_LOCATION set.',
      );
    }
    if (this.registry.size === 0) {
      this.logger.warn(
        `the service registry is empty: every application is refused ("Application not authorized"). Add a service as a CAS JSON file in ` +
          `${serviceRegistryLocation} (CAS_SERVICE_REGISTRY_JSON_LOCATION) and restart, or POST it to ${server.prefix}/actuator/registeredServices.`,
      );
    }
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

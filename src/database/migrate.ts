import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadCasConfig } from '../config/cas-config';
import { ConfigurationError } from '../config/env.validation';
import { runMigrations } from './data-source';
import { resolveDatabase } from './resolve-database';

/** `npm run migration:run`: brings the schema up to date (the server also does this at boot). */
async function main(): Promise<void> {
  const logger = new Logger('Migrations');
  const database = await resolveDatabase(loadCasConfig(process.env), { attachToRunning: true });
  try {
    await runMigrations(database.url, { logger });
    logger.log('schema is up to date');
  } finally {
    await database.stop();
  }
}

main().catch((e: Error) => {
  new Logger('Migrations').error(e instanceof ConfigurationError ? e.message : `migration failed: ${e.message}`);
  process.exit(1);
});

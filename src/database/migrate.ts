import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadCasConfig } from '../config/cas-config';
import { ConfigurationError } from '../config/env.validation';
import { runMigrations } from './data-source';
import { runningEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';

/** `npm run migration:run`: brings the schema up to date (the server also does this at boot). */
async function main(): Promise<void> {
  const logger = new Logger('Migrations');
  const config = loadCasConfig(process.env);
  const running = config.databaseUrl ? null : runningEmbeddedPostgres(config.dataDir);
  const embedded = config.databaseUrl || running ? undefined : await startEmbeddedPostgres(config.dataDir);
  try {
    await runMigrations(config.databaseUrl ?? running ?? embedded!.url, { logger });
    logger.log('schema is up to date');
  } finally {
    await embedded?.stop();
  }
}

main().catch((e: Error) => {
  new Logger('Migrations').error(e instanceof ConfigurationError ? e.message : `migration failed: ${e.message}`);
  process.exit(1);
});

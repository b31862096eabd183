import './threadpool';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.setup';
import { CasConfig, loadCasConfig } from './config/cas-config';
import { ConfigurationError } from './config/env.validation';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  const started = Date.now();
  let config: CasConfig;
  try {
    config = loadCasConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigurationError) {
      logger.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  let embedded: EmbeddedDatabase | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir);
    config = { ...config, databaseUrl: embedded.url };
  }
  const app = await createApp(config);
  // Stop in order: stop accepting requests and close the pool, then the embedded cluster.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`);
    await app.close();
    if (embedded) {
      await embedded.stop();
      logger.log('embedded Postgres stopped');
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ port: config.port, host: '0.0.0.0' });
  logger.log(`CAS server ready at ${config.server.prefix}/login (port ${config.port}) in ${Date.now() - started} ms`);
}

bootstrap().catch((e: Error) => {
  new Logger('Bootstrap').error(`startup failed: ${e.message}`);
  process.exit(1);
});

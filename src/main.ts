import './threadpool';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { appLogger, createApp } from './app.setup';
import { CasConfig, loadCasConfig } from './config/cas-config';
import { ConfigurationError } from './config/env.validation';
import { resolveDatabase } from './database/resolve-database';

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
  // LOG_FORMAT=json from the first line after the configuration is read, not only once Nest starts.
  if (config.logFormat === 'json') Logger.overrideLogger(appLogger(config));
  announceDefaults(logger, config);
  const database = await resolveDatabase(config, { attachToRunning: false });
  config = { ...config, databaseUrl: database.url };
  const app = await createApp(config);
  // Stop in order: stop accepting requests and close the pool, then the embedded cluster.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`);
    await app.close();
    if (database.startedEmbedded) {
      await database.stop();
      logger.log('embedded Postgres stopped');
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ port: config.port, host: '0.0.0.0' });
  logger.log(`CAS server ready at ${config.server.prefix}/login (port ${config.port}) in ${Date.now() - started} ms`);
}

/**
 * What the defaults open, said once before anything starts: development mode (open registry, demo
 * user) and why, or why not and what that leaves closed. The registry importer says afterwards
 * whether the registry ended up empty.
 */
function announceDefaults(logger: Logger, config: CasConfig): void {
  const { development } = config;
  if (development.enabled) {
    const open = [
      config.developmentRegistryLocation ? 'the open development registry' : null,
      config.usingDefaultUsers ? 'the demo user casuser / Mellon' : null,
    ].filter(Boolean);
    logger.warn(
      `development mode (${development.reasons.join(', ')})` +
        (open.length ? `: ${open.join(' and ')} ${open.length > 1 ? 'are' : 'is'} on. Not for a server others can reach.` : ''),
    );
    return;
  }
  logger.log(`not a local development server (${development.reasons.join('; ')}): no development registry, no demo user`);
  if (config.users.length === 0) {
    logger.warn('no static users (CAS_AUTHN_ACCEPT_USERS unset): only accounts of the users table can log in (npm run users -- add <name>)');
  }
}

bootstrap().catch((e: unknown) => {
  new Logger('Bootstrap').error(`startup failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

import fastifyCookie from '@fastify/cookie';
import { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AdminModule } from './admin/admin.module';
import { AppModule } from './app.module';
import { ApiDocument } from './admin/api-document.controller';
import { AuthModule } from './auth/auth.module';
import { Clock } from './common/clock';
import { CasConfig } from './config/cas-config';
import { addSecurityHeaders } from './common/security-headers';
import { addAccessLog } from './common/access-log';
import { UnexpectedErrorFilter } from './common/unexpected-error.filter';
import { JsonLogger } from './common/json-logger';
import { requestIdGenerator, runWithRequestId } from './common/request-context';
import { CasMetrics, UNMATCHED_ROUTE } from './metrics/cas-metrics';

const MAX_URL_LENGTH = 8192;

export interface AppOverrides {
  clock?: Clock;
}

/** Builds the application exactly as production runs it; main.ts and the tests both use this. */
export async function createApp(config: CasConfig, overrides: AppOverrides = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, overrides.clock), fastifyAdapter(config), applicationOptions(config));
  await configureApp(app, config);
  return app;
}

/**
 * The HTTP server and its limits (T3): 64 KB bodies, 8 KB URLs (414), header and request timeouts
 * against slow clients. Exported, with applicationOptions, for tests that compile the module themselves.
 */
export function fastifyAdapter(config: CasConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 512 },
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // X-Forwarded-For counts only from the configured proxies (client IP for TGC pinning).
    // Absolute URLs come from CAS_SERVER_PREFIX; the Host header is never used for them.
    trustProxy: config.trustedProxies.length ? config.trustedProxies : false,
    return503OnClosing: true,
    // The request id of logs, errors and audit rows: X-Request-Id only from a trusted proxy.
    genReqId: requestIdGenerator(config.trustedProxies),
  });
}

export function applicationOptions(config: CasConfig): { logger: LogLevel[] | LoggerService; abortOnError: false } {
  return { logger: appLogger(config), abortOnError: false };
}

/** LOG_FORMAT=json: the JSON line logger; text: Nest's ConsoleLogger at LOG_LEVEL. */
export function appLogger(config: CasConfig): LogLevel[] | LoggerService {
  return config.logFormat === 'json' ? new JsonLogger(loggerLevels(config)) : loggerLevels(config);
}

export async function configureApp(app: NestFastifyApplication, config: CasConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyCookie);
  // First hook: every answer, refusals included, echoes the id; what runs for the request logs with it.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    runWithRequestId(req.id, done);
  });
  fastify.addHook('onRequest', async (req, reply) => {
    if (req.url.length > MAX_URL_LENGTH) {
      await reply.code(414).header('content-type', 'text/plain; charset=utf-8').send('URI too long\n');
    }
  });
  addSecurityHeaders(fastify);
  // HTTP latency by route pattern (never the URL as sent: bounded labels), after the answer left.
  const metrics = app.get(CasMetrics);
  fastify.addHook('onResponse', (req, reply, done) => {
    metrics.httpAnswered(req.method, req.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  if (config.accessLog) addAccessLog(fastify, config.logFormat);
  app.setGlobalPrefix(config.server.contextPath.replace(/^\//, ''));
  app.useGlobalFilters(new UnexpectedErrorFilter());
  serveAdminApiDocument(app);
  await app.init();
  await fastify.ready();
}

/** The OpenAPI document of the administration API, generated from its controllers once at boot. */
function serveAdminApiDocument(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('CAS server administration API')
      .setDescription('SSO sessions, single logout, registered services and audit, under /actuator. Bearer tokens from CAS_ADMIN_TOKENS.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
    { include: [AdminModule, AuthModule] },
  );
  app.get(ApiDocument).set(document);
}

function loggerLevels(config: CasConfig): LogLevel[] {
  const order = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return order.slice(0, order.indexOf(config.logLevel) + 1);
}

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { applicationOptions, configureApp, createApp, fastifyAdapter } from '../../src/app.setup';
import { AUTHENTICATION_HANDLERS, type AuthenticationHandler } from '../../src/auth/handlers/authentication-handler';
import { CasConfig, loadCasConfig } from '../../src/config/cas-config';
import { MutableClock } from './mutable-clock';
import { createTestDatabase } from './test-database';
import { TEST_SERVICES } from './test-services';

export interface TestApp {
  app: NestFastifyApplication;
  config: CasConfig;
  clock: MutableClock;
  /** A plain pg client on the app's database, for asserting on rows. */
  sql: Client;
  close(): Promise<void>;
}

export const TEST_KEYS = {
  CAS_TGC_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  CAS_TGC_CRYPTO_SIGNING_KEY: randomBytes(64).toString('base64url'),
};

export interface TestAppOptions {
  env?: Record<string, string>;
  services?: Record<string, unknown>[];
  /** Reuse an existing database (several apps on one database = several nodes). */
  databaseUrl?: string;
  /**
   * Replaces the authentication chain's handler list (AUTHENTICATION_HANDLERS): `factory` gets the
   * providers named in `inject` (e.g. the real handlers) and returns the list.
   */
  authenticationHandlers?: { inject: unknown[]; factory: (...providers: never[]) => AuthenticationHandler[] };
}

/** The real application (createApp, as main.ts builds it) on its own fresh database. */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => undefined } : await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'cas-test-'));
  const servicesDir = join(dir, 'services');
  require('node:fs').mkdirSync(servicesDir);
  (opts.services ?? TEST_SERVICES).forEach((s, i) => writeFileSync(join(servicesDir, `service-${i}.json`), JSON.stringify(s)));
  const config = loadCasConfig({
    DATABASE_URL: db.url,
    CAS_DATA_DIR: join(dir, 'data'),
    CAS_SERVICE_REGISTRY_JSON_LOCATION: servicesDir,
    LOG_LEVEL: 'error',
    // DATABASE_URL is set, so this is not development mode and there is no demo user by default:
    // the suites log in as casuser, so name it explicitly (its demo attributes still apply).
    CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
    // Tests may reach loopback only: single logout would POST to the registered services' URLs,
    // so it is off unless a suite whose services are local capture servers switches it on.
    CAS_SLO_DISABLED: 'true',
    // Tests move the clock by hours; a cleaner firing mid-test would change the rows they count.
    CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false',
    ...TEST_KEYS,
    ...opts.env,
  });
  const clock = new MutableClock();
  const app = opts.authenticationHandlers ? await createAppWithHandlers(config, clock, opts.authenticationHandlers) : await createApp(config, { clock });
  const sql = new Client({ connectionString: db.url });
  sql.on('error', () => undefined);
  await sql.connect();
  return {
    app,
    config,
    clock,
    sql,
    async close() {
      await sql.end();
      await app.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** createApp with the AUTHENTICATION_HANDLERS provider overridden: Nest's testing module, the same adapter and setup. */
async function createAppWithHandlers(config: CasConfig, clock: MutableClock, handlers: NonNullable<TestAppOptions['authenticationHandlers']>): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config, clock)] })
    .overrideProvider(AUTHENTICATION_HANDLERS)
    .useFactory({ factory: handlers.factory as (...args: unknown[]) => AuthenticationHandler[], inject: handlers.inject as never[] })
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(config), applicationOptions(config));
  await configureApp(app, config);
  return app;
}

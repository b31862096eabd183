// Issue 10, item 1: the open development registry and the demo user only on an evidently local
// development server; anywhere else the server starts empty and says how to add a service.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.setup';
import { loadCasConfig } from '../../src/config/cas-config';
import { DEVELOPMENT_SERVICE_ID, ServiceRegistryImporter } from '../../src/services/service-registry.importer';
import { Browser, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { buildServer, closeHttpAgent, HttpBrowser, ServerProcess, startServerProcess } from '../helpers/server-process';
import { startTestApp, TEST_KEYS, TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';

const ROOT = join(__dirname, '..', '..');
const EVIL = '/cas/login?service=https%3A%2F%2Fevil.example%2F&gateway=true';

describe('a server that is not a local development server (DATABASE_URL set, registry location and users unset)', () => {
  let build: ReturnType<typeof buildServer> | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let node: ServerProcess | undefined;

  beforeAll(async () => {
    build = buildServer();
    db = await createTestDatabase();
    // '' unsets the helper's defaults: the registry location and the users are the server's own.
    node = await startServerProcess(build.mainJs, { DATABASE_URL: db.url, ...TEST_KEYS, CAS_SERVICE_REGISTRY_JSON_LOCATION: '', CAS_AUTHN_ACCEPT_USERS: '' });
  }, 60_000);

  afterAll(async () => {
    closeHttpAgent();
    await node?.stop();
    await db?.drop();
    build?.remove();
  }, 30_000);

  it("answers /login?service=https://evil.example/&gateway=true with CAS's not-authorized page, no redirect", async () => {
    const res = await fetch(`${node!.url}${EVIL}`, { redirect: 'manual' });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('Application not authorized to use CAS');
  });

  it('refuses casuser / Mellon', async () => {
    const browser = new HttpBrowser();
    const res = await browser.login(node!.url, 'casuser', 'Mellon');
    expect(res.status).toBe(401);
    expect(res.location).toBeNull();
    expect(browser.cookies.has('TGC')).toBe(false);
  });

  it('says at boot why it is not in development mode, that the registry is empty, and how to add a service', () => {
    const out = node!.output();
    expect(out).toContain('not a local development server (DATABASE_URL is set): no development registry, no demo user');
    expect(out).toContain('the service registry is empty: every application is refused');
    expect(out).toContain(`Add a service as a CAS JSON file in ${join(ROOT, 'services')} (CAS_SERVICE_REGISTRY_JSON_LOCATION)`);
    expect(out).toContain('POST it to http://localhost:8080/cas/actuator/registeredServices');
    expect(out).toContain('no static users (CAS_AUTHN_ACCEPT_USERS unset)');
    expect(out).not.toContain('casuser is enabled');
    expect(out).not.toContain('the open development registry');
  });
});

describe('a fresh clone (`npm start`: prefix http://localhost:8080/cas, no DATABASE_URL, nothing set)', () => {
  let app: NestFastifyApplication;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'cas-dev-'));
    // As main.ts does: the configuration of an unset environment, then the embedded database's URL
    // (here the suite's Postgres, so no second cluster is started). Relative paths resolve from the
    // checkout, as they do for `npm start`.
    const config = loadCasConfig({ CAS_DATA_DIR: dir, LOG_LEVEL: 'error', CAS_SLO_DISABLED: 'true', CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false', ...TEST_KEYS });
    expect(config.development.enabled).toBe(true);
    app = await createApp({ ...config, databaseUrl: db.url }, { clock: new MutableClock() });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('still has the open development registry and the demo user, as the README quick start says', async () => {
    expect((await app.inject({ method: 'GET', url: '/cas/login?service=https%3A%2F%2Fapp.example.org%2F' })).statusCode).toBe(200);
    const res = await new Browser(app).login('casuser', 'Mellon', 'http://localhost:3000/');
    expect(ticketOf(res)).toMatch(/^ST-/);
  });
});

describe('an open development service left in the table by an earlier version (the old image imported it everywhere)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ services: [] });
  });
  afterAll(() => t.close());

  it('is removed at the next boot that does not import it; one changed through the API is kept', async () => {
    const old = JSON.parse(readFileSync(join(ROOT, 'dev', 'services', 'Development-1.json'), 'utf8'));
    await t.sql.query(
      `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
       VALUES (1, 'Development', $1, 10000, true, $2, 'json'), (2, 'Kept', $1, 10001, true, $3, 'api')`,
      [DEVELOPMENT_SERVICE_ID, JSON.stringify(old), JSON.stringify({ ...old, id: 2, name: 'Kept' })],
    );
    await t.app.get(ServiceRegistryImporter).onModuleInit();
    const { rows } = await t.sql.query(`SELECT id, source FROM registered_services ORDER BY id`);
    expect(rows).toEqual([{ id: '2', source: 'api' }]);
    await t.sql.query(`DELETE FROM registered_services WHERE id = 2`);
    await t.app.get(ServiceRegistryImporter).onModuleInit();
    const res = await t.app.inject({ method: 'GET', url: EVIL });
    expect(res.statusCode).toBe(403);
    expect(res.headers.location).toBeUndefined();
  });
});

describe('what ships', () => {
  const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

  it('the Docker image and the compose file carry neither the development registry nor the demo user', () => {
    for (const file of ['Dockerfile', 'docker-compose.yml']) {
      const text = read(file);
      expect(text).not.toMatch(/Development-1|casuser|Mellon/);
      expect(text).not.toMatch(/COPY\s+dev\b|\.\/dev[/:]/);
    }
    expect(read('docker-compose.yml')).toMatch(/CAS_AUTHN_ACCEPT_USERS: \$\{CAS_AUTHN_ACCEPT_USERS:-\}\n/);
    expect(read('.dockerignore').split('\n')).toContain('dev');
    // The default registry location (copied into the image, mounted by compose) holds no service.
    expect(readdirSync(join(ROOT, 'services')).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('the development registry file is the one the server recognises as such', () => {
    expect(existsSync(join(ROOT, 'dev', 'services', 'Development-1.json'))).toBe(true);
    expect(JSON.parse(read('dev/services/Development-1.json')).serviceId).toBe(DEVELOPMENT_SERVICE_ID);
  });
});

// The registered-service registry against a real Postgres: JSON files imported at boot into
// registered_services (whole definition in jsonb), bad files reported without stopping the
// others, upsert by id, evaluationOrder deciding between overlapping patterns, and /login
// refusing a URL whose matching service is disabled.
import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceRegistry } from '../../src/services/service-registry';
import { ServiceRegistryImporter } from '../../src/services/service-registry.importer';
import { startTestApp, TestApp } from '../helpers/test-app';

const svc = (id: number, serviceId: string, evaluationOrder: number, extra: Record<string, unknown> = {}) => ({
  '@class': 'org.apereo.cas.services.CasRegisteredService',
  id,
  name: `s${id}`,
  serviceId,
  evaluationOrder,
  ...extra,
});
const DISABLED = { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false } };

const RICH = svc(16, '^https://rich\\.example\\.org/.*', 20, {
  description: 'kept whole',
  theme: 'y',
  informationUrl: 'https://rich.example.org/info',
  proxyPolicy: { '@class': 'org.apereo.cas.services.RefuseRegisteredServiceProxyPolicy' },
  attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy', allowedAttributes: ['java.util.ArrayList', ['mail']] },
  properties: { '@class': 'java.util.HashMap', owner: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProperty', values: ['java.util.HashSet', ['it']] } },
});

// Written in this order as service-0.json … service-6.json: the files that should win come
// later, so file order cannot be what decides.
const SERVICES = [
  svc(10, '^https://shop\\.example\\.org/.*', 50),
  svc(11, '^https://shop\\.example\\.org/admin/.*', 5, DISABLED),
  svc(13, '^https://portal\\.example\\.org/legacy/.*', 9, DISABLED),
  svc(12, '^https://portal\\.example\\.org/.*', 1),
  svc(14, '^https://disabled\\.example\\.org/.*', 3, DISABLED),
  svc(15, '^https://(unclosed\\.example\\.org/.*', 1),
  RICH,
];

/** Captures Logger#error lines (silenced) while `fn` runs. */
async function loggedErrors(fn: () => Promise<unknown>): Promise<string[]> {
  const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  try {
    await fn();
    return spy.mock.calls.map((c) => String(c[0]));
  } finally {
    spy.mockRestore();
  }
}

describe('service registry (Postgres)', () => {
  let t: TestApp;
  let bootErrors: string[];
  const tempDirs: string[] = [];

  beforeAll(async () => {
    bootErrors = await loggedErrors(async () => {
      t = await startTestApp({ services: SERVICES });
    });
  });
  afterAll(async () => {
    tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
    await t?.close();
  });

  const registry = () => t.app.get(ServiceRegistry);
  const importer = () => t.app.get(ServiceRegistryImporter);
  const login = (service: string) => t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(service)}` });

  /** A fresh directory holding the given files (name -> text). */
  function dirWith(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'cas-services-'));
    tempDirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('imports every valid file at boot, reports the one with a bad regex, and keeps the others', async () => {
    expect(bootErrors.some((m) => m.includes('service-5.json') && m.includes('serviceId'))).toBe(true);
    const { rows } = await t.sql.query(`SELECT id FROM registered_services ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['10', '11', '12', '13', '14', '16']);
    expect(registry().match('https://shop.example.org/cart')?.id).toBe(10);
    expect((await login('https://shop.example.org/cart')).statusCode).toBe(200);
  });

  it('stores each definition in typed columns and whole in jsonb', async () => {
    const { rows } = await t.sql.query(
      `SELECT id, name, service_id, evaluation_order, enabled, source, definition FROM registered_services WHERE id IN (11, 16) ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: '11', name: 's11', service_id: '^https://shop\\.example\\.org/admin/.*', evaluation_order: 5, enabled: false, source: 'json', definition: SERVICES[1] },
      { id: '16', name: 's16', service_id: '^https://rich\\.example\\.org/.*', evaluation_order: 20, enabled: true, source: 'json', definition: RICH },
    ]);
    const { rows: typed } = await t.sql.query(`SELECT jsonb_typeof(definition) AS type, definition->>'theme' AS theme FROM registered_services WHERE id = 16`);
    expect(typed).toEqual([{ type: 'object', theme: 'y' }]);
  });

  it('lets the lowest evaluationOrder win between overlapping patterns, whatever the file order', async () => {
    // Service 11 (order 5, disabled) beats service 10 (order 50) on /admin/.
    expect(registry().match('https://shop.example.org/admin/x')?.id).toBe(11);
    expect(registry().match('https://shop.example.org/cart')?.id).toBe(10);
    // Service 12 (order 1) beats service 13 (order 9, disabled) everywhere on the portal.
    expect(registry().match('https://portal.example.org/legacy/x')?.id).toBe(12);
    expect(registry().match('https://elsewhere.example.org/')).toBeNull();
    // The same decision is what /login acts on.
    expect((await login('https://shop.example.org/admin/x')).statusCode).toBe(403);
    expect((await login('https://portal.example.org/legacy/x')).statusCode).toBe(200);
  });

  it('refuses /login with 403 for a URL matching only a disabled service (no form, no flow cookie)', async () => {
    const res = await login('https://disabled.example.org/app');
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('not authorized');
    expect(res.body).not.toContain('name="execution"');
    expect(String(res.headers['set-cookie'] ?? '')).not.toContain('CASLOGIN');
    expect(registry().match('https://disabled.example.org/app')?.enabled).toBe(false);
    expect(registry().authorized('https://disabled.example.org/app')).toBeNull();
    // Unregistered is refused the same way.
    expect((await login('https://unknown.example.org/app')).statusCode).toBe(403);
  });

  it('reports a malformed JSON file and a bad regex by file name and reason, and imports the others', async () => {
    const dir = dirWith({
      'a-good.json': JSON.stringify(svc(20, '^https://twenty\\.example\\.org/.*', 1)),
      'broken.json': '{ "@class": "org.apereo.cas.services.CasRegisteredService", "id": 21, ',
      'bad-regex.json': JSON.stringify(svc(22, '^https://[z-a]\\.example\\.org/.*', 1)),
      'z-good.json': JSON.stringify(svc(23, '^https://twentythree\\.example\\.org/.*', 1)),
      'notes.txt': 'not a service',
    });
    let result: unknown;
    const errors = await loggedErrors(async () => {
      result = await importer().importDirectory(dir);
    });
    expect(result).toEqual({ imported: 2, failed: 2 });
    expect(errors.some((m) => m.includes('broken.json') && /JSON/.test(m))).toBe(true);
    expect(errors.some((m) => m.includes('bad-regex.json') && m.includes('serviceId'))).toBe(true);
    expect(errors.some((m) => m.includes('notes.txt'))).toBe(false);
    const { rows } = await t.sql.query(`SELECT id FROM registered_services WHERE id BETWEEN 20 AND 23 ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['20', '23']);
    await registry().reload();
    expect(registry().match('https://twentythree.example.org/x')?.id).toBe(23);
  });

  it('boots (import + reload) past a malformed file in the registry directory', async () => {
    const broken = join(t.config.serviceRegistryLocation, 'broken.json');
    writeFileSync(broken, '{ nope');
    try {
      const errors = await loggedErrors(() => importer().onModuleInit());
      expect(errors.some((m) => m.includes('broken.json'))).toBe(true);
      expect(registry().match('https://shop.example.org/cart')?.id).toBe(10);
      expect((await login('https://portal.example.org/x')).statusCode).toBe(200);
    } finally {
      unlinkSync(broken);
    }
  });

  it('re-import upserts by id: no duplicate rows, the definition replaced, created_at kept', async () => {
    const first = dirWith({ 's30.json': JSON.stringify(svc(30, '^https://thirty\\.example\\.org/.*', 7)) });
    await expect(importer().importDirectory(first)).resolves.toEqual({ imported: 1, failed: 0 });
    await expect(importer().importDirectory(first)).resolves.toEqual({ imported: 1, failed: 0 });
    const before = await t.sql.query(`SELECT created_at FROM registered_services WHERE id = 30`);
    expect(before.rows).toHaveLength(1);

    const changed = svc(30, '^https://thirty\\.example\\.org/v2/.*', 8, { name: 'thirty v2', theme: 'new' });
    await importer().importDirectory(dirWith({ 'renamed-file.json': JSON.stringify(changed) }));
    const { rows } = await t.sql.query(
      `SELECT name, service_id, evaluation_order, definition, created_at, updated_at > created_at AS updated FROM registered_services WHERE id = 30`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'thirty v2', service_id: '^https://thirty\\.example\\.org/v2/.*', evaluation_order: 8, definition: changed, updated: true });
    expect(rows[0].created_at).toEqual(before.rows[0].created_at);

    // Two files with the same id in one directory: still one row.
    await importer().importDirectory(
      dirWith({ 'a.json': JSON.stringify(svc(31, '^https://a31\\.example\\.org/.*', 1)), 'b.json': JSON.stringify(svc(31, '^https://b31\\.example\\.org/.*', 1)) }),
    );
    const dup = await t.sql.query(`SELECT count(*)::int AS n FROM registered_services WHERE id = 31`);
    expect(dup.rows).toEqual([{ n: 1 }]);
  });

  it('a re-import that disables a service takes effect at reload: /login then refuses it', async () => {
    await importer().importDirectory(dirWith({ 's40.json': JSON.stringify(svc(40, '^https://forty\\.example\\.org/.*', 1)) }));
    await registry().reload();
    expect((await login('https://forty.example.org/x')).statusCode).toBe(200);

    await importer().importDirectory(dirWith({ 's40.json': JSON.stringify(svc(40, '^https://forty\\.example\\.org/.*', 1, DISABLED)) }));
    const row = await t.sql.query(`SELECT enabled FROM registered_services WHERE id = 40`);
    expect(row.rows).toEqual([{ enabled: false }]);
    await registry().reload();
    expect((await login('https://forty.example.org/x')).statusCode).toBe(403);
  });

  it('skips (and reports) a stored row that no longer parses at reload; the others still work', async () => {
    await t.sql.query(
      `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
       VALUES (50, 'broken', '^https://fifty\\.example\\.org/.*', 0, true, '{"@class": "org.example.Unknown"}', 'api')`,
    );
    try {
      const errors = await loggedErrors(() => registry().reload());
      expect(errors.some((m) => m.includes('50') && m.includes('@class'))).toBe(true);
      expect(registry().findById(50)).toBeNull();
      expect(registry().match('https://fifty.example.org/x')).toBeNull();
      expect(registry().match('https://shop.example.org/cart')?.id).toBe(10);
      expect((await login('https://portal.example.org/x')).statusCode).toBe(200);
    } finally {
      await t.sql.query(`DELETE FROM registered_services WHERE id = 50`);
      await registry().reload();
    }
  });
});

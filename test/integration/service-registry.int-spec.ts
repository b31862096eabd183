import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
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

describe('service registry import', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      services: [svc(10, '^https://shop\\.example\\.org/.*', 50), svc(11, '^https://shop\\.example\\.org/admin/.*', 5, { description: 'x', theme: 'y' })],
    });
  });
  afterAll(() => t.close());

  it('stores every definition whole, in typed columns and jsonb', async () => {
    const { rows } = await t.sql.query(`SELECT id, name, service_id, evaluation_order, enabled, source, definition->>'theme' AS theme FROM registered_services ORDER BY id`);
    expect(rows).toEqual([
      { id: '10', name: 's10', service_id: '^https://shop\\.example\\.org/.*', evaluation_order: 50, enabled: true, source: 'json', theme: null },
      { id: '11', name: 's11', service_id: '^https://shop\\.example\\.org/admin/.*', evaluation_order: 5, enabled: true, source: 'json', theme: 'y' },
    ]);
  });

  it('picks the lowest evaluationOrder among matches', () => {
    const registry = t.app.get(ServiceRegistry);
    expect(registry.match('https://shop.example.org/admin/x')?.id).toBe(11);
    expect(registry.match('https://shop.example.org/cart')?.id).toBe(10);
    expect(registry.match('https://elsewhere.org/')).toBeNull();
  });

  it('reports a malformed file by name and reason and imports the others; upserts by id', async () => {
    const dir = t.config.serviceRegistryLocation;
    writeFileSync(join(dir, 'broken.json'), '{ "id": 12, ');
    writeFileSync(join(dir, 'bad-regex.json'), JSON.stringify(svc(13, '^(unclosed', 1)));
    writeFileSync(join(dir, 'service-0.json'), JSON.stringify(svc(10, '^https://shop\\.example\\.org/.*', 7)));
    writeFileSync(join(dir, 'new.json'), JSON.stringify(svc(14, '^https://new\\.example\\.org/.*', 1)));
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const result = await t.app.get(ServiceRegistryImporter).importDirectory(dir);
    const logged = errors.mock.calls.map((c) => String(c[0]));
    errors.mockRestore();
    expect(result).toEqual({ imported: 3, failed: 2 });
    expect(logged.some((m) => m.includes('broken.json') && /JSON/.test(m))).toBe(true);
    expect(logged.some((m) => m.includes('bad-regex.json') && m.includes('serviceId'))).toBe(true);
    const { rows } = await t.sql.query(`SELECT id, evaluation_order FROM registered_services ORDER BY id`);
    expect(rows).toEqual([
      { id: '10', evaluation_order: 7 },
      { id: '11', evaluation_order: 5 },
      { id: '14', evaluation_order: 1 },
    ]);
    await t.app.get(ServiceRegistry).reload();
    expect(t.app.get(ServiceRegistry).match('https://new.example.org/x')?.id).toBe(14);
  });
});

import { ServiceRegistry } from '../../src/services/service-registry';
import { startTestApp, TestApp } from '../helpers/test-app';
import { serviceFor } from '../helpers/test-services';

/** The registry methods the console's Services pages use, on the real table. */
describe('ServiceRegistry for the console', () => {
  let t: TestApp;
  let registry: ServiceRegistry;
  beforeAll(async () => {
    t = await startTestApp({
      services: [
        serviceFor(1, 'a.example.org'),
        serviceFor(2, 'b.example.org', { evaluationOrder: 1 }),
        serviceFor(3, 'c.example.org'),
        serviceFor(4, 'off.example.org', { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false } }),
        // Matches every https URL, tried last: shadowed by any earlier match.
        { ...serviceFor(9, 'catch-all'), serviceId: '^https://.*', evaluationOrder: 100 },
      ],
    });
    registry = t.app.get(ServiceRegistry);
  });
  afterAll(() => t.close());

  const loginStatus = async (service: string) => (await t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(service)}` })).statusCode;

  it('pages the stored services in evaluation order, by keyset, listing a row that no longer parses with its problem', async () => {
    await t.sql.query(
      `INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source)
       VALUES (7, 'broken', '(', 50, true, $1, 'api')`,
      [JSON.stringify({ ...serviceFor(7, 'broken'), serviceId: '(', evaluationOrder: 50 })],
    );
    const first = await registry.page(undefined, 2);
    // Order 1 twice (ids 1 and 2, then by name: a.example.org before b.example.org).
    expect(first.services.map((s) => s.id)).toEqual([1, 2]);
    expect(first.more).toBe(true);
    const second = await registry.page(2, 2);
    expect(second.services.map((s) => s.id)).toEqual([3, 4]);
    const third = await registry.page(4, 2);
    expect(third.services.map((s) => s.id)).toEqual([7, 9]);
    expect(third.more).toBe(false);
    const broken = third.services[0];
    expect(broken.service).toBeNull();
    expect(broken.problem).toMatch(/^serviceId: invalid regular expression/);
    expect(broken.source).toBe('api');
    expect(third.services[1].service?.name).toBe('catch-all');
    await t.sql.query(`DELETE FROM registered_services WHERE id = 7`);
  });

  it('reads one stored service, or null', async () => {
    expect((await registry.stored(4))?.service?.enabled).toBe(false);
    expect(await registry.stored(404)).toBeNull();
    expect(await registry.nextId()).toBe(10);
  });

  it('explains a URL as /login decides it: not a URL, no match, the first match disabled or used, and what it shadows', () => {
    expect(registry.explain('javascript:alert(1)')).toEqual({ kind: 'unusable' });
    expect(registry.explain('http://plain.example.org/')).toEqual({ kind: 'none' });
    const off = registry.explain('https://off.example.org/x');
    expect(off.kind).toBe('disabled');
    const used = registry.explain('https://b.example.org/x');
    expect(used).toMatchObject({ kind: 'authorized', service: { id: 2 } });
    expect(used.kind !== 'none' && used.kind !== 'unusable' && used.shadowed.map((s) => s.id)).toEqual([9]);
  });

  it('switches accessStrategy.enabled in the stored definition, used by /login at once, and counts it as an API change', async () => {
    expect(await loginStatus('https://c.example.org/x')).toBe(200);
    const off = await registry.setEnabled(3, false);
    expect(off?.enabled).toBe(false);
    expect(await loginStatus('https://c.example.org/x')).toBe(403);
    const row = await t.sql.query(`SELECT enabled, source, definition FROM registered_services WHERE id = 3`);
    expect(row.rows[0]).toMatchObject({
      enabled: false,
      source: 'api',
      definition: { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false } },
    });
    await registry.setEnabled(3, true);
    expect(await loginStatus('https://c.example.org/x')).toBe(200);
    // An existing access strategy keeps its other rules.
    await registry.setEnabled(4, true);
    expect((await registry.definition(4))?.accessStrategy).toEqual({ '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: true });
    expect(await registry.setEnabled(404, true)).toBeNull();
  });
});

import { startTestApp, TestApp } from '../helpers/test-app';

const def = (id: number, host: string, extra: Record<string, unknown> = {}) => ({
  '@class': 'org.apereo.cas.services.CasRegisteredService',
  id,
  name: host,
  serviceId: `^https://${host.replace(/\./g, '\\.')}/.*`,
  evaluationOrder: id,
  ...extra,
});

describe('/actuator/registeredServices', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ services: [def(1, 'files.example.org')] });
    b = await startTestApp({ databaseUrl: a.config.databaseUrl, services: [def(1, 'files.example.org')] });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const call = (t: TestApp, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({ method, url: `/cas/actuator/registeredServices${url}`, payload: payload as object, headers: payload ? { 'content-type': 'application/json' } : {} });
  const loginStatus = async (t: TestApp, service: string) => (await t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(service)}` })).statusCode;

  /** Bounded wait for another node to see a change (it checks every second). */
  async function eventually(check: () => Promise<boolean>, ms = 2500): Promise<number> {
    const start = Date.now();
    while (!(await check())) {
      if (Date.now() - start > ms) throw new Error('not seen in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    return Date.now() - start;
  }

  it('lists and reads definitions in CAS JSON format', async () => {
    const list = await call(a, 'GET', '');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([def(1, 'files.example.org')]);
    expect((await call(a, 'GET', '/1')).json()).toEqual(def(1, 'files.example.org'));
    expect((await call(a, 'GET', '/99')).statusCode).toBe(404);
    expect((await call(a, 'GET', '/abc')).statusCode).toBe(400);
  });

  it('creates a service on one node that the other uses within about a second', async () => {
    expect(await loginStatus(b, 'https://wiki.example.org/')).toBe(403);
    const res = await call(a, 'POST', '', def(2, 'wiki.example.org'));
    expect(res.statusCode).toBe(201);
    expect(await loginStatus(a, 'https://wiki.example.org/')).toBe(200);
    const waited = await eventually(async () => (await loginStatus(b, 'https://wiki.example.org/')) === 200);
    expect(waited).toBeLessThan(2000);
    expect((await call(a, 'POST', '', def(2, 'wiki.example.org'))).statusCode).toBe(409);
  });

  it('replaces and deletes, seen by the other node', async () => {
    const put = await call(b, 'PUT', '/2', def(2, 'wiki.example.org', { accessStrategy: { enabled: false } }));
    expect(put.statusCode).toBe(200);
    await eventually(async () => (await loginStatus(a, 'https://wiki.example.org/')) === 403);
    expect((await call(b, 'PUT', '/3', def(2, 'wiki.example.org'))).statusCode).toBe(400);
    expect((await call(a, 'DELETE', '/2')).json()).toEqual({ status: 200, id: 2 });
    expect((await call(a, 'DELETE', '/2')).statusCode).toBe(404);
    await eventually(async () => (await call(b, 'GET', '/2')).statusCode === 404);
  });

  it('refuses invalid definitions with a 400 naming the field, storing nothing', async () => {
    const before = (await call(a, 'GET', '')).json();
    for (const [body, field] of [
      [def(5, 'x.example.org', { serviceId: '^(unclosed' }), 'serviceId'],
      [{ ...def(5, 'x.example.org'), '@class': 'org.example.Nope' }, '@class'],
      [def(5, 'x.example.org', { accessStrategy: { enabled: 'maybe' } }), 'accessStrategy.enabled'],
      ['not json', ''],
    ] as [unknown, string][]) {
      const res = await a.app.inject({
        method: 'POST',
        url: '/cas/actuator/registeredServices',
        headers: { 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain(field);
    }
    expect((await call(a, 'GET', '')).json()).toEqual(before);
  });

  it('keeps API changes over the JSON directory at the next boot, unless told to overwrite', async () => {
    await call(a, 'PUT', '/1', def(1, 'files.example.org', { description: 'changed through the API' }));
    const c = await startTestApp({ databaseUrl: a.config.databaseUrl, services: [def(1, 'files.example.org')] });
    try {
      expect((await call(c, 'GET', '/1')).json().description).toBe('changed through the API');
    } finally {
      await c.close();
    }
    const d = await startTestApp({ databaseUrl: a.config.databaseUrl, services: [def(1, 'files.example.org')], env: { SERVICE_REGISTRY_IMPORT_OVERWRITE: 'true' } });
    try {
      expect((await call(d, 'GET', '/1')).json().description).toBeUndefined();
    } finally {
      await d.close();
    }
  });

  it('is not open to anonymous remote clients', async () => {
    const res = await a.app.inject({ method: 'GET', url: '/cas/actuator/registeredServices', remoteAddress: '192.0.2.1' });
    expect(res.statusCode).toBe(401);
  });
});

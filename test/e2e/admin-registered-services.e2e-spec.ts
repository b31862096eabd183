import { EventEmitter } from 'node:events';
import { ServiceRegistry } from '../../src/services/service-registry';
import { startTestApp, TestApp } from '../helpers/test-app';
import { serviceFor } from '../helpers/test-services';

const def = serviceFor;

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

  /** Emits 'reloaded' each time this node's registry has reloaded (its own poll, or its own change). */
  const reloads = new Map<TestApp, EventEmitter>();
  function reloadEvents(t: TestApp): EventEmitter {
    let events = reloads.get(t);
    if (!events) {
      const registry = t.app.get(ServiceRegistry);
      const reload = registry.reload.bind(registry);
      const emitter = new EventEmitter();
      jest.spyOn(registry, 'reload').mockImplementation(async () => {
        await reload();
        emitter.emit('reloaded');
      });
      reloads.set(t, (events = emitter));
    }
    return events;
  }

  /**
   * Waits for the event itself: each round waits for node t to reload its registry (it polls the
   * version every 500 ms), never for a stretch of time. The listener is set before the check, so a
   * reload landing during the check is not missed.
   */
  async function seenBy(t: TestApp, check: () => Promise<boolean>): Promise<void> {
    const events = reloadEvents(t);
    for (;;) {
      const reloaded = new Promise<void>((r) => events.once('reloaded', r));
      if (await check()) return;
      await reloaded;
    }
  }

  it('lists and reads definitions in CAS JSON format', async () => {
    const list = await call(a, 'GET', '');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([def(1, 'files.example.org')]);
    expect((await call(a, 'GET', '/1')).json()).toEqual(def(1, 'files.example.org'));
    expect((await call(a, 'GET', '/99')).statusCode).toBe(404);
    expect((await call(a, 'GET', '/abc')).statusCode).toBe(400);
  });

  it('every node polls the registry version twice a second, so a change is used everywhere within a second', () => {
    // @nestjs/schedule's @Interval metadata on the poll: the bound, read from the code, not timed.
    expect(Reflect.getMetadata('SCHEDULE_INTERVAL_OPTIONS', ServiceRegistry.prototype.refreshIfChanged)).toEqual({ timeout: 500 });
  });

  it('creates a service on one node that the other uses after its next poll', async () => {
    expect(await loginStatus(b, 'https://wiki.example.org/')).toBe(403);
    const res = await call(a, 'POST', '', def(2, 'wiki.example.org'));
    expect(res.statusCode).toBe(201);
    expect(await loginStatus(a, 'https://wiki.example.org/')).toBe(200);
    await seenBy(b, async () => (await loginStatus(b, 'https://wiki.example.org/')) === 200);
    expect((await call(a, 'POST', '', def(2, 'wiki.example.org'))).statusCode).toBe(409);
  });

  it('replaces and deletes, seen by the other node', async () => {
    const put = await call(b, 'PUT', '/2', def(2, 'wiki.example.org', { accessStrategy: { enabled: false } }));
    expect(put.statusCode).toBe(200);
    await seenBy(a, async () => (await loginStatus(a, 'https://wiki.example.org/')) === 403);
    expect((await call(b, 'PUT', '/3', def(2, 'wiki.example.org'))).statusCode).toBe(400);
    // The body is checked before the path's id: a request wrong in both is told about its body.
    const both = await call(b, 'PUT', '/abc', { '@class': 'nope' });
    expect(both.statusCode).toBe(400);
    expect(both.json().message).toMatch(/^invalid service definition: @class/);
    expect((await call(b, 'PUT', '/abc', def(2, 'wiki.example.org'))).json().message).toBe('the service id must be a non-negative integer');
    expect((await call(a, 'DELETE', '/2')).json()).toEqual({ status: 200, id: 2 });
    expect((await call(a, 'DELETE', '/2')).statusCode).toBe(404);
    // GET reads the table, so this holds at once; b's in-memory registry drops it at its next reload.
    expect((await call(b, 'GET', '/2')).statusCode).toBe(404);
    await seenBy(b, async () => b.app.get(ServiceRegistry).findById(2) === null);
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

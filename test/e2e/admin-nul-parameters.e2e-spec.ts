import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * A NUL in a text parameter of the admin API: Postgres cannot hold one in text (error 22021), so
 * it must be refused as bad input (400 naming the parameter), not reach a query and end in a 500.
 */
describe('admin API: a NUL or control character in a parameter', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { host: 'localhost' } });

  it.each([
    // A NUL, in any parameter: refused by the admin pipe before the parameter's own rules.
    ['/cas/actuator/ssoSessions?username=a%00', "'username' must not contain a NUL character"],
    ['/cas/actuator/ssoSessions/summary?groupBy=user&username=%00', "'username' must not contain a NUL character"],
    ['/cas/actuator/ssoSessions/history?username=a%00', "'username' must not contain a NUL character"],
    // Another control character: the username filters' own rule.
    ['/cas/actuator/ssoSessions?username=a%01', "'username' must be at most 256 characters, without control characters"],
    ['/cas/actuator/ssoSessions/multipleIps?username=a%01b', "'username' must be at most 256 characters, without control characters"],
    ['/cas/actuator/ssoSessions/history?username=a%1Fb', "'username' must not contain control characters"],
  ])('%s is a 400 naming the parameter', async (url, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ status: 400, message });
  });

  it.each([
    ['DELETE', '/cas/actuator/ssoSessions?username=a%00', "'username' must not contain a NUL character"],
    ['GET', '/cas/actuator/ssoSessions?service=https://a%00b/', "'service' must not contain a NUL character"],
  ])('%s %s (a parameter without a control-character rule of its own) is a 400 naming it', async (method, url, message) => {
    const res = await t.app.inject({ method: method as 'GET', url, headers: { host: 'localhost' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ status: 400, message });
  });

  it('a service definition with a NUL anywhere is refused with a 400 naming the field, and nothing is stored', async () => {
    const before = (await t.sql.query(`SELECT count(*)::int AS n FROM registered_services`)).rows[0].n;
    const res = await t.app.inject({
      method: 'POST',
      url: '/cas/actuator/registeredServices',
      headers: { host: 'localhost' },
      payload: { '@class': 'org.apereo.cas.services.CasRegisteredService', serviceId: '^https://x\\.org/.*', name: 'a\u0000b', id: 77 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("'name' must not contain a NUL character");
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM registered_services`)).rows[0].n).toBe(before);
  });

  it('DELETE /actuator/throttles?username= refuses a NUL and other control characters with a 400', async () => {
    const nul = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/throttles?username=a%00', headers: { host: 'localhost' } });
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toEqual({ status: 400, message: "'username' must not contain a NUL character" });
    const control = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/throttles?username=a%07', headers: { host: 'localhost' } });
    expect(control.statusCode).toBe(400);
    expect(control.json()).toEqual({ status: 400, message: "'username' must not contain control characters" });
  });
});

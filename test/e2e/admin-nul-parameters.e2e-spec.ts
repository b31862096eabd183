import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * A NUL in a text parameter of the admin API: Postgres cannot hold one in text (error 22021), so
 * it must be refused as bad input (400 naming the parameter), not reach a query and end in a 500.
 */
describe('admin API: a NUL or control character in a username filter', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { host: 'localhost' } });

  it.each([
    ['/cas/actuator/ssoSessions?username=a%00', "'username' must be at most 256 characters, without control characters"],
    ['/cas/actuator/ssoSessions/summary?groupBy=user&username=%00', "'username' must be at most 256 characters, without control characters"],
    ['/cas/actuator/ssoSessions/multipleIps?username=a%01b', "'username' must be at most 256 characters, without control characters"],
    ['/cas/actuator/ssoSessions/history?username=a%00', "'username' must not contain control characters"],
  ])('%s is a 400 naming the parameter', async (url, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ status: 400, message });
  });
});

import { startTestApp, TestApp } from '../helpers/test-app';

describe('GET /cas/actuator/health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is public and reports the database up', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'UP', components: { db: { status: 'UP' } } });
  });

  it('answers 404 in JSON for an unknown path, without a stack trace', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ status: 404 });
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('refuses URLs over 8 KB with 414 and bodies over 64 KB with 413', async () => {
    const long = await t.app.inject({ method: 'GET', url: `/cas/login?service=${'a'.repeat(9000)}` });
    expect(long.statusCode).toBe(414);
    const big = await t.app.inject({
      method: 'POST',
      url: '/cas/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${'a'.repeat(70 * 1024)}`,
    });
    expect(big.statusCode).toBe(413);
  });
});

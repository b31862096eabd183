import { startTestApp, TestApp } from '../helpers/test-app';

const SECRET = '0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: `Bearer ${SECRET}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The request id: X-Request-Id is believed only from a TRUSTED_PROXIES peer (and only printable,
 * at most 128 characters), generated otherwise; echoed as X-Request-Id and stored on audit rows.
 */
describe('request id (X-Request-Id)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1,10.9.0.0/16', CAS_ADMIN_TOKENS: `ops:${SECRET}` } });
  });
  afterAll(() => t.close());

  const get = (url: string, remoteAddress: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, remoteAddress, headers });

  it('keeps and echoes the X-Request-Id of a trusted proxy (an address or a range of TRUSTED_PROXIES)', async () => {
    expect((await get('/cas/login', '127.0.0.1', { 'x-request-id': 'edge-7f3a:42' })).headers['x-request-id']).toBe('edge-7f3a:42');
    expect((await get('/cas/login', '10.9.3.4', { 'x-request-id': 'lb-1' })).headers['x-request-id']).toBe('lb-1');
  });

  it('replaces the X-Request-Id of any other peer by a generated one', async () => {
    const res = await get('/cas/login', '203.0.113.7', { 'x-request-id': 'chosen-by-client' });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('replaces an unprintable or over-long X-Request-Id even from a trusted proxy', async () => {
    for (const id of ['two words', 'x'.repeat(129), 'caf\u00e9']) {
      const res = await get('/cas/login', '127.0.0.1', { 'x-request-id': id });
      expect({ id, echoed: res.headers['x-request-id'] }).toEqual({ id, echoed: expect.stringMatching(UUID) });
    }
    expect((await get('/cas/login', '127.0.0.1', { 'x-request-id': 'x'.repeat(128) })).headers['x-request-id']).toBe('x'.repeat(128));
  });

  it('generates a new id per request when none is given, refusals included', async () => {
    const a = (await get('/cas/login', '203.0.113.7')).headers['x-request-id'];
    const b = (await get('/cas/actuator/ssoSessions', '203.0.113.7')).headers['x-request-id'];
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });

  it("stores the request's id on its admin audit row", async () => {
    const trusted = await get('/cas/actuator/ssoSessions', '127.0.0.1', { ...BEARER, 'x-request-id': 'audit-req-1' });
    expect(trusted.statusCode).toBe(200);
    const generated = await get('/cas/actuator/ssoSessions', '203.0.113.7', { 'x-request-id': 'forged' });
    expect(generated.statusCode).toBe(401);
    const { rows } = await t.sql.query<{ request_id: string; status: number }>(`SELECT request_id, status FROM admin_audit ORDER BY id DESC LIMIT 2`);
    expect(rows).toEqual([
      { request_id: generated.headers['x-request-id'], status: 401 },
      { request_id: 'audit-req-1', status: 200 },
    ]);
    expect(rows[0].request_id).toMatch(UUID);
  });
});

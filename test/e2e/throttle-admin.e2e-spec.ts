import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const ENV = {
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_ADMIN_TOKENS: TOKEN,
  CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,victim::victim-password,other::other-password',
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '20',
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
  AUTHN_THROTTLE_DEVICE_THRESHOLD: '2',
};

/** One login attempt (form + POST) from a given client address. */
const attempt = (b: Browser, username: string, password: string, ip: string) => b.loginFrom(ip, username, password, APP);

/** The administrator's way out of the account lockout: DELETE /actuator/throttles?username=. */
describe('DELETE /actuator/throttles', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ env: ENV });
  });
  afterEach(() => t.close());

  const clear = (query: string, headers: Record<string, string> = BEARER) =>
    t.app.inject({ method: 'DELETE', url: `/cas/actuator/throttles${query}`, headers });
  const lockOut = async (username: string) => {
    for (let i = 0; i < 3; i++) expect((await attempt(new Browser(t.app), username, 'nope', `198.51.100.${i + 1}`)).statusCode).toBe(401);
    expect((await attempt(new Browser(t.app), username, `${username}-password`, '198.51.100.9')).statusCode).toBe(429);
  };

  it('lifts a lockout: the next correct login succeeds; other accounts and IP counters are untouched; audited', async () => {
    await lockOut('victim');
    await lockOut('other');
    const res = await clear(`?username=${encodeURIComponent('VICTIM')}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ username: 'VICTIM', cleared: 1 });
    expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '198.51.100.10')).statusCode).toBe(302);
    expect((await attempt(new Browser(t.app), 'other', 'other-password', '198.51.100.10')).statusCode).toBe(429);
    const { rows: ips } = await t.sql.query(`SELECT failures FROM login_throttle WHERE key = 'ip:198.51.100.1'`);
    expect(ips).toEqual([{ failures: 2 }]);
    const { rows: audit } = await t.sql.query(
      `SELECT actor, action, status FROM admin_audit WHERE action = 'DELETE' AND target LIKE '/actuator/throttles%'`,
    );
    expect(audit).toEqual([{ actor: 'ops', action: 'DELETE', status: 200 }]);
  });

  it("clears the account's browsers too: a user who locked out their own browser (device counter) gets back in", async () => {
    const user = new Browser(t.app);
    expect((await attempt(user, 'victim', 'victim-password', '203.0.113.1')).statusCode).toBe(302);
    expect(user.cookies.get('CASDEVICE')).toBeDefined();
    user.cookies.delete('TGC');
    for (let i = 0; i < 2; i++) expect((await attempt(user, 'victim', 'forgot', '203.0.113.1')).statusCode).toBe(401);
    expect((await attempt(user, 'victim', 'victim-password', '203.0.113.1')).statusCode).toBe(429);
    // Another account's browser counters stay.
    const otherUser = new Browser(t.app);
    await attempt(otherUser, 'other', 'other-password', '203.0.113.2');
    otherUser.cookies.delete('TGC');
    await attempt(otherUser, 'other', 'forgot', '203.0.113.2');
    expect((await clear('?username=victim')).json()).toEqual({ username: 'victim', cleared: 2 });
    expect((await attempt(user, 'victim', 'victim-password', '203.0.113.1')).statusCode).toBe(302);
    const { rows } = await t.sql.query(`SELECT failures FROM login_throttle WHERE key LIKE 'device:%' AND failures > 0`);
    expect(rows).toEqual([{ failures: 1 }]);
  });

  it('answers an account with no counters with cleared: 0', async () => {
    expect((await clear('?username=nobody')).json()).toEqual({ username: 'nobody', cleared: 0 });
  });

  it('refuses a missing, blank, repeated or oversized username with 400 JSON, and callers without the token with 401; all audited', async () => {
    for (const query of ['', '?username=', '?username=%20%20', '?username=a&username=b', `?username=${'a'.repeat(257)}`]) {
      const res = await clear(query);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toMatchObject({ status: 400, message: expect.stringContaining("'username'") });
    }
    expect((await clear('?username=victim', {})).statusCode).toBe(401);
    const { rows } = await t.sql.query(`SELECT status, count(*)::int AS n FROM admin_audit WHERE action = 'DELETE' GROUP BY status ORDER BY status`);
    expect(rows).toEqual([{ status: 400, n: 5 }, { status: 401, n: 1 }]);
  });
});

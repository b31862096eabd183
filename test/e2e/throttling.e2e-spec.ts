import { PasswordHasher } from '../../src/auth/password-hasher';
import { Browser, setCookies } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const ENV = {
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,victim::victim-password,other::other-password',
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '6',
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
  AUTHN_THROTTLE_DEVICE_THRESHOLD: '2',
};

/** One login attempt (form + POST) from a given client address. */
const attempt = (b: Browser, username: string, password: string, ip: string) => b.loginFrom(ip, username, password, APP);

describe('login throttling', () => {
  let t: TestApp;
  let verify: jest.SpyInstance;
  beforeEach(async () => {
    t = await startTestApp({ env: ENV });
    verify = jest.spyOn(t.app.get(PasswordHasher), 'verify');
  });
  afterEach(() => t.close());

  it('(i) stops password checks on one account after the threshold: 429, Retry-After, before any hashing', async () => {
    const b = new Browser(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await attempt(b, 'victim', `guess-${i}`, '192.0.2.1')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    expect(verify).toHaveBeenCalledTimes(3);
    const res = await attempt(b, 'victim', 'victim-password', '192.0.2.1');
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toContain('Too many failed login attempts');
    expect(res.body).toContain('name="execution"');
  });

  it('tells the throttled user in how many minutes to try again: the real window, as Retry-After says', async () => {
    // Freeze the clock 121 s into a 600 s window (CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS): 479 s remain.
    t.clock.freeze();
    const windowMs = Number(ENV.CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS) * 1000;
    t.clock.advance((windowMs - (t.clock.now().getTime() % windowMs) + 121_000) / 1000);
    for (let i = 0; i < 3; i++) await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
    const res = await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
    expect(res.statusCode).toBe(429);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBe(479);
    expect(res.body).toContain('Too many failed login attempts. Try again in 8 minutes.');

    // 50 s before the window ends: one minute, in the singular.
    t.clock.advance(retryAfter - 50);
    const last = await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
    expect(last.statusCode).toBe(429);
    expect(Number(last.headers['retry-after'])).toBe(50);
    expect(last.body).toContain('Too many failed login attempts. Try again in 1 minute.');
  });

  it('(ii) counts the account across client addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(new Browser(t.app), 'victim', 'nope', `198.51.100.${i + 1}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('(iv) the real user, whose browser logged in before, still logs in from a fresh address during the attack', async () => {
    const user = new Browser(t.app);
    expect((await attempt(user, 'victim', 'victim-password', '203.0.113.1')).statusCode).toBe(302);
    expect(user.cookies.get('CASDEVICE')).toBeDefined();
    for (let i = 0; i < 5; i++) await attempt(new Browser(t.app), 'victim', 'nope', `198.51.100.${i + 1}`);
    expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '198.51.100.99')).statusCode).toBe(429);
    const res = await attempt(user, 'victim', 'victim-password', '203.0.113.77');
    expect(res.statusCode).toBe(302);
  });

  it('a device cookie for another account, or a forged one, gives no exemption', async () => {
    const b = new Browser(t.app);
    await attempt(b, 'other', 'other-password', '203.0.113.1');
    // Only the device cookie: without the TGC, /login shows the form again.
    const withDevice = new Browser(t.app);
    withDevice.cookies.set('CASDEVICE', b.cookies.get('CASDEVICE')!);
    for (let i = 0; i < 3; i++) await attempt(new Browser(t.app), 'victim', 'nope', `198.51.100.${i + 1}`);
    expect((await attempt(withDevice, 'victim', 'victim-password', '203.0.113.1')).statusCode).toBe(429);
    const forged = new Browser(t.app);
    forged.cookies.set('CASDEVICE', 'eyJhbGciOiJIUzUxMiJ9.eyJ0eXAiOiJkZXZpY2UifQ.AAAA');
    expect((await attempt(forged, 'victim', 'victim-password', '203.0.113.2')).statusCode).toBe(429);
  });

  it('(iii) trips the per-IP limit when one address sprays many accounts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await attempt(new Browser(t.app), `user${i}`, 'Password1', '192.0.2.50')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429, 429]);
    expect(verify).toHaveBeenCalledTimes(6);
  });

  it('lets at most the threshold through when attempts arrive all at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(new Browser(t.app), 'victim', `guess-${i}`, `198.51.100.${i + 1}`)),
    );
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(3);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(17);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('does not count successful logins, nor refused forms (checklist 94)', async () => {
    for (let i = 0; i < 8; i++) expect((await attempt(new Browser(t.app), 'casuser', 'Mellon', '192.0.2.9')).statusCode).toBe(302);
    const b = new Browser(t.app);
    for (let i = 0; i < 8; i++) {
      const res = await b.request({
        method: 'POST',
        url: '/cas/login',
        remoteAddress: '192.0.2.9',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=victim&password=x&execution=LT-forged',
      });
      expect(res.statusCode).toBe(403);
    }
    expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '192.0.2.9')).statusCode).toBe(302);
  });

  it('opens again in the next window', async () => {
    for (let i = 0; i < 4; i++) await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
    expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '192.0.2.1')).statusCode).toBe(429);
    t.clock.advance(600);
    expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '192.0.2.1')).statusCode).toBe(302);
  });

  it('keeps its counters in Postgres, where every node sees them', async () => {
    await attempt(new Browser(t.app), 'Victim', 'nope', '192.0.2.1');
    const { rows } = await t.sql.query(`SELECT key, failures FROM login_throttle ORDER BY key`);
    expect(rows).toEqual([
      { key: 'account:victim', failures: 1 },
      { key: 'ip:192.0.2.1', failures: 1 },
    ]);
    const node2 = await startTestApp({ databaseUrl: t.config.databaseUrl, env: ENV });
    try {
      for (let i = 0; i < 2; i++) await attempt(new Browser(node2.app), 'victim', 'nope', '192.0.2.2');
      expect((await attempt(new Browser(t.app), 'victim', 'victim-password', '192.0.2.3')).statusCode).toBe(429);
    } finally {
      await node2.close();
    }
  });
});

describe('throttling answered with CAS 423', () => {
  it('uses the configured status', async () => {
    const t = await startTestApp({ env: { ...ENV, AUTHN_THROTTLE_HTTP_STATUS: '423' } });
    try {
      for (let i = 0; i < 3; i++) await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
      const res = await attempt(new Browser(t.app), 'victim', 'nope', '192.0.2.1');
      expect(res.statusCode).toBe(423);
      expect(setCookies(res).some((c) => c.name === 'TGC')).toBe(false);
    } finally {
      await t.close();
    }
  });
});

import { Browser, ticketOf } from '../helpers/browser';
import { FIXTURE_PASSWORDS, PEOPLE_DN, startSlapd, type Slapd } from '../helpers/slapd';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// Throttling comes before any directory call (issue 12: "throttling before any directory call").
// Proof without watching slapd's traffic: once the account is throttled, the directory is stopped;
// a request that reached the directory would answer 503 (no handler could decide), a throttled one
// answers 429 without asking it.

const UNAVAILABLE = 'Authentication service unavailable. Please try again later.';

describe('directory logins are throttled before the directory is asked', () => {
  let slapd: Slapd;
  let t: TestApp;
  beforeAll(async () => {
    slapd = await startSlapd();
    t = await startTestApp({
      env: {
        ARGON2_MEMORY_KIB: '8192',
        ARGON2_TIME_COST: '1',
        AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
        CAS_AUTHN_LDAP_0_LDAP_URL: slapd.url,
        CAS_AUTHN_LDAP_0_BASE_DN: PEOPLE_DN,
        CAS_AUTHN_LDAP_0_BIND_DN: slapd.serviceDn,
        CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
        CAS_AUTHN_LDAP_0_CONNECT_TIMEOUT: 'PT1S',
        CAS_AUTHN_LDAP_0_RESPONSE_TIMEOUT: 'PT1S',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await slapd?.stop();
  });

  it('bob: three wrong passwords from the directory, then 429 even with the directory gone; alice, not throttled, gets 503', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await new Browser(t.app).login('bob', `guess-${i}`, APP)).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    // The directory still works here: alice logs in.
    const alice = await new Browser(t.app).login('alice', FIXTURE_PASSWORDS.alice, APP);
    expect(alice.statusCode).toBe(302);
    expect(ticketOf(alice)).toMatch(/^ST-/);

    await slapd.stop();
    const throttled = await new Browser(t.app).login('bob', FIXTURE_PASSWORDS.bob, APP);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.body).toContain('Too many failed login attempts');
    // The same directory, asked: unavailable.
    const asked = await new Browser(t.app).login('alice', FIXTURE_PASSWORDS.alice, APP);
    expect(asked.statusCode).toBe(503);
    expect(asked.body).toContain(UNAVAILABLE);
  });
});

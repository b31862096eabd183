import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';

describe('loadCasConfig', () => {
  it('has CAS defaults', () => {
    const c = loadCasConfig({});
    expect(c.port).toBe(8080);
    expect(c.server).toEqual({ prefix: 'http://localhost:8080/cas', contextPath: '/cas', secure: false });
    expect(c.tgt).toEqual({ maxTimeToLiveSeconds: 28800, timeToKillSeconds: 7200 });
    expect(c.st).toEqual({ timeToKillSeconds: 10, numberOfUses: 1 });
    expect(c.rememberMe).toEqual({ enabled: false, timeToKillSeconds: 1209600, cookieMaxAgeSeconds: 1209600 });
    expect(c.usingDefaultUsers).toBe(true);
    expect(c.users).toEqual([
      { username: 'casuser', password: 'Mellon', attributes: { mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'] } },
    ]);
    expect(c.tgc.pinToSession).toBe(true);
    expect(c.throttle.enabled).toBe(true);
    expect(c.logout.followServiceRedirects).toBe(false);
  });

  it("reads CAS's user list format and an https prefix", () => {
    const c = loadCasConfig({ CAS_AUTHN_ACCEPT_USERS: 'a::x,b::y::z', CAS_SERVER_PREFIX: 'https://sso.example.org/cas/' });
    expect(c.users.map((u) => [u.username, u.password])).toEqual([['a', 'x'], ['b', 'y::z']]);
    expect(c.server).toEqual({ prefix: 'https://sso.example.org/cas', contextPath: '/cas', secure: true });
    expect(c.usingDefaultUsers).toBe(false);
  });

  it('accepts ISO-8601 durations where CAS 7 uses them', () => {
    expect(loadCasConfig({ CAS_TGC_REMEMBER_ME_MAX_AGE: 'P14D' }).rememberMe.cookieMaxAgeSeconds).toBe(1209600);
    expect(loadCasConfig({ CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS: 'PT1H30M' }).rememberMe.timeToKillSeconds).toBe(5400);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadCasConfig({
        PORT: 'abc',
        CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS: '-1',
        CAS_SERVER_PREFIX: 'notaurl',
        CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS: 'maybe',
        CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN: '(',
        DATABASE_URL: 'mysql://x',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS', 'CAS_SERVER_PREFIX', 'CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS', 'CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN', 'DATABASE_URL']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('CAS_TICKET_TGT_PRIMARY');
  });

  it('rejects bad attribute JSON by name', () => {
    expect(() => loadCasConfig({ CAS_AUTHN_ACCEPT_ATTRIBUTES: '{nope' })).toThrow(/CAS_AUTHN_ACCEPT_ATTRIBUTES/);
    expect(() => loadCasConfig({ CAS_AUTHN_ACCEPT_ATTRIBUTES: '[1]' })).toThrow(/CAS_AUTHN_ACCEPT_ATTRIBUTES/);
  });

  it('rejects short TGC keys', () => {
    expect(() => loadCasConfig({ CAS_TGC_CRYPTO_SIGNING_KEY: 'short' })).toThrow(/CAS_TGC_CRYPTO_SIGNING_KEY/);
  });
});

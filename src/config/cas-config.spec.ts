import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';

/** The error loadCasConfig throws, or a failure when it throws none. */
function configError(env: Record<string, string>): ConfigurationError {
  try {
    loadCasConfig(env);
  } catch (e) {
    if (e instanceof ConfigurationError) return e;
    throw e;
  }
  throw new Error('expected a ConfigurationError');
}

describe('loadCasConfig', () => {
  it('has CAS defaults', () => {
    const c = loadCasConfig({});
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.server).toEqual({ prefix: 'http://localhost:8080/cas', contextPath: '/cas', secure: false });
    expect(c.tgt).toEqual({ maxTimeToLiveSeconds: 28800, timeToKillSeconds: 7200 });
    expect(c.st).toEqual({ timeToKillSeconds: 10, numberOfUses: 1 });
    expect(c.rememberMe).toEqual({ enabled: false, timeToKillSeconds: 1209600, cookieMaxAgeSeconds: 1209600 });
    expect(c.sso).toEqual({ enabled: true });
    expect(c.usingDefaultUsers).toBe(true);
    expect(c.users).toEqual([
      { username: 'casuser', password: 'Mellon', attributes: { mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'] } },
    ]);
    expect(c.dataDir).toBe(resolve('.data'));
    expect(c.serviceRegistryLocation).toBe(resolve('services'));
    expect(c.tgc).toMatchObject({ name: 'TGC', encryptionKeys: [], signingKeys: [], pinToSession: true, allowedIpAddressesPattern: undefined });
    expect(c.throttle).toEqual({ enabled: true, rangeSeconds: 3600, ipThreshold: 100, accountThreshold: 50, deviceThreshold: 10, httpStatus: 429 });
    expect(c.trustedProxies).toEqual([]);
    expect(c.logout.followServiceRedirects).toBe(false);
    expect(c.view.cas2V3ForwardCompatible).toBe(true);
    expect(c.logLevel).toBe('log');
  });

  it("reads CAS's user list format: user::password, comma-separated", () => {
    const c = loadCasConfig({ CAS_AUTHN_ACCEPT_USERS: 'a::x,b::y' });
    expect(c.users).toEqual([
      { username: 'a', password: 'x', attributes: {} },
      { username: 'b', password: 'y', attributes: {} },
    ]);
    expect(c.usingDefaultUsers).toBe(false);
    // Only the first '::' separates: the rest belongs to the password.
    expect(loadCasConfig({ CAS_AUTHN_ACCEPT_USERS: 'a::x,b::y::z' }).users.map((u) => [u.username, u.password])).toEqual([
      ['a', 'x'],
      ['b', 'y::z'],
    ]);
  });

  it('gives users the attributes of AUTHN_ACCEPT_USERS_ATTRIBUTES, single values as one-element lists', () => {
    const c = loadCasConfig({
      CAS_AUTHN_ACCEPT_USERS: 'a::x,b::y',
      AUTHN_ACCEPT_USERS_ATTRIBUTES: JSON.stringify({ a: { mail: 'a@example.org', memberOf: ['g1', 'g2'], uid: 7 } }),
    });
    expect(c.users).toEqual([
      { username: 'a', password: 'x', attributes: { mail: ['a@example.org'], memberOf: ['g1', 'g2'], uid: ['7'] } },
      { username: 'b', password: 'y', attributes: {} },
    ]);
  });

  it('takes the context path and https from the prefix, ignoring trailing slashes', () => {
    expect(loadCasConfig({ CAS_SERVER_PREFIX: 'https://sso.example.org/cas/' }).server).toEqual({
      prefix: 'https://sso.example.org/cas',
      contextPath: '/cas',
      secure: true,
    });
    expect(loadCasConfig({ CAS_SERVER_PREFIX: 'https://sso.example.org/' }).server).toEqual({
      prefix: 'https://sso.example.org',
      contextPath: '',
      secure: true,
    });
    expect(loadCasConfig({ CAS_SERVER_PREFIX: 'http://127.0.0.1:9000/idp/cas' }).server).toEqual({
      prefix: 'http://127.0.0.1:9000/idp/cas',
      contextPath: '/idp/cas',
      secure: false,
    });
  });

  it('treats empty variables as unset and reads numbers and booleans leniently', () => {
    const c = loadCasConfig({ PORT: '', CAS_SERVER_PREFIX: '', CAS_AUTHN_ACCEPT_USERS: '', CAS_SSO_SSO_ENABLED: ' FALSE ', CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS: ' 30 ' });
    expect(c.port).toBe(8080);
    expect(c.server.prefix).toBe('http://localhost:8080/cas');
    expect(c.usingDefaultUsers).toBe(true);
    expect(c.sso.enabled).toBe(false);
    expect(c.st.timeToKillSeconds).toBe(30);
  });

  it('accepts ISO-8601 durations where CAS 7 uses them', () => {
    expect(loadCasConfig({ CAS_TGC_REMEMBER_ME_MAX_AGE: 'P14D' }).rememberMe.cookieMaxAgeSeconds).toBe(1209600);
    expect(loadCasConfig({ CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS: 'PT1H30M' }).rememberMe.timeToKillSeconds).toBe(5400);
    expect(configError({ CAS_TGC_REMEMBER_ME_MAX_AGE: 'PT' }).message).toContain('CAS_TGC_REMEMBER_ME_MAX_AGE');
  });

  it("reads the cleaner schedule as seconds or CAS's ISO-8601 durations (PT10S, PT1M)", () => {
    expect(loadCasConfig({}).cleaner).toEqual({ enabled: true, startDelaySeconds: 10, repeatIntervalSeconds: 60, batchSize: 1000, sloOnExpiry: true, pauseRatio: 2 });
    const c = loadCasConfig({
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: 'PT10S',
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: 'PT1M',
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED: 'false',
      TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY: 'false',
    }).cleaner;
    expect(c).toMatchObject({ enabled: false, startDelaySeconds: 10, repeatIntervalSeconds: 60, sloOnExpiry: false, pauseRatio: 2 });
    expect(loadCasConfig({ TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '1.5' }).cleaner.pauseRatio).toBe(1.5);
    expect(loadCasConfig({ CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: 'PT0S', CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: '5' }).cleaner)
      .toMatchObject({ startDelaySeconds: 0, repeatIntervalSeconds: 5 });
    const message = configError({
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY: 'soon',
      CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL: 'PT0S',
      TICKET_REGISTRY_CLEANER_BATCH_SIZE: '20000',
      TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '-1',
    }).message;
    expect(message).toContain('TICKET_REGISTRY_CLEANER_PAUSE_RATIO must be a number from 0 to 100');
    expect(configError({ TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '101' }).message).toContain('TICKET_REGISTRY_CLEANER_PAUSE_RATIO');
    expect(message).toContain('CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY must be seconds or an ISO-8601 duration such as PT10S');
    expect(message).toContain('CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL');
    expect(message).toContain('TICKET_REGISTRY_CLEANER_BATCH_SIZE');
  });

  it('splits lists and compiles the allowed-IP pattern as a full match', () => {
    const c = loadCasConfig({ TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16', CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN: '10\\.0\\.0\\.\\d+' });
    expect(c.trustedProxies).toEqual(['10.0.0.1', '10.1.0.0/16']);
    expect(c.tgc.allowedIpAddressesPattern?.test('10.0.0.12')).toBe(true);
    expect(c.tgc.allowedIpAddressesPattern?.test('110.0.0.12')).toBe(false);
    expect(c.tgc.allowedIpAddressesPattern?.test('10.0.0.12.evil')).toBe(false);
  });

  it('refuses a TRUSTED_PROXIES entry that is not an address or a CIDR range, naming the variable', () => {
    for (const bad of ['1.2.3', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', 'proxy.example.org', '10.0.0.1,,10.0.0.2']) {
      expect(configError({ TRUSTED_PROXIES: bad }).message).toContain('TRUSTED_PROXIES must be comma-separated IP addresses or CIDR ranges');
    }
    expect(loadCasConfig({ TRUSTED_PROXIES: '127.0.0.1, ::1, 10.0.0.0/8, fd00::/8' }).trustedProxies).toEqual(['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8']);
  });

  it('names every bad variable in one ConfigurationError', () => {
    const message = configError({
      PORT: 'abc',
      CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS: '-1',
      CAS_SERVER_PREFIX: 'notaurl',
      CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS: 'maybe',
      CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN: '(',
      DATABASE_URL: 'mysql://x',
    }).message;
    for (const name of ['PORT', 'CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS', 'CAS_SERVER_PREFIX', 'CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS', 'CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN', 'DATABASE_URL']) {
      expect(message).toContain(name);
    }
    // Only the bad ones: good and unset variables are not mentioned.
    expect(message).not.toContain('CAS_TICKET_TGT_PRIMARY');
    expect(message).not.toContain('CAS_AUTHN_ACCEPT_USERS');
  });

  it('also names bad attribute JSON when other variables are bad too (one error for everything)', () => {
    const message = configError({ PORT: 'abc', AUTHN_ACCEPT_USERS_ATTRIBUTES: '{nope' }).message;
    expect(message).toContain('PORT');
    expect(message).toContain('AUTHN_ACCEPT_USERS_ATTRIBUTES');
  });

  it('rejects bad attribute JSON by name', () => {
    expect(configError({ AUTHN_ACCEPT_USERS_ATTRIBUTES: '{nope' }).message).toMatch(/AUTHN_ACCEPT_USERS_ATTRIBUTES: .*must be a JSON object/);
    expect(configError({ AUTHN_ACCEPT_USERS_ATTRIBUTES: '[1]' }).message).toContain('AUTHN_ACCEPT_USERS_ATTRIBUTES');
    expect(configError({ AUTHN_ACCEPT_USERS_ATTRIBUTES: '{"casuser": "x"}' }).message).toMatch(/AUTHN_ACCEPT_USERS_ATTRIBUTES: attributes of 'casuser'/);
  });

  it("reads the static list's handler name and order (cas.authn.accept.name, .order): after the users table by default", () => {
    expect(loadCasConfig({}).acceptUsersHandler).toEqual({ name: 'AcceptUsersAuthenticationHandler', order: 2147483647 });
    expect(loadCasConfig({ CAS_AUTHN_ACCEPT_NAME: 'Static Users', CAS_AUTHN_ACCEPT_ORDER: '-5' }).acceptUsersHandler).toEqual({ name: 'Static Users', order: -5 });
    for (const name of [' lead', 'trail ', 'tab\there', 'x'.repeat(101), 'é']) {
      expect(configError({ CAS_AUTHN_ACCEPT_NAME: name }).message).toContain('CAS_AUTHN_ACCEPT_NAME');
    }
    expect(configError({ CAS_AUTHN_ACCEPT_ORDER: 'first' }).message).toContain('CAS_AUTHN_ACCEPT_ORDER');
  });

  it('rejects a malformed user list and short TGC keys', () => {
    expect(configError({ CAS_AUTHN_ACCEPT_USERS: 'nopassword' }).message).toContain('CAS_AUTHN_ACCEPT_USERS');
    expect(configError({ CAS_TGC_CRYPTO_SIGNING_KEY: 'short' }).message).toContain('CAS_TGC_CRYPTO_SIGNING_KEY');
    expect(configError({ CAS_TGC_CRYPTO_ENCRYPTION_KEY: 'short' }).message).toContain('CAS_TGC_CRYPTO_ENCRYPTION_KEY');
  });

  it('reads proxy ticket settings and the callback CA file, and stops on an unusable one', () => {
    expect(loadCasConfig({}).pt).toEqual({ timeToKillSeconds: 10, numberOfUses: 1 });
    expect(loadCasConfig({ CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS: 'PT30S', CAS_TICKET_PT_NUMBER_OF_USES: '2' }).pt).toEqual({ timeToKillSeconds: 30, numberOfUses: 2 });
    expect(configError({ CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS: '301' }).message).toContain('CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS');
    const dir = mkdtempSync(join(tmpdir(), 'cas-config-'));
    try {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----';
      writeFileSync(join(dir, 'ca.pem'), `# bundle\n${pem}\n${pem.replace('MIIB', 'MIIC')}\n`);
      writeFileSync(join(dir, 'empty.pem'), 'nothing here');
      expect(loadCasConfig({}).proxyCallback.extraCaCertificates).toEqual([]);
      expect(loadCasConfig({ PROXY_CALLBACK_CA_FILE: join(dir, 'ca.pem') }).proxyCallback.extraCaCertificates).toHaveLength(2);
      expect(loadCasConfig({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), PROXY_CALLBACK_CA_FILE: join(dir, 'ca.pem') }).proxyCallback.extraCaCertificates).toHaveLength(4);
      expect(configError({ PROXY_CALLBACK_CA_FILE: join(dir, 'missing.pem') }).message).toMatch(/PROXY_CALLBACK_CA_FILE: cannot read .*ENOENT/);
      expect(configError({ PROXY_CALLBACK_CA_FILE: join(dir, 'empty.pem') }).message).toContain('PROXY_CALLBACK_CA_FILE: no PEM certificate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('development mode (issue 10: the open registry and the demo user only on a local development server)', () => {
    const DEMO = [{ username: 'casuser', password: 'Mellon', attributes: { mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'] } }];

    it('is on for a fresh clone (local prefix, no DATABASE_URL, no NODE_ENV): development registry and demo user', () => {
      for (const prefix of ['http://localhost:8080/cas', 'http://127.0.0.1:9000/cas', 'http://[::1]:8080/cas', 'https://localhost/cas']) {
        const c = loadCasConfig({ CAS_SERVER_PREFIX: prefix, NODE_ENV: 'development' });
        expect(c.development.enabled).toBe(true);
        expect(c.developmentRegistryLocation).toBe(resolve('dev/services'));
        expect(c.serviceRegistryLocation).toBe(resolve('services'));
        expect(c.users).toEqual(DEMO);
        expect(c.usingDefaultUsers).toBe(true);
      }
      expect(loadCasConfig({}).development).toEqual({
        enabled: true,
        reasons: ['CAS_SERVER_PREFIX is on localhost', 'DATABASE_URL is unset (embedded Postgres)', 'NODE_ENV is not production'],
      });
    });

    it.each<[string, Record<string, string>, string]>([
      ['a public prefix', { CAS_SERVER_PREFIX: 'https://sso.example.org/cas' }, 'CAS_SERVER_PREFIX host sso.example.org is not localhost, 127.0.0.1 or [::1]'],
      ['a prefix on another address of this machine', { CAS_SERVER_PREFIX: 'http://10.0.0.5:8080/cas' }, 'CAS_SERVER_PREFIX host 10.0.0.5 is not localhost, 127.0.0.1 or [::1]'],
      ['a look-alike host', { CAS_SERVER_PREFIX: 'http://localhost.example.org/cas' }, 'CAS_SERVER_PREFIX host localhost.example.org is not localhost, 127.0.0.1 or [::1]'],
      ['DATABASE_URL', { DATABASE_URL: 'postgres://cas@db/cas' }, 'DATABASE_URL is set'],
      ['NODE_ENV=production', { NODE_ENV: 'production' }, 'NODE_ENV is production'],
    ])('is off with %s alone: empty registry defaults, no demo user, and says why', (_what, env, reason) => {
      const c = loadCasConfig(env);
      expect(c.development).toEqual({ enabled: false, reasons: [reason] });
      expect(c.developmentRegistryLocation).toBeUndefined();
      expect(c.serviceRegistryLocation).toBe(resolve('services'));
      expect(c.users).toEqual([]);
      expect(c.usingDefaultUsers).toBe(false);
    });

    it('lists every condition that turned it off', () => {
      expect(loadCasConfig({ CAS_SERVER_PREFIX: 'https://sso.example.org/cas', DATABASE_URL: 'postgres://cas@db/cas', NODE_ENV: 'production' }).development.reasons).toEqual([
        'CAS_SERVER_PREFIX host sso.example.org is not localhost, 127.0.0.1 or [::1]',
        'DATABASE_URL is set',
        'NODE_ENV is production',
      ]);
    });

    it('always honours explicit settings: a registry location replaces the development registry, users replace the demo user', () => {
      const dev = loadCasConfig({ CAS_SERVICE_REGISTRY_JSON_LOCATION: '/etc/cas/services', CAS_AUTHN_ACCEPT_USERS: 'alice::x' });
      expect(dev.development.enabled).toBe(true);
      expect(dev.serviceRegistryLocation).toBe('/etc/cas/services');
      expect(dev.developmentRegistryLocation).toBeUndefined();
      expect(dev.users.map((u) => u.username)).toEqual(['alice']);
      expect(dev.usingDefaultUsers).toBe(false);

      const prod = loadCasConfig({ DATABASE_URL: 'postgres://cas@db/cas', CAS_SERVICE_REGISTRY_JSON_LOCATION: '/etc/cas/services', CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon' });
      expect(prod.serviceRegistryLocation).toBe('/etc/cas/services');
      // An operator who names casuser explicitly gets it (with the demo attributes, as before).
      expect(prod.users).toEqual(DEMO);
      expect(prod.usingDefaultUsers).toBe(false);
    });
  });
});

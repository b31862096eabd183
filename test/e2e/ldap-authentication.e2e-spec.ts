import { Logger } from '@nestjs/common';
import { Client } from 'ldapts';
import { LdapAuthenticationHandler } from '../../src/auth/ldap/ldap-authentication.handler';
import { LdapConnectionPool } from '../../src/auth/ldap/ldap-connection-pool';
import { LdapSources } from '../../src/auth/ldap/ldap-sources';
import { UsersService } from '../../src/auth/users.service';
import { SystemClock } from '../../src/common/clock';
import { loadCasConfig } from '../../src/config/cas-config';
import { Browser, ticketOf } from '../helpers/browser';
import { FIXTURE_PASSWORDS, startSlapd, type Slapd } from '../helpers/slapd';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// Every LDAP type against a real slapd (test/helpers/slapd.ts): logins through the form, what
// /p3/serviceValidate releases, and names built to break filters and DNs.

const FAST = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', AUTHN_THROTTLE_ENABLED: 'false' };
const UNAVAILABLE = 'Authentication service unavailable. Please try again later.';
const GENERIC = 'Invalid credentials.';
const NAME = 'CampusLdap';
const ATTRIBUTES = 'cn,mail,memberOf:groups';
/** uid `o(b)r*i\en`: every filter metacharacter but NUL, in a real entry. */
const AWKWARD = 'o(b)r*i\\en';
const AD_USER = 'jdoe';

let slapd: Slapd;
let people: string;
let groups: string;
beforeAll(async () => {
  slapd = await startSlapd({ tls: true });
  people = `ou=people,${slapd.baseDn}`;
  groups = `ou=groups,${slapd.baseDn}`;
});
afterAll(() => slapd?.stop());

/** The source's variables (CAS_AUTHN_LDAP_0_*) from short keys. */
function source(settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries({ NAME, PRINCIPAL_ATTRIBUTE_LIST: ATTRIBUTES, ...settings }).map(([k, v]) => [`CAS_AUTHN_LDAP_0_${k}`, v]));
}

async function start(settings: Record<string, string>, env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ env: { ...FAST, ...source(settings), ...env } });
}

/** Logs in through the form and returns what /p3/serviceValidate says of the ticket (JSON). */
async function released(t: TestApp, username: string, password: string) {
  const login = await new Browser(t.app).login(username, password, APP);
  expect(login.statusCode).toBe(302);
  const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(login)}` });
  return res.json().serviceResponse.authenticationSuccess;
}

async function refused(t: TestApp, username: string, password: string): Promise<void> {
  const res = await new Browser(t.app).login(username, password, APP);
  expect({ username, status: res.statusCode }).toEqual({ username, status: 401 });
  expect(res.body).toContain(GENERIC);
  expect(res.body).not.toContain(UNAVAILABLE);
}

function expectAlice(success: { user: string; attributes: Record<string, unknown> }, user = 'alice') {
  expect(success.user).toBe(user);
  expect(success.attributes).toMatchObject({
    cn: ['Alice Liddell'],
    mail: ['alice@example.org'],
    authenticationMethod: [NAME],
    successfulAuthenticationHandlers: [NAME],
  });
  expect([...(success.attributes.groups as string[])].sort()).toEqual([`cn=faculty,${groups}`, `cn=staff,${groups}`]);
  expect(success.attributes).not.toHaveProperty('memberOf');
}

/**
 * Names that would widen or rewrite a filter built by string concatenation. NUL is tested below
 * the form (the login form drops control characters from the username before any handler).
 */
const INJECTIONS = ['*', 'al*', '*ice', 'alice)(uid=*', 'alice)(|(uid=*)', '*)(uid=*))(|(uid=*', 'alice\\', 'alice\\00', 'alice\\2a'];

describe('AUTHENTICATED (service account search, then the user bind) over StartTLS with the test CA', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({
      TYPE: 'AUTHENTICATED',
      LDAP_URL: slapd.url,
      USE_START_TLS: 'true',
      TRUST_CERTIFICATES: slapd.caFile!,
      BASE_DN: slapd.baseDn,
      BIND_DN: slapd.serviceDn,
      BIND_CREDENTIAL: slapd.servicePassword,
      PRINCIPAL_ATTRIBUTE_ID: 'uid',
    });
    await t.app.get(UsersService).add('tabby', 'table password 1');
  });
  afterAll(() => t?.close());

  it('logs alice in: the directory attributes are released, memberOf as groups, authenticationMethod is the source', async () => {
    expectAlice(await released(t, 'alice', FIXTURE_PASSWORDS.alice));
    // The principal is the entry's uid, however the name was typed (the directory matches case-insensitively).
    expect((await released(t, 'ALICE', FIXTURE_PASSWORDS.alice)).user).toBe('alice');
  });

  it('a wrong password, an unknown name, an empty password: the generic 401, never the unavailable page', async () => {
    await refused(t, 'alice', 'wrong password');
    await refused(t, 'nobody', FIXTURE_PASSWORDS.alice);
    // Sent, the empty password would be an unauthenticated bind (slapd refuses it with
    // unwillingToPerform, which reads as "unavailable"; other servers accept it as anonymous).
    await refused(t, 'alice', '');
  });

  it.each(INJECTIONS)('%j with a real password logs nobody in', async (name) => {
    await refused(t, name, FIXTURE_PASSWORDS.alice);
    await refused(t, name, FIXTURE_PASSWORDS.bob);
  });

  it('a user whose uid holds * ( ) \\ logs in with its own password, as itself only; a DN with a comma binds as found', async () => {
    const success = await released(t, AWKWARD, FIXTURE_PASSWORDS[AWKWARD]);
    expect(success.user).toBe(AWKWARD);
    await refused(t, AWKWARD, FIXTURE_PASSWORDS.alice);
    for (const almost of ['o(b)r*', 'o*', 'o(b)r\\2ai\\5cen']) await refused(t, almost, FIXTURE_PASSWORDS[AWKWARD]);
    // smithj's entry is cn=Smith\, John,ou=people: the DN the search returned is bound as it is.
    expect((await released(t, 'smithj', FIXTURE_PASSWORDS.smithj)).attributes.cn).toEqual(['Smith, John']);
  });

  it('the users table is asked first (order 0, listed before): its users log in, the directory is not needed for them', async () => {
    const success = await released(t, 'tabby', 'table password 1');
    expect(success.attributes.authenticationMethod).toEqual(['QueryDatabaseAuthenticationHandler']);
  });
});

describe('ANONYMOUS (anonymous search, then the user bind) over ldaps:// with the test CA', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({ TYPE: 'ANONYMOUS', LDAP_URL: slapd.ldapsUrl!, TRUST_CERTIFICATES: `file:${slapd.caFile!}`, BASE_DN: people, SUBTREE_SEARCH: 'false' });
  });
  afterAll(() => t?.close());

  it('logs alice in with her attributes; the principal is the name typed without principal-attribute-id', async () => {
    expectAlice(await released(t, 'alice', FIXTURE_PASSWORDS.alice));
  });

  it.each(INJECTIONS)('%j logs nobody in', async (name) => {
    await refused(t, name, FIXTURE_PASSWORDS.alice);
  });
});

describe('DIRECT (bind as dn-format, then read the entry as the user)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({ TYPE: 'DIRECT', LDAP_URL: slapd.url, DN_FORMAT: `uid=%s,${people}`, PRINCIPAL_ATTRIBUTE_ID: 'uid' });
  });
  afterAll(() => t?.close());

  it('logs alice in with her attributes', async () => {
    expectAlice(await released(t, 'alice', FIXTURE_PASSWORDS.alice));
  });

  it('a name with DN syntax (, + = \\) is one RDN value: it cannot bind as another entry', async () => {
    for (const name of ['alice,ou=people', `alice,${people}`, 'x,uid=alice', 'bob+uid=alice', 'alice\\', '\\61lice', ...INJECTIONS]) {
      await refused(t, name, FIXTURE_PASSWORDS.alice);
    }
  });

  it('the awkward uid binds by its own escaped DN', async () => {
    expect((await released(t, AWKWARD, FIXTURE_PASSWORDS[AWKWARD])).user).toBe(AWKWARD);
  });
});

describe('AD (bind as the user, then search sAMAccountName as the user), on AD-shaped entries in slapd', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({
      TYPE: 'AD',
      LDAP_URL: slapd.url,
      BASE_DN: `ou=ad,${slapd.baseDn}`,
      // slapd takes DNs only; against AD this is `%s@example.org` (a userPrincipalName).
      DN_FORMAT: `cn=%s,ou=ad,${slapd.baseDn}`,
      PRINCIPAL_ATTRIBUTE_ID: 'sAMAccountName',
      PRINCIPAL_ATTRIBUTE_LIST: 'displayName,userPrincipalName:upn,memberOf:groups',
    });
  });
  afterAll(() => t?.close());

  it('logs the AD user in by sAMAccountName, with its attributes', async () => {
    const success = await released(t, AD_USER, FIXTURE_PASSWORDS[AD_USER]);
    expect(success.user).toBe(AD_USER);
    expect(success.attributes).toMatchObject({ authenticationMethod: [NAME], upn: ['jdoe@example.org'], groups: [`cn=staff,${groups}`] });
    await refused(t, AD_USER, 'wrong password');
  });

  it.each(INJECTIONS)('%j logs nobody in', async (name) => {
    await refused(t, name, FIXTURE_PASSWORDS[AD_USER]);
  });
});

describe('LdapAuthenticationHandler against slapd, below the form', () => {
  const logger = new Logger('test');

  function handler(settings: Record<string, string>): LdapAuthenticationHandler {
    const [s] = loadCasConfig(source(settings)).ldap;
    return new LdapAuthenticationHandler(s, new LdapConnectionPool(s, s.name, logger), logger, new SystemClock());
  }
  const search = () => ({ LDAP_URL: slapd.url, BASE_DN: slapd.baseDn, BIND_DN: slapd.serviceDn, BIND_CREDENTIAL: slapd.servicePassword });

  it('DIRECT with a cn= format: "Smith, John" is one RDN value and binds as cn=Smith\\, John', async () => {
    const h = handler({ TYPE: 'DIRECT', LDAP_URL: slapd.url, DN_FORMAT: `cn=%s,${people}` });
    try {
      expect(await h.authenticate('Smith, John', FIXTURE_PASSWORDS.smithj)).toMatchObject({ kind: 'success', username: 'Smith, John', attributes: { mail: ['smithj@example.org'] } });
      expect(await h.authenticate('Smith', FIXTURE_PASSWORDS.smithj)).toEqual({ kind: 'rejected' });
    } finally {
      await h.pool.close();
    }
  });

  it('NUL in a name is a value of the filter (no entry matches) and never reaches a DN', async () => {
    const types: Record<string, string>[] = [{ TYPE: 'AUTHENTICATED', ...search() }, { TYPE: 'ANONYMOUS', LDAP_URL: slapd.url, BASE_DN: people }, { TYPE: 'DIRECT', LDAP_URL: slapd.url, DN_FORMAT: `uid=%s,${people}` }];
    for (const settings of types) {
      const h = handler(settings);
      try {
        for (const name of ['alice\u0000', 'alice\u0000)(uid=*', '\u0000', '*\u0000']) {
          expect({ type: settings.TYPE, name, result: await h.authenticate(name, FIXTURE_PASSWORDS.alice) }).toEqual({ type: settings.TYPE, name, result: { kind: 'unknown' } });
        }
      } finally {
        await h.pool.close();
      }
    }
  });

  it("sends the ppolicy control with the user's bind (GENERIC, enabled): slapd's account states and warnings reach the chain", async () => {
    const h = handler({ ...search(), PASSWORD_POLICY_ENABLED: 'true', PASSWORD_POLICY_WARNING_DAYS: '10' });
    try {
      const outcome = async (user: string) => h.authenticate(user, FIXTURE_PASSWORDS[user]);
      expect(await outcome('locked')).toEqual({ kind: 'rejected', state: 'locked' });
      expect(await outcome('expired')).toEqual({ kind: 'rejected', state: 'password-expired' });
      expect(await outcome('mustchange')).toEqual({ kind: 'rejected', state: 'must-change-password' });
      expect(await outcome('warned')).toMatchObject({ kind: 'success', username: 'warned', warning: { passwordExpiresInDays: expect.any(Number) } });
      expect(await outcome('alice')).toEqual(expect.objectContaining({ kind: 'success', warning: undefined }));
      // Disabled: the same binds carry no control and give no states.
      const plain = handler(search());
      try {
        expect(await plain.authenticate('mustchange', FIXTURE_PASSWORDS.mustchange)).toMatchObject({ kind: 'success' });
        expect(await plain.authenticate('locked', FIXTURE_PASSWORDS.locked)).toEqual({ kind: 'rejected' });
      } finally {
        await plain.pool.close();
      }
    } finally {
      await h.pool.close();
    }
  });

  it("a pooled connection goes back bound as the service account (or anonymous), never as the user who logged in on it", async () => {
    const whoami = (h: LdapAuthenticationHandler) => h.pool.use(async (c) => (await c.exop('1.3.6.1.4.1.4203.1.11.3')).value ?? '');
    const authenticated = handler({ ...search(), MIN_POOL_SIZE: '0', MAX_POOL_SIZE: '1' });
    const direct = handler({ TYPE: 'DIRECT', LDAP_URL: slapd.url, DN_FORMAT: `uid=%s,${people}`, MIN_POOL_SIZE: '0', MAX_POOL_SIZE: '1' });
    try {
      expect(await authenticated.authenticate('alice', FIXTURE_PASSWORDS.alice)).toMatchObject({ kind: 'success' });
      expect(await whoami(authenticated)).toBe(`dn:${slapd.serviceDn}`);
      expect(await authenticated.authenticate('bob', 'wrong password')).toEqual({ kind: 'rejected' });
      expect(await whoami(authenticated)).toBe(`dn:${slapd.serviceDn}`);
      expect(await direct.authenticate('alice', FIXTURE_PASSWORDS.alice)).toMatchObject({ kind: 'success' });
      expect(await whoami(direct)).toBe('');
    } finally {
      await Promise.all([authenticated.pool.close(), direct.pool.close()]);
    }
  });

  it('an empty password is never sent: refused before any bind', async () => {
    const h = handler(search());
    const bind = jest.spyOn(Client.prototype, 'bind');
    try {
      expect(await h.authenticate('alice', '')).toEqual({ kind: 'rejected' });
      expect(bind.mock.calls.filter(([dn]) => String(dn).includes('alice'))).toEqual([]);
    } finally {
      bind.mockRestore();
      await h.pool.close();
    }
  });

  it('a filter matching more than one entry refuses the login and logs why', async () => {
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const h = handler({ ...search(), SEARCH_FILTER: '(|(uid={user})(uid=bob))' });
    try {
      expect(await h.authenticate('alice', FIXTURE_PASSWORDS.alice)).toEqual({ kind: 'rejected' });
      expect(error).toHaveBeenCalledWith(`${NAME}: 2 or more entries match (|(uid={user})(uid=bob)) for one name; refusing the login (make the filter match one entry)`);
    } finally {
      error.mockRestore();
      await h.pool.close();
    }
  });

  it("StartTLS and ldaps:// check the server's certificate: without the CA (Node's store) the source is unavailable", async () => {
    for (const settings of [{ USE_START_TLS: 'true' }, { LDAP_URL: slapd.ldapsUrl! }] as Record<string, string>[]) {
      const h = handler({ ...search(), ...settings, CONNECT_TIMEOUT: 'PT2S' });
      try {
        const result = await h.authenticate('alice', FIXTURE_PASSWORDS.alice);
        expect(result.kind).toBe('unavailable');
        expect(String((result as { error: Error }).error.message)).toMatch(/^CampusLdap: no LDAP server answered: ldaps?:\/\/127\.0\.0\.1:\d+ failed \(.*self-signed certificate/);
      } finally {
        await h.pool.close();
      }
    }
  });

  it('boot logs each source by name, type and URLs, never the credential', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const t = await start({ ...search(), MIN_POOL_SIZE: '0' });
    try {
      const lines = log.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith(`${NAME}:`));
      expect(lines).toEqual([`${NAME}: LDAP AUTHENTICATED source, order 0, ${slapd.url}, connecting as ${slapd.serviceDn}`]);
      expect(log.mock.calls.flat().join(' ')).not.toContain(slapd.servicePassword);
      expect(t.app.get(LdapSources).handlers.map((h) => h.name)).toEqual([NAME]);
    } finally {
      log.mockRestore();
      await t.close();
    }
  });
});

describe('account-state pages from the directory', () => {
  it("an expired or must-change password shows its page with the configured password-change link; the locked page has none", async () => {
    const t = await start({
      TYPE: 'AUTHENTICATED',
      LDAP_URL: slapd.url,
      BASE_DN: people,
      BIND_DN: slapd.serviceDn,
      BIND_CREDENTIAL: slapd.servicePassword,
      PASSWORD_POLICY_ENABLED: 'true',
      PASSWORD_POLICY_PASSWORD_CHANGE_URL: 'https://password.example.org/change',
    });
    try {
      for (const [user, title] of [['expired', 'Password expired'], ['mustchange', 'Password change required']]) {
        const res = await new Browser(t.app).login(user, FIXTURE_PASSWORDS[user], APP);
        expect({ user, status: res.statusCode }).toEqual({ user, status: 401 });
        expect(res.body).toContain(`<title>${title}</title>`);
        expect(res.body).toContain('<a href="https://password.example.org/change">change your password</a>');
      }
      const locked = await new Browser(t.app).login('locked', FIXTURE_PASSWORDS.locked, APP);
      expect(locked.body).toContain('<title>Account locked</title>');
      expect(locked.body).not.toContain('password.example.org');
    } finally {
      await t.close();
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { parseDurationMs } from './ldap-config';

const SEARCH = {
  CAS_AUTHN_LDAP_0_LDAP_URL: 'ldap://127.0.0.1:3890',
  CAS_AUTHN_LDAP_0_BASE_DN: 'ou=people,dc=example,dc=org',
  CAS_AUTHN_LDAP_0_BIND_DN: 'cn=cas,dc=example,dc=org',
  CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: 'service secret 1',
};

function configError(env: Record<string, string>): string {
  try {
    loadCasConfig(env);
  } catch (e) {
    if (e instanceof ConfigurationError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigurationError');
}

describe('LDAP sources from CAS_AUTHN_LDAP_<n>_* (cas.authn.ldap[n])', () => {
  it('has none by default', () => {
    expect(loadCasConfig({}).ldap).toEqual([]);
  });

  it("reads an AUTHENTICATED source with CAS's defaults", () => {
    const [s] = loadCasConfig(SEARCH).ldap;
    expect(s).toEqual({
      index: 0,
      name: 'LdapAuthenticationHandler',
      order: 0,
      type: 'AUTHENTICATED',
      urls: ['ldap://127.0.0.1:3890'],
      useStartTls: false,
      trustCertificates: undefined,
      bindDn: 'cn=cas,dc=example,dc=org',
      bindCredential: 'service secret 1',
      connectTimeoutMs: 5000,
      responseTimeoutMs: 5000,
      minPoolSize: 3,
      maxPoolSize: 10,
      baseDn: 'ou=people,dc=example,dc=org',
      subtreeSearch: true,
      searchFilter: '(uid={user})',
      dnFormat: undefined,
      principalAttributeId: undefined,
      principalAttributeList: [],
      passwordPolicy: { enabled: false, type: 'GENERIC', warningDays: 30, passwordChangeUrl: undefined },
    });
  });

  it('reads every key: failover URLs in order, renamed attributes, ISO-8601 and plain-second timeouts, the password policy', () => {
    const [s] = loadCasConfig({
      ...SEARCH,
      CAS_AUTHN_LDAP_0_LDAP_URL: ' ldap://a.example.org:389   ldap://b.example.org ',
      CAS_AUTHN_LDAP_0_USE_START_TLS: 'TRUE',
      CAS_AUTHN_LDAP_0_SUBTREE_SEARCH: 'false',
      CAS_AUTHN_LDAP_0_SEARCH_FILTER: '(&(objectClass=inetOrgPerson)(|(uid={user})(mail={0})))',
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_ID: 'uid',
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: 'cn, mail,memberOf:groups',
      CAS_AUTHN_LDAP_0_CONNECT_TIMEOUT: 'PT0.5S',
      CAS_AUTHN_LDAP_0_RESPONSE_TIMEOUT: '3',
      CAS_AUTHN_LDAP_0_MIN_POOL_SIZE: '0',
      CAS_AUTHN_LDAP_0_MAX_POOL_SIZE: '4',
      CAS_AUTHN_LDAP_0_NAME: 'Campus LDAP',
      CAS_AUTHN_LDAP_0_ORDER: '-5',
      CAS_AUTHN_LDAP_0_PASSWORD_POLICY_ENABLED: 'true',
      CAS_AUTHN_LDAP_0_PASSWORD_POLICY_WARNING_DAYS: '10',
      CAS_AUTHN_LDAP_0_PASSWORD_POLICY_PASSWORD_CHANGE_URL: 'https://pm.example.org/change',
    }).ldap;
    expect(s).toMatchObject({
      name: 'Campus LDAP',
      order: -5,
      urls: ['ldap://a.example.org:389', 'ldap://b.example.org'],
      useStartTls: true,
      subtreeSearch: false,
      searchFilter: '(&(objectClass=inetOrgPerson)(|(uid={user})(mail={0})))',
      principalAttributeId: 'uid',
      principalAttributeList: [
        { attribute: 'cn', name: 'cn' },
        { attribute: 'mail', name: 'mail' },
        { attribute: 'memberOf', name: 'groups' },
      ],
      connectTimeoutMs: 500,
      responseTimeoutMs: 3000,
      minPoolSize: 0,
      maxPoolSize: 4,
      passwordPolicy: { enabled: true, type: 'GENERIC', warningDays: 10, passwordChangeUrl: 'https://pm.example.org/change' },
    });
  });

  it('lists sources by n, contiguous or not, with distinct default names; DIRECT, AD and ANONYMOUS need no service account', () => {
    const sources = loadCasConfig({
      CAS_AUTHN_LDAP_7_TYPE: 'ad',
      CAS_AUTHN_LDAP_7_LDAP_URL: 'ldaps://dc1.example.org',
      CAS_AUTHN_LDAP_7_BASE_DN: 'dc=example,dc=org',
      CAS_AUTHN_LDAP_7_DN_FORMAT: '%s@example.org',
      CAS_AUTHN_LDAP_2_TYPE: 'DIRECT',
      CAS_AUTHN_LDAP_2_LDAP_URL: 'ldap://127.0.0.1:3890',
      CAS_AUTHN_LDAP_2_DN_FORMAT: 'uid=%s,ou=people,dc=example,dc=org',
      CAS_AUTHN_LDAP_10_TYPE: 'ANONYMOUS',
      CAS_AUTHN_LDAP_10_LDAP_URL: 'ldap://127.0.0.1:3890',
      CAS_AUTHN_LDAP_10_BASE_DN: 'dc=example,dc=org',
    }).ldap;
    expect(sources.map((s) => [s.index, s.type, s.name, s.searchFilter, s.passwordPolicy.type])).toEqual([
      [2, 'DIRECT', 'LdapAuthenticationHandler', '(uid={user})', 'GENERIC'],
      [7, 'AD', 'LdapAuthenticationHandler-7', '(sAMAccountName={user})', 'AD'],
      [10, 'ANONYMOUS', 'LdapAuthenticationHandler-10', '(uid={user})', 'GENERIC'],
    ]);
  });

  it('reads the CA file of TRUST_CERTIFICATES (plain path or file:), and stops on an unusable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldap-config-'));
    try {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----';
      writeFileSync(join(dir, 'ca.pem'), `junk\n${pem}\n`);
      writeFileSync(join(dir, 'empty.pem'), 'nothing here');
      expect(loadCasConfig({ ...SEARCH, CAS_AUTHN_LDAP_0_TRUST_CERTIFICATES: `file:${join(dir, 'ca.pem')}` }).ldap[0].trustCertificates).toEqual([pem]);
      expect(configError({ ...SEARCH, CAS_AUTHN_LDAP_0_TRUST_CERTIFICATES: join(dir, 'missing.pem') })).toMatch(/CAS_AUTHN_LDAP_0_TRUST_CERTIFICATES: cannot read .*missing\.pem \(ENOENT\)/);
      expect(configError({ ...SEARCH, CAS_AUTHN_LDAP_0_TRUST_CERTIFICATES: join(dir, 'empty.pem') })).toMatch(/CAS_AUTHN_LDAP_0_TRUST_CERTIFICATES: no PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every missing required setting by its variable, per type', () => {
    const msg = configError({
      CAS_AUTHN_LDAP_0_TYPE: 'AUTHENTICATED',
      CAS_AUTHN_LDAP_1_TYPE: 'DIRECT',
      CAS_AUTHN_LDAP_1_LDAP_URL: 'ldap://127.0.0.1',
      CAS_AUTHN_LDAP_2_TYPE: 'AD',
      CAS_AUTHN_LDAP_2_LDAP_URL: 'ldap://127.0.0.1',
      CAS_AUTHN_LDAP_3_LDAP_URL: 'ldap://127.0.0.1',
      CAS_AUTHN_LDAP_3_BASE_DN: 'dc=example,dc=org',
      CAS_AUTHN_LDAP_3_BIND_DN: 'cn=cas,dc=example,dc=org',
    });
    for (const v of [
      'CAS_AUTHN_LDAP_0_LDAP_URL: is required',
      'CAS_AUTHN_LDAP_0_BIND_DN: is required',
      'CAS_AUTHN_LDAP_0_BASE_DN: is required',
      'CAS_AUTHN_LDAP_1_DN_FORMAT: is required',
      'CAS_AUTHN_LDAP_2_DN_FORMAT: is required',
      'CAS_AUTHN_LDAP_2_BASE_DN: is required',
      'CAS_AUTHN_LDAP_3_BIND_CREDENTIAL: is required with CAS_AUTHN_LDAP_3_BIND_DN',
    ]) {
      expect(msg).toContain(v);
    }
    expect(msg).not.toContain('CAS_AUTHN_LDAP_1_BASE_DN');
  });

  it('refuses unknown keys and bad values, naming each variable, and never echoes the credential', () => {
    const msg = configError({
      ...SEARCH,
      CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: 'do-not-print-me',
      CAS_AUTHN_LDAP_0_LDAP_URLS: 'ldap://typo',
      CAS_AUTHN_LDAP_0_TYPE: 'KERBEROS',
      CAS_AUTHN_LDAP_0_LDAP_URL: 'ldap://ok.example.org http://web.example.org',
      CAS_AUTHN_LDAP_0_USE_START_TLS: 'yes',
      CAS_AUTHN_LDAP_0_SEARCH_FILTER: 'uid=alice',
      CAS_AUTHN_LDAP_0_CONNECT_TIMEOUT: '5 seconds',
      CAS_AUTHN_LDAP_0_RESPONSE_TIMEOUT: 'PT0S',
      CAS_AUTHN_LDAP_0_MIN_POOL_SIZE: '20',
      CAS_AUTHN_LDAP_0_MAX_POOL_SIZE: '0',
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: 'cn,mail:a:b,(x)',
      CAS_AUTHN_LDAP_0_PASSWORD_POLICY_TYPE: 'EDIRECTORY',
      CAS_AUTHN_LDAP_0_DN_FORMAT: 'uid=%s,ou=%s',
    });
    for (const v of [
      'CAS_AUTHN_LDAP_0_LDAP_URLS: is not a setting',
      'CAS_AUTHN_LDAP_0_TYPE: must be one of AUTHENTICATED, ANONYMOUS, DIRECT, AD',
      "CAS_AUTHN_LDAP_0_LDAP_URL: 'http://web.example.org' is not an ldap:// or ldaps:// URL",
      'CAS_AUTHN_LDAP_0_USE_START_TLS: must be true or false',
      'CAS_AUTHN_LDAP_0_SEARCH_FILTER: must contain {user}',
      'CAS_AUTHN_LDAP_0_CONNECT_TIMEOUT: must be a duration',
      'CAS_AUTHN_LDAP_0_RESPONSE_TIMEOUT: must be a duration',
      'CAS_AUTHN_LDAP_0_MAX_POOL_SIZE: must be an integer from 1',
      "CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: 'mail:a:b' is not attribute or attribute:name",
      "CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: '(x)' is not attribute or attribute:name",
      'CAS_AUTHN_LDAP_0_PASSWORD_POLICY_TYPE: must be one of GENERIC, AD',
      'CAS_AUTHN_LDAP_0_DN_FORMAT: must contain %s exactly once',
    ]) {
      expect(msg).toContain(v);
    }
    expect(msg).not.toContain('do-not-print-me');
  });

  it('refuses a filter ldapts cannot parse, StartTLS on ldaps://, and names that collide', () => {
    expect(configError({ ...SEARCH, CAS_AUTHN_LDAP_0_SEARCH_FILTER: '(uid={user}))' })).toContain("CAS_AUTHN_LDAP_0_SEARCH_FILTER: '(uid={user}))' is not an LDAP filter");
    expect(configError({ ...SEARCH, CAS_AUTHN_LDAP_0_LDAP_URL: 'ldaps://x.example.org', CAS_AUTHN_LDAP_0_USE_START_TLS: 'true' })).toContain(
      'CAS_AUTHN_LDAP_0_USE_START_TLS: cannot be used with an ldaps:// URL',
    );
    const second = Object.fromEntries(Object.entries(SEARCH).map(([k, v]) => [k.replace('_0_', '_1_'), v]));
    expect(configError({ ...SEARCH, ...second, CAS_AUTHN_LDAP_1_NAME: 'LdapAuthenticationHandler' })).toContain(
      "CAS_AUTHN_LDAP_1_NAME: 'LdapAuthenticationHandler' is already the name of CAS_AUTHN_LDAP_0",
    );
    expect(configError({ ...SEARCH, CAS_AUTHN_LDAP_0_NAME: 'AcceptUsersAuthenticationHandler' })).toContain('is already the name of the static list');
  });

  it('reads durations as Java does, with plain numbers as seconds (CAS Beans.newDuration)', () => {
    expect(parseDurationMs('PT5S')).toBe(5000);
    expect(parseDurationMs('PT1M30S')).toBe(90000);
    expect(parseDurationMs('pt0.25s')).toBe(250);
    expect(parseDurationMs('2')).toBe(2000);
    expect(parseDurationMs('1.5')).toBe(1500);
    for (const bad of ['P', 'PT', '5s', '-1', 'PT-1S']) expect(parseDurationMs(bad)).toBeUndefined();
  });
});

describe('LDAP attribute repositories from CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_<n>_*', () => {
  it('reads them with the shared connection keys, attributes with renames, id and order', () => {
    const [r] = loadCasConfig({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_LDAP_URL: 'ldap://127.0.0.1:3890 ldap://127.0.0.1:3891',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_BASE_DN: 'ou=people,dc=example,dc=org',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_BIND_DN: 'cn=cas,dc=example,dc=org',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_BIND_CREDENTIAL: 's',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_ATTRIBUTES: 'cn:commonName,memberOf:groups',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_3_ORDER: '2',
    }).attributeRepositoryLdap;
    expect(r).toMatchObject({
      index: 3,
      id: 'LdapAttributeRepository',
      order: 2,
      urls: ['ldap://127.0.0.1:3890', 'ldap://127.0.0.1:3891'],
      searchFilter: '(uid={user})',
      subtreeSearch: true,
      attributes: [
        { attribute: 'cn', name: 'commonName' },
        { attribute: 'memberOf', name: 'groups' },
      ],
    });
  });

  it('names missing and unknown keys by variable', () => {
    const msg = configError({ CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_LDAP_URL: 'ldap://x', CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_TYPE: 'AD' });
    expect(msg).toContain('CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BASE_DN: is required');
    expect(msg).toContain('CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ATTRIBUTES: is required');
    expect(msg).toContain('CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_TYPE: is not a setting');
  });
});

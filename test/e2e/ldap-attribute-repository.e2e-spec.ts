import { Logger } from '@nestjs/common';
import { LdapAttributeRepository } from '../../src/auth/attributes/ldap-attribute-repository';
import { loadCasConfig } from '../../src/config/cas-config';
import { Browser, ticketOf } from '../helpers/browser';
import { startSlapd, type Slapd } from '../helpers/slapd';
import { startTestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// The LDAP attribute repository against slapd, below the resolver (which lives on the attr-repos
// branch): what it returns for a user, for no user, and for names built to widen its filter.


describe('LdapAttributeRepository (cas.authn.attribute-repository.ldap[n]) against slapd', () => {
  let slapd: Slapd;
  let repo: LdapAttributeRepository;
  beforeAll(async () => {
    slapd = await startSlapd();
    const [config] = loadCasConfig({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ID: 'Directory',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_LDAP_URL: slapd.url,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BASE_DN: slapd.baseDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_DN: slapd.serviceDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ATTRIBUTES: 'cn:commonName,mail,memberOf:groups',
    }).attributeRepository.ldap;
    repo = new LdapAttributeRepository(config, new Logger('test'));
  });
  afterAll(async () => {
    await repo?.close();
    await slapd?.stop();
  });

  it("resolves a user's attributes under their release names", async () => {
    const attributes = await repo.resolve('alice');
    expect(attributes).toMatchObject({ commonName: ['Alice Liddell'], mail: ['alice@example.org'] });
    expect([...attributes!.groups].sort()).toEqual([`cn=faculty,ou=groups,${slapd.baseDn}`, `cn=staff,ou=groups,${slapd.baseDn}`]);
  });

  it('null for no such user, and for names that would widen a concatenated filter', async () => {
    for (const name of ['nobody', '*', 'al*', 'alice)(uid=*', '*)(uid=*))(|(uid=*', 'alice\\', 'alice\u0000']) {
      expect({ name, attributes: await repo.resolve(name) }).toEqual({ name, attributes: null });
    }
    expect(await repo.resolve('o(b)r*i\\en')).toEqual({ commonName: ['Obrien'] });
  });

  it('a directory that is down throws (the resolver logs it and the login goes on), naming the repository, never the credential', async () => {
    const [config] = loadCasConfig({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ID: 'Gone',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_LDAP_URL: 'ldap://127.0.0.1:1',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BASE_DN: slapd.baseDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_DN: slapd.serviceDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ATTRIBUTES: 'mail',
    }).attributeRepository.ldap;
    const gone = new LdapAttributeRepository(config, new Logger('test'));
    try {
      const error: Error = await gone.resolve('alice').then(() => new Error('resolved'), (e: Error) => e);
      expect(error.message).toMatch(/^Gone: no LDAP server answered: ldap:\/\/127\.0\.0\.1:1 failed \(.*ECONNREFUSED/);
      expect(error.message).not.toContain(slapd.servicePassword);
    } finally {
      await gone.close();
    }
  });
});

describe('the LDAP attribute repository at login', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(() => slapd?.stop());

  it("adds the directory's attributes to a user the static list authenticated, and /p3/serviceValidate releases them", async () => {
    const t = await startTestApp({
      env: {
        ARGON2_MEMORY_KIB: '8192',
        ARGON2_TIME_COST: '1',
        CAS_AUTHN_ACCEPT_USERS: 'alice::static-password',
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ID: 'Directory',
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_LDAP_URL: slapd.url,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BASE_DN: slapd.baseDn,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_DN: slapd.serviceDn,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ATTRIBUTES: 'cn:commonName,mail',
      },
    });
    try {
      const login = await new Browser(t.app).login('alice', 'static-password', APP);
      expect(login.statusCode).toBe(302);
      const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(login)}` });
      const success = res.json().serviceResponse.authenticationSuccess;
      expect(success.user).toBe('alice');
      expect(success.attributes).toMatchObject({ commonName: ['Alice Liddell'], mail: ['alice@example.org'], authenticationMethod: ['AcceptUsersAuthenticationHandler'] });
    } finally {
      await t.close();
    }
  });
});

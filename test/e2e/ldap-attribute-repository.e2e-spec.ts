import { Logger } from '@nestjs/common';
import { LdapAttributeRepository } from '../../src/auth/attributes/ldap-attribute-repository';
import { loadCasConfig } from '../../src/config/cas-config';
import { startSlapd, type Slapd } from '../helpers/slapd';

// The LDAP attribute repository against slapd, below the resolver (which lives on the attr-repos
// branch): what it returns for a user, for no user, and for names built to widen its filter.

/** startSlapd, tried again when the harness's confirmBind meets ECONNREFUSED (see ldap-failover.e2e-spec.ts). */
async function startSlapdRetrying(): Promise<Slapd> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSlapd();
    } catch (error) {
      if (attempt >= 6 || !/does not answer/.test(String(error))) throw error;
    }
  }
}

describe('LdapAttributeRepository (cas.authn.attribute-repository.ldap[n]) against slapd', () => {
  let slapd: Slapd;
  let repo: LdapAttributeRepository;
  beforeAll(async () => {
    slapd = await startSlapdRetrying();
    const [config] = loadCasConfig({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ID: 'Directory',
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_LDAP_URL: slapd.url,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BASE_DN: slapd.baseDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_DN: slapd.serviceDn,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_LDAP_0_ATTRIBUTES: 'cn:commonName,mail,memberOf:groups',
    }).attributeRepositoryLdap;
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
    }).attributeRepositoryLdap;
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

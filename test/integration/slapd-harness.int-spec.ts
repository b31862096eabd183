import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError } from 'ldapts';
import { FIXTURE_PASSWORDS, PEOPLE_DN, Slapd, startSlapd } from '../helpers/slapd';

// The test directory itself (test/helpers/slapd.ts): what the LDAP handler's tests rely on, checked
// with ldapts directly so that a broken fixture shows here, not as a puzzling handler failure.

const ALICE = `uid=alice,${PEOPLE_DN}`;

async function withClient<T>(url: string, use: (c: Client) => Promise<T>, tlsOptions?: ConnectionOptions): Promise<T> {
  const client = new Client({ url, connectTimeout: 5000, timeout: 5000, tlsOptions });
  try {
    return await use(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

describe('slapd test harness', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
  });
  afterAll(() => slapd?.stop());

  it('alice binds, and the service account finds her with memberOf staff and faculty', async () => {
    await withClient(slapd.url, (c) => c.bind(ALICE, FIXTURE_PASSWORDS.alice));
    const entries = await withClient(slapd.url, async (c) => {
      await c.bind(slapd.serviceDn, slapd.servicePassword);
      const { searchEntries } = await c.search(PEOPLE_DN, { scope: 'sub', filter: '(uid=alice)', attributes: ['cn', 'mail', 'memberOf', 'userPassword'] });
      return searchEntries;
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ dn: ALICE, cn: 'Alice Liddell', mail: 'alice@example.org' });
    expect([entries[0].memberOf].flat().sort()).toEqual([`cn=faculty,ou=groups,${slapd.baseDn}`, `cn=staff,ou=groups,${slapd.baseDn}`]);
    // ldapts lists a requested attribute the server did not send as []: no value came back.
    expect(entries[0].userPassword).toEqual([]);
  });

  it('anonymous searches people but never reads a password', async () => {
    const { searchEntries } = await withClient(slapd.url, (c) =>
      c.search(PEOPLE_DN, { scope: 'sub', filter: '(uid=smithj)', attributes: ['cn', 'userPassword'] }),
    );
    // slapd sends the DN in its own RFC 4514 form: the comma as \2C.
    expect(searchEntries).toEqual([{ dn: `cn=Smith\\2C John,${PEOPLE_DN}`, cn: 'Smith, John', userPassword: [] }]);
  });

  it('the awkward uid binds under its escaped DN', async () => {
    await withClient(slapd.url, (c) => c.bind(`uid=o(b)r*i\\5Cen,${PEOPLE_DN}`, FIXTURE_PASSWORDS['o(b)r*i\\en']));
  });

  it('a wrong password is invalidCredentials', async () => {
    await expect(withClient(slapd.url, (c) => c.bind(ALICE, 'not-her-password'))).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('the locked account is refused with its right password', async () => {
    await expect(withClient(slapd.url, (c) => c.bind(`uid=locked,${PEOPLE_DN}`, FIXTURE_PASSWORDS.locked))).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
  });

  it('the expired account is refused, the warned one binds', async () => {
    await expect(withClient(slapd.url, (c) => c.bind(`uid=expired,${PEOPLE_DN}`, FIXTURE_PASSWORDS.expired))).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    await withClient(slapd.url, (c) => c.bind(`uid=warned,${PEOPLE_DN}`, FIXTURE_PASSWORDS.warned));
  });

  it('LDAPS works with the test CA and fails without it', async () => {
    await withClient(slapd.ldapsUrl!, (c) => c.bind(ALICE, FIXTURE_PASSWORDS.alice), { ca: slapd.caCert, rejectUnauthorized: true });
    await expect(withClient(slapd.ldapsUrl!, (c) => c.bind(ALICE, FIXTURE_PASSWORDS.alice), { rejectUnauthorized: true })).rejects.toThrow(
      /self[- ]signed|unable to (get|verify)/i,
    );
  });

  it('StartTLS on the plain port works with the test CA and fails without it', async () => {
    await withClient(slapd.url, async (c) => {
      await c.startTLS({ ca: slapd.caCert, rejectUnauthorized: true, servername: 'localhost' });
      await c.bind(ALICE, FIXTURE_PASSWORDS.alice);
    });
    await expect(withClient(slapd.url, (c) => c.startTLS({ rejectUnauthorized: true }))).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  it('extraUsers adds userN (secret-N); stop() ends the server: the next connect fails, and a second stop() is harmless', async () => {
    const other = await startSlapd({ extraUsers: 2 });
    await withClient(other.url, (c) => c.bind(`uid=user2,${PEOPLE_DN}`, 'secret-2'));
    // Each instance has a rootdn password of its own: how a start tells its slapd from another on the same port.
    await expect(withClient(slapd.url, (c) => c.bind(other.adminDn, other.adminPassword))).rejects.toBeInstanceOf(InvalidCredentialsError);
    await other.stop();
    await other.stop();
    await expect(withClient(other.url, (c) => c.bind(ALICE, FIXTURE_PASSWORDS.alice))).rejects.toThrow(/ECONNREFUSED/);
  });
});

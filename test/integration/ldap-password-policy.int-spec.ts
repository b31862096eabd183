import { Client } from 'ldapts';
import {
  bindOutcome,
  type BindOutcome,
  passwordPolicyAttributes,
  passwordPolicyControl,
  type PasswordPolicyControl,
  type PasswordPolicySettings,
} from '../../src/auth/ldap/password-policy';
import { freePort } from '../helpers/server-process';
import { BASE_DN, FIXTURE_PASSWORDS, PEOPLE_DN, Slapd, startSlapd } from '../helpers/slapd';

// The account states of test/fixtures/ldap/directory.ldif as a real slapd (ppolicy overlay) reports
// them: each fixture is bound with ldapts and the ppolicy request control, as the LDAP handler
// binds, and bindOutcome reads the answer.

const GENERIC: PasswordPolicySettings = { enabled: true, type: 'GENERIC', warningDays: 7, passwordChangeUrl: 'https://pw.example.org/change' };
const CHANGE_URL = GENERIC.passwordChangeUrl;

interface Bound {
  outcome: BindOutcome;
  /** Whether the bind itself succeeded (a must-change account binds, yet may not log in). */
  bindSucceeded: boolean;
  control?: PasswordPolicyControl;
}

async function bindAs(url: string, dn: string, password: string, settings: PasswordPolicySettings): Promise<Bound> {
  const client = new Client({ url, connectTimeout: 5000, timeout: 5000 });
  const control = passwordPolicyControl(settings);
  let error: unknown;
  let entry: Record<string, string | string[] | Buffer | Buffer[]> | undefined;
  try {
    try {
      await client.bind(dn, password, control ? [control] : undefined);
    } catch (e) {
      error = e;
    }
    // AD reads the expiry from the entry, as the user (only AD asks for attributes).
    const attributes = passwordPolicyAttributes(settings);
    if (error === undefined && attributes.length > 0) {
      const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['cn', ...attributes] });
      entry = searchEntries[0];
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
  return { outcome: bindOutcome(settings, error, control, entry, new Date()), bindSucceeded: error === undefined, control };
}

const person = (uid: string) => `uid=${uid},${PEOPLE_DN}`;

describe('password policy against slapd with ppolicy (GENERIC)', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(() => slapd?.stop());

  it('alice: success, no warning (the control came back empty)', async () => {
    const { outcome, control } = await bindAs(slapd.url, person('alice'), FIXTURE_PASSWORDS.alice, GENERIC);
    expect(outcome).toEqual({ kind: 'success' });
    expect(control?.value ?? {}).toEqual({});
  });

  it('a wrong password: rejected without state', async () => {
    const { outcome } = await bindAs(slapd.url, person('bob'), 'not-bob-secret', GENERIC);
    expect(outcome).toEqual({ kind: 'rejected' });
  });

  it('locked: rejected, locked (even with the right password)', async () => {
    const { outcome, bindSucceeded } = await bindAs(slapd.url, person('locked'), FIXTURE_PASSWORDS.locked, GENERIC);
    expect(bindSucceeded).toBe(false);
    expect(outcome).toEqual({ kind: 'rejected', state: 'locked' });
  });

  it('expired: rejected, password-expired', async () => {
    const { outcome, bindSucceeded } = await bindAs(slapd.url, person('expired'), FIXTURE_PASSWORDS.expired, GENERIC);
    expect(bindSucceeded).toBe(false);
    expect(outcome).toEqual({ kind: 'rejected', state: 'password-expired', changeUrl: CHANGE_URL });
  });

  it('mustchange: the bind succeeds, but the login is rejected, must-change-password', async () => {
    const { outcome, bindSucceeded } = await bindAs(slapd.url, person('mustchange'), FIXTURE_PASSWORDS.mustchange, GENERIC);
    expect(bindSucceeded).toBe(true);
    expect(outcome).toEqual({ kind: 'rejected', state: 'must-change-password', changeUrl: CHANGE_URL });
  });

  it('warned: success with a warning, 3 days left (pwdMaxAge 30 days, changed 27 days ago), and the change URL', async () => {
    const { outcome, control } = await bindAs(slapd.url, person('warned'), FIXTURE_PASSWORDS.warned, GENERIC);
    const seconds = control?.value?.timeBeforeExpiration;
    expect(seconds).toBeGreaterThan(2 * 86_400);
    expect(seconds).toBeLessThanOrEqual(3 * 86_400);
    expect(outcome).toEqual({ kind: 'success', warning: { passwordExpiresInDays: 3, changeUrl: CHANGE_URL } });
  });

  it('warned, with warning-days 2: no warning (the server warns, the setting decides)', async () => {
    const { outcome } = await bindAs(slapd.url, person('warned'), FIXTURE_PASSWORDS.warned, { ...GENERIC, warningDays: 2 });
    expect(outcome).toEqual({ kind: 'success' });
  });

  it('graced: success with a warning of the grace logins left, one fewer each bind', async () => {
    const first = await bindAs(slapd.url, person('graced'), FIXTURE_PASSWORDS.graced, GENERIC);
    const left = first.control?.value?.graceAuthNsRemaining;
    expect(left).toEqual(expect.any(Number));
    expect(first.outcome).toEqual({ kind: 'success', warning: { graceLoginsRemaining: left, changeUrl: CHANGE_URL } });
    const second = await bindAs(slapd.url, person('graced'), FIXTURE_PASSWORDS.graced, GENERIC);
    expect(second.outcome).toEqual({ kind: 'success', warning: { graceLoginsRemaining: left! - 1, changeUrl: CHANGE_URL } });
  });

  it('policy disabled: no control is sent, so no states and no warnings', async () => {
    const off = { ...GENERIC, enabled: false };
    expect((await bindAs(slapd.url, person('locked'), FIXTURE_PASSWORDS.locked, off)).outcome).toEqual({ kind: 'rejected' });
    const mustchange = await bindAs(slapd.url, person('mustchange'), FIXTURE_PASSWORDS.mustchange, off);
    expect(mustchange.control).toBeUndefined();
    expect(mustchange.outcome).toEqual({ kind: 'success' });
    expect((await bindAs(slapd.url, person('warned'), FIXTURE_PASSWORDS.warned, off)).outcome).toEqual({ kind: 'success' });
  });

  it('AD mode against slapd\'s AD-shaped entry: success without warning (no msDS-UserPasswordExpiryTimeComputed), a wrong password rejected without state', async () => {
    const adSettings: PasswordPolicySettings = { ...GENERIC, type: 'AD' };
    const jdoe = `cn=jdoe,ou=ad,${BASE_DN}`;
    expect((await bindAs(slapd.url, jdoe, FIXTURE_PASSWORDS.jdoe, adSettings)).outcome).toEqual({ kind: 'success' });
    expect((await bindAs(slapd.url, jdoe, 'not-jdoe-secret', adSettings)).outcome).toEqual({ kind: 'rejected' });
  });

  it('no server listening: unavailable', async () => {
    const port = await freePort();
    const { outcome } = await bindAs(`ldap://127.0.0.1:${port}`, person('alice'), FIXTURE_PASSWORDS.alice, GENERIC);
    expect(outcome).toMatchObject({ kind: 'unavailable' });
  });
});

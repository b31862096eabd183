import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { GauthCredentials, GauthError } from '../../src/auth/mfa/gauth/gauth-credentials';
import { GauthSecretUnreadableError, GauthUnavailableError } from '../../src/auth/mfa/gauth/gauth-keys';
import { Sql } from '../../src/database/sql';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';

const KEY = randomBytes(32).toString('base64url');
const KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';

/** The code an authenticator app shows for `secret` at the clock's time moved by `offsetSeconds`. */
function codeAt(clock: MutableClock, secret: string, offsetSeconds = 0, digits = 6): string {
  return authenticator.clone({ digits, step: 30, epoch: clock.now().getTime() + offsetSeconds * 1000 }).generate(secret);
}

/** The mfa-gauth store through the app's real providers on the embedded Postgres; time only moves when a test moves it. */
describe('mfa-gauth credentials (TOTP)', () => {
  let t: TestApp;
  let gauth: GauthCredentials;
  /** Further nodes on the same database, started by the tests that need them. */
  const others: TestApp[] = [];
  const node = async (env: Record<string, string>): Promise<TestApp> => {
    const other = await startTestApp({ databaseUrl: t.config.databaseUrl, env });
    other.clock.freeze();
    other.clock.advance((t.clock.now().getTime() - other.clock.now().getTime()) / 1000);
    others.push(other);
    return other;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { [KEY_VARIABLE]: KEY, CAS_AUTHN_MFA_GAUTH_CORE_ISSUER: 'Example University', CAS_AUTHN_MFA_GAUTH_CORE_LABEL: 'cas.example.org' } });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(async () => {
    for (const other of others) await other.close();
    await t.close();
  });

  /** Enrols and confirms a device for `username`: its secret and scratch codes. */
  async function enrolled(username: string, app = gauth, clock = t.clock) {
    const enrolment = await app.enrol(username, 'phone');
    expect(await app.confirm(enrolment.credentialId, codeAt(clock, enrolment.secret))).toEqual({ ok: true, credentialId: enrolment.credentialId, scratchCode: false });
    // The confirming code's step is used: the next code is the next step's.
    clock.advance(30);
    return enrolment;
  }

  it('enrols a pending device whose otpauth URI carries the issuer, label, secret, digits and period', async () => {
    const e = await gauth.enrol('alice', 'Pixel 8');
    const uri = new URL(e.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/cas.example.org:alice');
    expect(uri.searchParams.get('secret')).toBe(e.secret);
    expect(uri.searchParams.get('issuer')).toBe('Example University');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(e.scratchCodes).toHaveLength(5);
    const [device] = await gauth.list('alice');
    expect(device).toMatchObject({ id: e.credentialId, username: 'alice', deviceName: 'Pixel 8', confirmedAt: null });
    // Pending: not asked at login.
    expect(await gauth.verify('alice', codeAt(t.clock, e.secret))).toEqual({ ok: false, reason: 'no-device' });
  });

  it('confirms by a first code, then accepts a code once: the same code again is refused, the next step’s is accepted', async () => {
    const e = await gauth.enrol('bob', 'phone');
    const right = codeAt(t.clock, e.secret);
    expect(await gauth.confirm(e.credentialId, String((Number(right) + 1) % 1_000_000).padStart(6, '0'))).toEqual({ ok: false, reason: 'invalid' });
    expect((await gauth.list('bob'))[0].confirmedAt).toBeNull();
    expect(await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: false });
    expect((await gauth.list('bob'))[0].confirmedAt).toBeInstanceOf(Date);
    // The confirming code was used: it does not log in.
    expect(await gauth.verify('bob', codeAt(t.clock, e.secret))).toEqual({ ok: false, reason: 'replayed' });
    t.clock.advance(30);
    const code = codeAt(t.clock, e.secret);
    expect(await gauth.verify('bob', code)).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: false });
    expect(await gauth.verify('bob', code)).toEqual({ ok: false, reason: 'replayed' });
    // Still refused 30 s later, while its step is in the window (window-size 3: one step back).
    t.clock.advance(30);
    expect(await gauth.verify('bob', code)).toEqual({ ok: false, reason: 'replayed' });
    expect(await gauth.verify('bob', codeAt(t.clock, e.secret))).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: false });
    const [{ count }] = (await t.sql.query(`SELECT count(*)::int AS count FROM gauth_used_codes WHERE credential_id = $1`, [e.credentialId])).rows;
    expect(count).toBeGreaterThan(0);
  });

  it('accepts the step before and after (window-size 3), refuses codes two steps away and wrong codes', async () => {
    const e = await enrolled('carol');
    // The step before now is the confirming code's: one step further, it is free again.
    t.clock.advance(30);
    expect(await gauth.verify('carol', codeAt(t.clock, e.secret, -60))).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('carol', codeAt(t.clock, e.secret, 60))).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('carol', codeAt(t.clock, e.secret, -30))).toMatchObject({ ok: true });
    expect(await gauth.verify('carol', codeAt(t.clock, e.secret, 30))).toMatchObject({ ok: true });
    const right = codeAt(t.clock, e.secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(await gauth.verify('carol', wrong)).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('carol', 'abcdef')).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('carol', '')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts a scratch code once, however it is typed, and only for its user', async () => {
    const e = await enrolled('dave');
    await enrolled('erin');
    const [first, second] = e.scratchCodes;
    expect(first).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
    expect(await gauth.verify('erin', first)).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('dave', ` ${first.toLowerCase().replace(/-/g, ' ')} `)).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: true });
    expect(await gauth.verify('dave', first)).toEqual({ ok: false, reason: 'invalid' });
    expect(await gauth.verify('dave', second)).toMatchObject({ ok: true, scratchCode: true });
    const { rows } = await t.sql.query(`SELECT encode(code_hash, 'hex') AS h FROM gauth_scratch_codes WHERE credential_id = $1`, [e.credentialId]);
    expect(rows).toHaveLength(3);
    for (const code of e.scratchCodes) expect(JSON.stringify(rows)).not.toContain(code.replace(/-/g, ''));
  });

  it('stores the secret encrypted: the column is not the base32 secret and opens only with the key', async () => {
    const e = await enrolled('frank');
    const { rows } = await t.sql.query(`SELECT secret_encrypted FROM gauth_credentials WHERE id = $1`, [e.credentialId]);
    expect(rows[0].secret_encrypted).not.toContain(e.secret);
    expect(rows[0].secret_encrypted.split('.')).toHaveLength(5); // a compact JWE
    const otherKey = await node({ [KEY_VARIABLE]: randomBytes(32).toString('base64url') });
    await expect(otherKey.app.get(GauthCredentials).verify('frank', codeAt(t.clock, e.secret))).rejects.toThrow(GauthSecretUnreadableError);
    // A secret copied onto another device's row does not open there either.
    const g = await enrolled('grace');
    await t.sql.query(`UPDATE gauth_credentials SET secret_encrypted = $1 WHERE id = $2`, [rows[0].secret_encrypted, g.credentialId]);
    await expect(gauth.verify('grace', codeAt(t.clock, e.secret))).rejects.toThrow(GauthSecretUnreadableError);
  });

  it('refuses a second device unless multiple-device-registration-enabled', async () => {
    await enrolled('heidi');
    const refused = await gauth.enrol('heidi', 'tablet').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GauthError);
    expect((refused as GauthError).reason).toBe('device-already-registered');
    // A later enrolment replaces a pending one (abandoned): only one device can become confirmed.
    const a = await gauth.enrol('ivan', 'phone');
    const b = await gauth.enrol('ivan', 'tablet');
    await expect(gauth.confirm(a.credentialId, codeAt(t.clock, a.secret))).rejects.toThrow(GauthError); // dropped by the later enrolment
    expect(await gauth.confirm(b.credentialId, codeAt(t.clock, b.secret))).toMatchObject({ ok: true });

    const multi = await node({ [KEY_VARIABLE]: KEY, CAS_AUTHN_MFA_GAUTH_CORE_MULTIPLE_DEVICE_REGISTRATION_ENABLED: 'true' });
    const m = multi.app.get(GauthCredentials);
    const tablet = await m.enrol('heidi', 'tablet');
    expect(await m.confirm(tablet.credentialId, codeAt(multi.clock, tablet.secret))).toMatchObject({ ok: true });
    expect((await m.list('heidi')).map((d) => d.deviceName)).toEqual(['phone', 'tablet']);
    multi.clock.advance(30);
    expect(await m.verify('heidi', codeAt(multi.clock, tablet.secret))).toEqual({ ok: true, credentialId: tablet.credentialId, scratchCode: false });
    expect(await m.remove('heidi', tablet.credentialId)).toBe(1);
    expect(await m.remove('heidi', 'not-a-uuid')).toBe(0);
    expect(await m.list('HEIDI')).toHaveLength(1);
    expect(await m.remove('Heidi')).toBe(1);
    expect(await m.list('heidi')).toEqual([]);
  });

  it('one user whatever the spelling: ALICE and alice share devices, scratch codes and replay protection', async () => {
    const e = await enrolled('Judy');
    expect((await gauth.list('JUDY'))[0]).toMatchObject({ id: e.credentialId, username: 'Judy' });
    const code = codeAt(t.clock, e.secret);
    expect(await gauth.verify('JUDY', code)).toMatchObject({ ok: true });
    expect(await gauth.verify('judy', code)).toEqual({ ok: false, reason: 'replayed' });
    expect(await gauth.enrol('judy', 'tablet').catch((err: GauthError) => err.reason)).toBe('device-already-registered');
  });

  it('two nodes verifying the same code at once: exactly one accepts it', async () => {
    const e = await enrolled('mallory');
    const second = await node({ [KEY_VARIABLE]: KEY });
    const code = codeAt(t.clock, e.secret);
    const results = await Promise.all([gauth.verify('mallory', code), second.app.get(GauthCredentials).verify('mallory', code), gauth.verify('mallory', code)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'replayed' }, { ok: false, reason: 'replayed' }]);
    // A scratch code too.
    const scratch = await Promise.all([gauth.verify('mallory', e.scratchCodes[0]), second.app.get(GauthCredentials).verify('mallory', e.scratchCodes[0])]);
    expect(scratch.filter((r) => r.ok)).toHaveLength(1);
  });

  it('without a key outside development mode: nothing is stored or read, with a clear error', async () => {
    const e = await enrolled('niaj');
    const keyless = await node({});
    expect(keyless.config.development.enabled).toBe(false);
    const k = keyless.app.get(GauthCredentials);
    await expect(k.enrol('oscar', 'phone')).rejects.toThrow(GauthUnavailableError);
    await expect(k.enrol('oscar', 'phone')).rejects.toThrow(/mfa-gauth is unavailable: CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY is not set/);
    await expect(k.verify('niaj', codeAt(t.clock, e.secret))).rejects.toThrow(GauthUnavailableError);
    await expect(k.confirm(e.credentialId, codeAt(t.clock, e.secret))).rejects.toThrow(GauthUnavailableError);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM gauth_credentials WHERE username_key = 'oscar'`);
    expect(rows[0].n).toBe(0);
    // The admin can still see and remove devices: no secret is read for that.
    expect(await k.list('niaj')).toHaveLength(1);
  });

  it('expired used steps are deleted as the user verifies again', async () => {
    const e = await enrolled('peggy');
    expect(await gauth.verify('peggy', codeAt(t.clock, e.secret))).toMatchObject({ ok: true });
    t.clock.advance(120);
    expect(await gauth.verify('peggy', codeAt(t.clock, e.secret))).toMatchObject({ ok: true });
    const { rows } = await t.sql.query(`SELECT time_step FROM gauth_used_codes WHERE credential_id = $1`, [e.credentialId]);
    expect(rows).toEqual([{ time_step: String(Math.floor(t.clock.now().getTime() / 30_000)) }]);
  });

  describe('with the devices the code page carried (confirmedDevices, read at the password step)', () => {
    /** How many statements `run` sends through the app's Sql (its autocommit and prepared statements, and transactions; each counted once). */
    async function statements(run: () => Promise<unknown>): Promise<number> {
      const sql = t.app.get(Sql);
      const spies = (['rows', 'one', 'affected', 'prepared', 'transaction'] as const).map((m) => jest.spyOn(sql, m));
      try {
        await run();
        return spies.reduce((n, s) => n + s.mock.calls.length, 0);
      } finally {
        for (const s of spies) s.mockRestore();
      }
    }

    it('accepts a right code once in one statement (no read of the devices), purging the expired used steps; a replay is refused', async () => {
      const e = await enrolled('quentin');
      const carried = await gauth.confirmedDevices('quentin');
      expect(carried).toEqual([{ id: e.credentialId, secret: expect.stringMatching(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/) }]);
      expect(carried[0].secret).not.toContain(e.secret);
      t.clock.advance(120);
      const code = codeAt(t.clock, e.secret);
      let result: unknown;
      expect(await statements(async () => (result = await gauth.verify('quentin', code, carried)))).toBe(1);
      expect(result).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: false });
      // The confirming code's step (two minutes ago) was purged by the same statement.
      const { rows } = await t.sql.query(`SELECT time_step FROM gauth_used_codes WHERE credential_id = $1`, [e.credentialId]);
      expect(rows).toEqual([{ time_step: String(Math.floor(t.clock.now().getTime() / 30_000)) }]);
      expect(await gauth.verify('quentin', code, carried)).toEqual({ ok: false, reason: 'replayed' });
      expect(await gauth.verify('QUENTIN', code, carried)).toEqual({ ok: false, reason: 'replayed' });
    });

    it('a device removed since the code page is not accepted; wrong codes, scratch codes and newer devices are checked as without it', async () => {
      const e = await enrolled('rupert');
      const carried = await gauth.confirmedDevices('rupert');
      // A scratch code and a wrong code: the devices as they are now decide.
      expect(await gauth.verify('rupert', e.scratchCodes[0], carried)).toEqual({ ok: true, credentialId: e.credentialId, scratchCode: true });
      const right = codeAt(t.clock, e.secret);
      expect(await gauth.verify('rupert', String((Number(right) + 1) % 1_000_000).padStart(6, '0'), carried)).toEqual({ ok: false, reason: 'invalid' });
      // Removed: its right code no longer logs in, carried or not.
      expect(await gauth.remove('rupert')).toBe(1);
      expect(await gauth.verify('rupert', right, carried)).toEqual({ ok: false, reason: 'no-device' });
      // Another user's carried device does not log this one in.
      const other = await enrolled('sybil');
      expect(await gauth.verify('rupert', codeAt(t.clock, other.secret), await gauth.confirmedDevices('sybil'))).toEqual({ ok: false, reason: 'no-device' });
      // A device enrolled after the code page was served: its code is still accepted.
      const later = await enrolled('rupert');
      expect(await gauth.verify('rupert', codeAt(t.clock, later.secret), carried)).toEqual({ ok: true, credentialId: later.credentialId, scratchCode: false });
    });
  });
});

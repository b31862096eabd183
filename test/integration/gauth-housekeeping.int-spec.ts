import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { AuthHousekeeping } from '../../src/auth/auth-housekeeping';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';

const ENV = { CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url') };

const codeAt = (clock: MutableClock, secret: string) => authenticator.clone({ step: 30, epoch: clock.now().getTime() }).generate(secret);

/** AuthHousekeeping's mfa-gauth part: spent TOTP codes and abandoned enrolments, on the embedded Postgres, time moved by the test. */
describe('auth housekeeping: mfa-gauth rows', () => {
  let t: TestApp;
  let gauth: GauthCredentials;
  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  const count = async (sql: string, params: unknown[] = []) => (await t.sql.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n as number;
  const housekeeping = () => t.app.get(AuthHousekeeping).run();

  it('deletes used codes once their step has left the window, never one still in it', async () => {
    const e = await gauth.enrol('alice', 'phone');
    expect(await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).toMatchObject({ ok: true });
    expect(await count(`gauth_used_codes WHERE credential_id = $1`, [e.credentialId])).toBe(1);
    expect(await housekeeping()).toMatchObject({ gauthUsedCodes: 0, gauthPendingEnrolments: 0 });

    t.clock.advance(30);
    const next = codeAt(t.clock, e.secret);
    expect(await gauth.verify('alice', next)).toMatchObject({ ok: true });
    // The confirming step is one step back: still in the window (window-size 3), so it stays.
    expect(await housekeeping()).toMatchObject({ gauthUsedCodes: 0 });
    expect(await count(`gauth_used_codes WHERE credential_id = $1`, [e.credentialId])).toBe(2);

    t.clock.advance(30);
    // Now two steps back: out of the window, deleted; the code accepted a step ago stays, and is still refused.
    expect(await housekeeping()).toMatchObject({ gauthUsedCodes: 1 });
    expect(await count(`gauth_used_codes WHERE credential_id = $1`, [e.credentialId])).toBe(1);
    expect(await gauth.verify('alice', next)).toEqual({ ok: false, reason: 'replayed' });
    // The device itself is untouched.
    expect((await gauth.list('alice'))[0]).toMatchObject({ id: e.credentialId, confirmedAt: expect.any(Date) });
  });

  it('deletes a pending enrolment (and its scratch codes) an hour after it began, not a minute before; confirmed devices stay', async () => {
    const confirmed = await gauth.enrol('bob', 'phone');
    expect(await gauth.confirm(confirmed.credentialId, codeAt(t.clock, confirmed.secret))).toMatchObject({ ok: true });
    const pending = await gauth.enrol('carol', 'phone');
    expect(await count(`gauth_scratch_codes WHERE credential_id = $1`, [pending.credentialId])).toBe(5);

    t.clock.advance(59 * 60);
    expect(await housekeeping()).toMatchObject({ gauthPendingEnrolments: 0 });
    expect(await gauth.list('carol')).toHaveLength(1);

    t.clock.advance(60);
    expect(await housekeeping()).toMatchObject({ gauthPendingEnrolments: 1 });
    expect(await gauth.list('carol')).toEqual([]);
    expect(await count(`gauth_scratch_codes WHERE credential_id = $1`, [pending.credentialId])).toBe(0);
    expect(await gauth.confirm(pending.credentialId, codeAt(t.clock, pending.secret)).catch((e: Error) => e.message)).toBe('no such device');
    expect(await gauth.list('bob')).toHaveLength(1);
    expect(await count(`gauth_scratch_codes WHERE credential_id = $1`, [confirmed.credentialId])).toBe(5);
  });

  it('two nodes running it at once share a flood of spent codes: each row deleted once, batch after batch, no error', async () => {
    const other = await startTestApp({ databaseUrl: t.config.databaseUrl, env: ENV });
    try {
      other.clock.freeze();
      other.clock.advance((t.clock.now().getTime() - other.clock.now().getTime()) / 1000);
      const [{ id }] = await gauth.list('alice');
      // 30,000 spent steps (more than one batch of 10,000) that left the window a minute ago.
      await t.sql.query(
        `INSERT INTO gauth_used_codes (credential_id, time_step, expires_at) SELECT $1, i, $2 FROM generate_series(1, 30000) AS i`,
        [id, new Date(t.clock.now().getTime() - 60_000)],
      );
      const [a, b] = await Promise.all([housekeeping(), other.app.get(AuthHousekeeping).run()]);
      expect(a.gauthUsedCodes + b.gauthUsedCodes).toBe(30_000);
      expect(await count(`gauth_used_codes WHERE expires_at <= $1`, [t.clock.now()])).toBe(0);
    } finally {
      await other.close();
    }
  });
});

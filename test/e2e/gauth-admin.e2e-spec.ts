import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { GauthCredentials, type GauthEnrolment } from '../../src/auth/mfa/gauth/gauth-credentials';
import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'helpdesk:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** CAS's /actuator/gauthCredentialRepository: a user's TOTP devices, listed without secrets and removed; audited. */
describe('/actuator/gauthCredentialRepository/{username}', () => {
  let t: TestApp;
  let gauth: GauthCredentials;
  beforeAll(async () => {
    t = await startTestApp({
      env: {
        CAS_ADMIN_TOKENS: TOKEN,
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_MFA_GAUTH_CORE_MULTIPLE_DEVICE_REGISTRATION_ENABLED: 'true',
      },
    });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'DELETE', path: string, headers: Record<string, string> = BEARER) =>
    t.app.inject({ method, url: `/cas/actuator/gauthCredentialRepository/${path}`, headers });
  const code = (secret: string) => authenticator.clone({ step: 30, epoch: t.clock.now().getTime() }).generate(secret);
  /** A confirmed device of `username`, then the clock on to the next step. */
  const confirmed = async (username: string, name: string): Promise<GauthEnrolment> => {
    const e = await gauth.enrol(username, name);
    expect(await gauth.confirm(e.credentialId, code(e.secret))).toMatchObject({ ok: true });
    t.clock.advance(30);
    return e;
  };

  it("lists the user's devices, pending ones too, with CAS's keys and never a secret, scratch code or their stored forms", async () => {
    const phone = await confirmed('Alice', 'Pixel 8');
    expect(await gauth.verify('alice', code(phone.secret))).toMatchObject({ ok: true });
    const pending = await gauth.enrol('alice', 'tablet');
    const res = await call('GET', 'ALICE');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const now = t.clock.now().toISOString();
    expect(res.json()).toEqual([
      {
        id: phone.credentialId,
        username: 'Alice',
        name: 'Pixel 8',
        registrationDate: expect.any(String),
        confirmationDate: expect.any(String),
        lastUsedDateTime: now,
        source: 'Google Authenticator',
      },
      { id: pending.credentialId, username: 'alice', name: 'tablet', registrationDate: now, confirmationDate: null, lastUsedDateTime: null, source: 'Google Authenticator' },
    ]);
    const { rows } = await t.sql.query(
      `SELECT c.secret_encrypted, encode(s.code_hash, 'hex') AS hex, encode(s.code_hash, 'base64') AS b64
         FROM gauth_credentials c JOIN gauth_scratch_codes s ON s.credential_id = c.id WHERE c.username_key = 'alice'`,
    );
    expect(rows).toHaveLength(10);
    const secrets = [phone.secret, pending.secret, ...phone.scratchCodes, ...pending.scratchCodes, ...phone.scratchCodes.map((c) => c.replace(/-/g, ''))];
    for (const r of rows) secrets.push(r.secret_encrypted, r.hex, r.b64, r.secret_encrypted.split('.')[4]);
    for (const secret of secrets) expect(res.body).not.toContain(secret);
    for (const key of ['secretKey', 'validationCode', 'scratchCodes']) expect(res.body).not.toContain(key);
  });

  it('answers a user without devices with an empty list, as CAS', async () => {
    const res = await call('GET', 'nobody');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });

  it("shows one device by id (CAS's /{username}/{deviceId}): 404 for another user's device, 400 for what is no device id", async () => {
    const bob = await confirmed('bob', 'phone');
    const one = await call('GET', `bob/${bob.credentialId.toUpperCase()}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: bob.credentialId, username: 'bob', name: 'phone', confirmationDate: expect.any(String) });
    expect(one.body).not.toContain(bob.secret);
    const [alices] = (await call('GET', 'alice')).json();
    const other = await call('GET', `bob/${alices.id}`);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ status: 404, message: 'No such TOTP device for this user' });
    const bad = await call('GET', 'bob/1');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ status: 400, message: "'id' must be a device id (a UUID) from the list" });
  });

  it("deletes every device of the user with its scratch and used codes, answers how many; the user's codes stop working, others' do not", async () => {
    const carol = await confirmed('carol', 'phone');
    const dave = await confirmed('dave', 'phone');
    await gauth.enrol('carol', 'spare');
    const res = await call('DELETE', 'Carol');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: 'Carol', removed: 2 });
    expect((await call('GET', 'carol')).json()).toEqual([]);
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM gauth_scratch_codes WHERE credential_id = $1) AS scratch,
              (SELECT count(*)::int FROM gauth_used_codes WHERE credential_id = $1) AS used`,
      [carol.credentialId],
    );
    expect(rows).toEqual([{ scratch: 0, used: 0 }]);
    expect(await gauth.verify('carol', code(carol.secret))).toEqual({ ok: false, reason: 'no-device' });
    expect(await gauth.verify('carol', carol.scratchCodes[0])).toEqual({ ok: false, reason: 'no-device' });
    expect(await gauth.verify('dave', code(dave.secret))).toMatchObject({ ok: true });
    // Nothing left: still a 200, with 0 (the end state the caller asked for holds).
    expect((await call('DELETE', 'carol')).json()).toEqual({ username: 'carol', removed: 0 });
  });

  it('refuses a blank, oversized or control-character username with 400 JSON, and callers without the token with 401; all audited', async () => {
    const { rows: before } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);
    for (const [method, username] of [['GET', '%20%20'], ['GET', 'a'.repeat(257)], ['DELETE', 'alice%00'], ['DELETE', 'a%0Ab']] as const) {
      const res = await call(method, username);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toMatchObject({ status: 400, message: expect.stringContaining("'username'") });
    }
    const anonymous = await call('GET', 'alice', {});
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).not.toContain('Pixel 8');
    expect((await call('DELETE', 'alice', {})).statusCode).toBe(401);
    expect((await call('GET', 'alice')).json()).toHaveLength(2);
    expect((await call('DELETE', 'alice')).json()).toEqual({ username: 'alice', removed: 2 });
    const { rows } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [before[0].id]);
    const target = (u: string) => `/actuator/gauthCredentialRepository/${u}`;
    expect(rows).toEqual([
      { actor: 'helpdesk', action: 'GET', target: target('%20%20'), status: 400 },
      { actor: 'helpdesk', action: 'GET', target: target('a'.repeat(257)), status: 400 },
      { actor: 'helpdesk', action: 'DELETE', target: target('alice%00'), status: 400 },
      { actor: 'helpdesk', action: 'DELETE', target: target('a%0Ab'), status: 400 },
      { actor: 'anonymous', action: 'GET', target: target('alice'), status: 401 },
      { actor: 'anonymous', action: 'DELETE', target: target('alice'), status: 401 },
      { actor: 'helpdesk', action: 'GET', target: target('alice'), status: 200 },
      { actor: 'helpdesk', action: 'DELETE', target: target('alice'), status: 200 },
    ]);
  });

  it('is in the API document, in the admin section', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/cas/actuator/openapi.json', headers: BEARER });
    const path = doc.json().paths['/cas/actuator/gauthCredentialRepository/{username}'];
    expect(path?.get).toMatchObject({ tags: ['admin'], security: [{ bearer: [] }] });
    expect(path?.delete).toMatchObject({ tags: ['admin'], security: [{ bearer: [] }] });
    expect(doc.json().paths['/cas/actuator/gauthCredentialRepository/{username}/{id}']?.get).toMatchObject({ tags: ['admin'] });
  });
});

/** Outside development mode without a key mfa-gauth cannot check codes, but the help desk can still see and remove devices. */
describe('/actuator/gauthCredentialRepository without the mfa-gauth key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN, NODE_ENV: 'production' } });
  });
  afterAll(() => t.close());

  it('lists and deletes rows stored under a key this node does not have', async () => {
    const id = '6f1c3a52-0d7e-4a43-9b0e-2f8f4d8f2c11';
    await t.sql.query(
      `INSERT INTO gauth_credentials (id, username_key, username, device_name, secret_encrypted, registered_at, confirmed_at)
       VALUES ($1, 'erin', 'erin', 'phone', 'opaque.jwe.not.readable.here', now(), now())`,
      [id],
    );
    const list = await t.app.inject({ method: 'GET', url: '/cas/actuator/gauthCredentialRepository/erin', headers: BEARER });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([expect.objectContaining({ id, name: 'phone' })]);
    expect(list.body).not.toContain('opaque.jwe');
    const del = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/gauthCredentialRepository/erin', headers: BEARER });
    expect(del.json()).toEqual({ username: 'erin', removed: 1 });
  });
});

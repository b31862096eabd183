import { CompactEncrypt, compactDecrypt, CompactSign, compactVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import { Browser } from '../helpers/browser';
import { startTestApp, TEST_KEYS, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const USER = 'tgc-principal-jdoe';
const ATTRIBUTES = { mail: 'jdoe.secret@example.org', displayName: 'Jane Q. Confidential', memberOf: ['payroll-admins', 'board'] };
const USER_AGENT = 'tgc-encryption-test-agent/7.3';

const SSO = `/cas/login?service=${encodeURIComponent(APP)}`;
const encryptionKey = Buffer.from(TEST_KEYS.CAS_TGC_CRYPTO_ENCRYPTION_KEY, 'base64url').subarray(0, 32);
const signingKey = Buffer.from(TEST_KEYS.CAS_TGC_CRYPTO_SIGNING_KEY, 'base64url');
const text = (s: string) => new TextEncoder().encode(s);

/** A cookie value as the server writes it: a compact JWS (HS512, the server's signing key) over `payload`, hex-encoded. */
const signed = async (payload: string) =>
  Buffer.from(await new CompactSign(text(payload)).setProtectedHeader({ alg: 'HS512' }).sign(signingKey), 'utf8').toString('hex');
const encrypted = (claims: object, key: Uint8Array) =>
  new CompactEncrypt(text(JSON.stringify(claims))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key);

/**
 * Every way the cookie's bytes can be read without a key: the value itself, its hex decoding
 * (the JWS), each part of the JWS and of the JWE it carries, and each part base64url-decoded
 * (as UTF-8 and as Latin-1, so any byte sequence is searchable).
 */
function readableViews(cookie: string): string[] {
  const views = [cookie];
  const jws = Buffer.from(cookie, 'hex').toString('utf8');
  views.push(jws);
  const [jwsHeader, jwsPayload, jwsSignature] = jws.split('.');
  const jwe = Buffer.from(jwsPayload, 'base64url').toString('utf8');
  for (const part of [jwsHeader, jwsPayload, jwsSignature, ...jwe.split('.')]) {
    const bytes = Buffer.from(part, 'base64url');
    views.push(part, bytes.toString('utf8'), bytes.toString('latin1'));
  }
  return views;
}

describe('the TGC is encrypted, not only signed', () => {
  let t: TestApp;
  let b: Browser;
  let cookie: string;
  let tgtId: string;

  const stCount = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST'`)).rows[0].n as number;
  /** What a browser presenting `value` as its TGC gets at the login of a registered service. */
  const present = async (value: string) => {
    const other = new Browser(t.app, { 'user-agent': USER_AGENT });
    other.cookies.set('TGC', value);
    const before = await stCount();
    const res = await other.get(SSO);
    return { res, loginForm: res.statusCode === 200 && res.body.includes('name="password"'), newTickets: (await stCount()) - before };
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: { CAS_AUTHN_ACCEPT_USERS: `${USER}::Tgc-Passw0rd`, AUTHN_ACCEPT_USERS_ATTRIBUTES: JSON.stringify({ [USER]: ATTRIBUTES }) },
    });
    b = new Browser(t.app, { 'user-agent': USER_AGENT });
    const res = await b.login(USER, 'Tgc-Passw0rd');
    expect(res.statusCode).toBe(200);
    cookie = b.cookies.get('TGC')!;
    const { rows } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = $1`, [USER]);
    expect(rows).toHaveLength(1);
    tgtId = rows[0].id;
  });
  afterAll(() => t.close());

  it('reveals neither the TGT id, the principal, any attribute nor the pinned client in any decoded part', async () => {
    expect(cookie).toMatch(/^[0-9a-f]+$/);
    const secrets = [tgtId, tgtId.slice('TGT-'.length), USER, USER_AGENT, ...Object.values(ATTRIBUTES).flat()];
    const views = readableViews(cookie);
    const revealed = secrets.filter((s) => views.some((v) => v.includes(s)));
    expect(revealed).toEqual([]);
    // Only the two headers are readable, and they say: signed (HS512) over encrypted (dir + A256GCM).
    const [jwsHeader, jwsPayload] = Buffer.from(cookie, 'hex').toString('utf8').split('.');
    expect(JSON.parse(Buffer.from(jwsHeader, 'base64url').toString('utf8'))).toEqual({ alg: 'HS512' });
    const jwe = Buffer.from(jwsPayload, 'base64url').toString('utf8');
    expect(JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString('utf8'))).toEqual({ alg: 'dir', enc: 'A256GCM' });
    // Control: the secrets are really in there, for the holder of the keys.
    const inner = new TextDecoder().decode((await compactVerify(Buffer.from(cookie, 'hex').toString('utf8'), signingKey)).payload);
    const claims = JSON.parse(new TextDecoder().decode((await compactDecrypt(inner, encryptionKey)).plaintext));
    expect(claims).toMatchObject({ t: tgtId, ua: USER_AGENT });
  });

  it('accepts a cookie built the way the server builds it (control for the refusals below)', async () => {
    const claims = { t: tgtId, ip: '127.0.0.1', ua: USER_AGENT };
    const { res, newTickets } = await present(await signed(await encrypted(claims, encryptionKey)));
    expect(res.statusCode).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.get('ticket')).toMatch(/^ST-/);
    expect(newTickets).toBe(1);
  });

  it.each([
    ['the claims in clear', () => JSON.stringify({ t: tgtId, ip: '127.0.0.1', ua: USER_AGENT })],
    ['the TGT id in clear', () => tgtId],
  ])('refuses a cookie signed with the right key but not encrypted (%s): login form, no ST', async (_name, payload) => {
    const { res, loginForm, newTickets } = await present(await signed(payload()));
    expect(res.statusCode).toBe(200);
    expect(loginForm).toBe(true);
    expect(res.headers.location).toBeUndefined();
    expect(newTickets).toBe(0);
  });

  it('refuses a cookie signed with the right key but encrypted with another: login form, no ST', async () => {
    const claims = { t: tgtId, ip: '127.0.0.1', ua: USER_AGENT };
    const { res, loginForm, newTickets } = await present(await signed(await encrypted(claims, randomBytes(32))));
    expect(res.statusCode).toBe(200);
    expect(loginForm).toBe(true);
    expect(newTickets).toBe(0);
  });
});

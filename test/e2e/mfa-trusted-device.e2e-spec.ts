import { CompactEncrypt } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Response } from 'light-my-request';
import { AuthHousekeeping } from '../../src/auth/auth-housekeeping';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, serviceFor, TEST_SERVICES } from '../helpers/test-services';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'].map((u) => `${u}::Secret1`).join(',');
const TOKEN = 'helpdesk:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const MFA_APP = `/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-gauth`;
const CHROME_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const DAY = 86_400;
/** A service whose multifactorPolicy asks its code every time (CAS bypassTrustedDeviceEnabled). */
const VAULT = 'https://vault.example.org/home';
const VAULT_SERVICE = serviceFor(20, 'vault.example.org', {
  multifactorPolicy: {
    '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
    multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
    bypassTrustedDeviceEnabled: true,
  },
});

const codeAt = (clock: MutableClock, secret: string) => authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
const isMfaPage = (res: Response) => res.statusCode === 200 && res.body.includes('name="token"') && !res.body.includes('name="password"');
const isAtService = (res: Response) => res.statusCode === 302 && String(res.headers.location).startsWith(`${APP}?ticket=ST-`);

/**
 * Trusted devices (CAS `cas.authn.mfa.trusted.*`) through real HTTP on the real app and Postgres:
 * "remember this browser" at a right code, the code skipped for that user in that browser only,
 * expiry by the app's clock, revocation by the help desk, and cookies that are not this server's.
 */
describe('mfa trusted devices', () => {
  let t: TestApp;
  let gauth: GauthCredentials;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'true',
        CAS_AUTHN_ACCEPT_USERS: USERS,
        CAS_ADMIN_TOKENS: TOKEN,
      },
      services: [...TEST_SERVICES, VAULT_SERVICE],
    });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  /** A confirmed TOTP device for `username` (once); the clock then moves to the next time step. */
  async function enrolled(username: string): Promise<string> {
    if (!secrets.has(username)) {
      const e = await gauth.enrol(username, 'phone');
      expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
      secrets.set(username, e.secret);
    }
    t.clock.advance(30);
    return secrets.get(username)!;
  }

  /** Password step of a login asking for mfa-gauth: the code page, or the service when the browser is trusted. */
  async function passwordStep(b: Browser, username: string, extra: Record<string, string> = {}): Promise<Response> {
    const form = await b.get(MFA_APP);
    return b.post('/cas/login', { username, password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit', ...extra });
  }

  /** A full login by code, the box ticked or not; then logout, so the next login has no SSO session. */
  async function loginWithCode(b: Browser, username: string, trustDevice: boolean): Promise<Response> {
    const secret = await enrolled(username);
    const page = await passwordStep(b, username);
    expect(isMfaPage(page)).toBe(true);
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa', ...(trustDevice ? { trustDevice: 'true' } : {}) });
    expect(isAtService(done)).toBe(true);
    await b.get('/cas/logout');
    expect(b.cookies.has('TGC')).toBe(false);
    return done;
  }

  const rows = async (username: string) =>
    (await t.sql.query(`SELECT * FROM mfa_trusted_devices WHERE username_key = $1 ORDER BY recorded_at, id`, [username])).rows;
  const validate = async (ticket: string) =>
    (await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${encodeURIComponent(ticket)}` })).json()
      .serviceResponse.authenticationSuccess;
  const admin = (method: 'GET' | 'DELETE', path: string) => t.app.inject({ method, url: `/cas/actuator/multifactorTrustedDevices/${path}`, headers: BEARER });

  it('the code page offers "Remember this browser for 30 days"; ticked with a right code it records the browser and sets MFATRUSTED; the next login skips the code, the session recording mfa-gauth and the trust', async () => {
    const b = new Browser(t.app, { 'user-agent': CHROME_ON_LINUX });
    await enrolled('alice');
    const page = await passwordStep(b, 'alice');
    expect(page.body).toContain('<input type="checkbox" name="trustDevice" value="true"> Remember this browser for 30 days');

    const recordedAt = t.clock.now();
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secrets.get('alice')!), _eventId: 'mfa', trustDevice: 'true' });
    expect(isAtService(done)).toBe(true);
    const cookie = setCookies(done).find((c) => c.name === 'MFATRUSTED')!;
    expect(cookie.attributes).toMatchObject({ path: '/cas', httponly: true, samesite: 'Lax', 'max-age': String(30 * DAY) });
    expect(cookie.attributes.secure).toBeUndefined(); // http test prefix; Secure under https as every cookie (cookies.ts)

    const [row] = await rows('alice');
    expect(row).toMatchObject({
      username: 'alice',
      provider: 'mfa-gauth',
      name: 'Chrome on Linux',
      recorded_at: recordedAt,
      expires_at: new Date(recordedAt.getTime() + 30 * DAY * 1000),
      last_used_at: null,
    });
    // Only a 32-byte hash of the browser's secret: not the cookie, nor a hash of it.
    expect(row.device_fingerprint).toHaveLength(32);
    expect(row.device_fingerprint.equals(createHash('sha256').update(cookie.value).digest())).toBe(false);
    expect(JSON.stringify(row)).not.toContain(cookie.value);

    await b.get('/cas/logout');
    t.clock.advance(3600);
    const again = await passwordStep(b, 'alice');
    expect(isAtService(again)).toBe(true);
    const v = await validate(ticketOf(again));
    expect(v.user).toBe('alice');
    expect(v.attributes.authnContextClass).toEqual(['mfa-gauth']);
    expect(v.attributes.isFromTrustedMultifactorAuthentication).toEqual(['true']);
    const [session] = (await t.sql.query(`SELECT authentication_factors FROM sso_sessions WHERE principal = 'alice'`)).rows;
    expect(new Date(session.authentication_factors['mfa-gauth']).getTime()).toBe(t.clock.now().getTime());
    expect((await rows('alice'))[0].last_used_at).toEqual(t.clock.now());
  });

  it('without the box ticked nothing is recorded and no cookie is set: the next login asks for the code', async () => {
    const b = new Browser(t.app);
    const done = await loginWithCode(b, 'bob', false);
    expect(setCookies(done).some((c) => c.name === 'MFATRUSTED')).toBe(false);
    expect(await rows('bob')).toEqual([]);
    expect(isMfaPage(await passwordStep(b, 'bob'))).toBe(true);
  });

  it('another user in the trusted browser is asked for the code; once that user ticks the box too, both are trusted there through the one cookie', async () => {
    const b = new Browser(t.app);
    await loginWithCode(b, 'carol', true);
    const first = b.cookies.get('MFATRUSTED');
    expect(first).toBeDefined();
    expect(isMfaPage(await passwordStep(b, 'dave'))).toBe(true);

    await loginWithCode(b, 'dave', true);
    const [carol] = await rows('carol');
    const [dave] = await rows('dave');
    expect(dave.device_fingerprint.equals(carol.device_fingerprint)).toBe(true);
    for (const user of ['carol', 'dave']) {
      const res = await passwordStep(b, user);
      expect(isAtService(res)).toBe(true);
      await b.get('/cas/logout');
    }
    // Carol's trust of this browser is not Carol's trust of another one.
    expect(isMfaPage(await passwordStep(new Browser(t.app), 'carol'))).toBe(true);
  });

  it('a forged, altered or foreign MFATRUSTED cookie is not trusted: the code is asked', async () => {
    const b = new Browser(t.app);
    await loginWithCode(b, 'erin', true);
    const good = b.cookies.get('MFATRUSTED')!;
    const foreign = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ typ: 'mfa-trusted', s: randomBytes(32).toString('base64url') })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(randomBytes(32));
    const altered = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    for (const value of ['forged', altered, foreign, 'x'.repeat(5000)]) {
      const other = new Browser(t.app);
      other.cookies.set('MFATRUSTED', value);
      const res = await passwordStep(other, 'erin');
      expect(isMfaPage(res)).toBe(true);
    }
    // The browser's own cookie still is.
    expect(isAtService(await passwordStep(b, 'erin'))).toBe(true);
  });

  it('expiry by the clock: trusted until expires_at, then the code is asked again; the housekeeping deletes the expired row', async () => {
    const b = new Browser(t.app);
    await loginWithCode(b, 'frank', true);
    const [row] = await rows('frank');
    t.clock.advance((row.expires_at.getTime() - t.clock.now().getTime()) / 1000 - 1);
    expect(isAtService(await passwordStep(b, 'frank'))).toBe(true);
    await b.get('/cas/logout');
    // Earlier tests' records (recorded before frank's) have expired by now and go; frank's, a second from its end, stays.
    expect((await t.app.get(AuthHousekeeping).run()).trustedDevices).toBeGreaterThan(0);
    expect(await rows('frank')).toHaveLength(1);

    t.clock.advance(1);
    expect(isMfaPage(await passwordStep(b, 'frank'))).toBe(true);
    expect(await rows('frank')).toHaveLength(1);
    expect((await t.app.get(AuthHousekeeping).run()).trustedDevices).toBe(1);
    expect(await rows('frank')).toEqual([]);
  });

  it('the help desk lists trusted browsers (CAS keys, no fingerprint) and revokes one by its record key or all by username: the code is asked again; audited', async () => {
    const laptop = new Browser(t.app, { 'user-agent': CHROME_ON_LINUX });
    const phone = new Browser(t.app, { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
    await loginWithCode(laptop, 'grace', true);
    await loginWithCode(phone, 'grace', true);
    const { rows: before } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);

    const list = await admin('GET', 'GRACE');
    expect(list.statusCode).toBe(200);
    const records = list.json();
    expect(records).toEqual([
      expect.objectContaining({ principal: 'grace', name: 'Chrome on Linux', multifactorAuthenticationProvider: 'mfa-gauth', lastUsedDate: null }),
      expect.objectContaining({ principal: 'grace', name: 'Safari on iOS', multifactorAuthenticationProvider: 'mfa-gauth' }),
    ]);
    expect(Object.keys(records[0]).sort()).toEqual(['expirationDate', 'id', 'lastUsedDate', 'multifactorAuthenticationProvider', 'name', 'principal', 'recordDate', 'recordKey']);
    expect(records[0].recordKey).toBe(records[0].id);

    const one = await admin('DELETE', records[0].recordKey);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ recordKey: records[0].recordKey, removed: 1 });
    expect(isMfaPage(await passwordStep(laptop, 'grace'))).toBe(true);
    expect(isAtService(await passwordStep(phone, 'grace'))).toBe(true);
    await phone.get('/cas/logout');

    const all = await admin('DELETE', 'Grace');
    expect(all.json()).toEqual({ username: 'Grace', removed: 1 });
    expect(isMfaPage(await passwordStep(phone, 'grace'))).toBe(true);
    expect(await rows('grace')).toEqual([]);
    expect((await admin('GET', 'grace')).json()).toEqual([]);
    expect((await admin('DELETE', 'grace')).json()).toEqual({ username: 'grace', removed: 0 });
    expect((await admin('GET', 'a%0Ab')).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/multifactorTrustedDevices/grace', remoteAddress: '203.0.113.9' })).statusCode).toBe(401);

    const { rows: audit } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [before[0].id]);
    expect(audit.slice(0, 3)).toEqual([
      { actor: 'helpdesk', action: 'GET', target: '/actuator/multifactorTrustedDevices/GRACE', status: 200 },
      { actor: 'helpdesk', action: 'DELETE', target: `/actuator/multifactorTrustedDevices/${records[0].recordKey}`, status: 200 },
      { actor: 'helpdesk', action: 'DELETE', target: '/actuator/multifactorTrustedDevices/Grace', status: 200 },
    ]);
  });

  it('step-up in a trusted browser: a password-only SSO session gets the factor without the code', async () => {
    const b = new Browser(t.app);
    await loginWithCode(b, 'heidi', true);
    const plain = await b.login('heidi', 'Secret1', APP);
    expect(plain.statusCode).toBe(302);
    const tgc = b.cookies.get('TGC');
    const stepped = await b.get(MFA_APP);
    expect(isAtService(stepped)).toBe(true);
    expect(b.cookies.get('TGC')).toBe(tgc);
    expect((await validate(ticketOf(stepped))).attributes.authnContextClass).toEqual(['mfa-gauth']);
  });

  it("a service with bypassTrustedDeviceEnabled asks its code in a trusted browser, offers no box, and records nothing; other services still trust the browser", async () => {
    const b = new Browser(t.app);
    const secret = await loginWithCode(b, 'judy', true).then(() => secrets.get('judy')!);
    const form = await b.get(`/cas/login?service=${encodeURIComponent(VAULT)}`);
    const page = await b.post('/cas/login', { username: 'judy', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
    expect(isMfaPage(page)).toBe(true);
    expect(page.body).not.toContain('trustDevice');
    t.clock.advance(30);
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa', trustDevice: 'true' });
    expect(done.statusCode).toBe(302);
    expect(String(done.headers.location)).toMatch(/^https:\/\/vault\.example\.org\/home\?ticket=ST-/);
    expect(await rows('judy')).toHaveLength(1);
    await b.get('/cas/logout');
    expect(isAtService(await passwordStep(b, 'judy'))).toBe(true);
  });

  it('a public-workstation login is not offered the box and is never remembered, even when the box is posted', async () => {
    const b = new Browser(t.app);
    const secret = await enrolled('ivan');
    const page = await passwordStep(b, 'ivan', { publicWorkstation: 'true' });
    expect(isMfaPage(page)).toBe(true);
    expect(page.body).not.toContain('trustDevice');
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa', trustDevice: 'true' });
    expect(isAtService(done)).toBe(true);
    expect(b.cookies.has('MFATRUSTED')).toBe(false);
    expect(await rows('ivan')).toEqual([]);
  });
});

/** Trusted devices are per provider and off by default, as in CAS (`cas.authn.mfa.gauth.core.trusted-device-enabled`). */
describe('mfa trusted devices, not enabled for mfa-gauth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), CAS_AUTHN_ACCEPT_USERS: 'alice::Secret1' } });
    t.clock.freeze();
  });
  afterAll(() => t.close());

  it('no box on the code page, a posted box records nothing', async () => {
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('alice', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    const b = new Browser(t.app);
    const form = await b.get(MFA_APP);
    const page = await b.post('/cas/login', { username: 'alice', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
    expect(isMfaPage(page)).toBe(true);
    expect(page.body).not.toContain('trustDevice');
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, e.secret), _eventId: 'mfa', trustDevice: 'true' });
    expect(isAtService(done)).toBe(true);
    expect(b.cookies.has('MFATRUSTED')).toBe(false);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM mfa_trusted_devices`)).rows[0].n).toBe(0);
  });
});

/** CAS's `core.device-registration-enabled=false`: the browser is trusted at every right code, without asking. */
describe('mfa trusted devices, registration without asking', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: {
        CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
        CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'true',
        CAS_AUTHN_MFA_TRUSTED_CORE_DEVICE_REGISTRATION_ENABLED: 'false',
        CAS_AUTHN_MFA_TRUSTED_EXPIRATION: '8',
        CAS_AUTHN_MFA_TRUSTED_TIME_UNIT: 'HOURS',
        CAS_AUTHN_ACCEPT_USERS: 'alice::Secret1',
      },
    });
    t.clock.freeze();
  });
  afterAll(() => t.close());

  it('no box; a right code records the browser for the configured 8 hours; the next login skips the code until then', async () => {
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('alice', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    const b = new Browser(t.app);
    const login = async () => {
      const form = await b.get(MFA_APP);
      return b.post('/cas/login', { username: 'alice', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
    };
    const page = await login();
    expect(isMfaPage(page)).toBe(true);
    expect(page.body).not.toContain('trustDevice');
    const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, e.secret), _eventId: 'mfa' });
    expect(isAtService(done)).toBe(true);
    expect(setCookies(done).find((c) => c.name === 'MFATRUSTED')?.attributes['max-age']).toBe(String(8 * 3600));
    const { rows } = await t.sql.query(`SELECT recorded_at, expires_at FROM mfa_trusted_devices WHERE username_key = 'alice'`);
    expect(rows[0].expires_at.getTime() - rows[0].recorded_at.getTime()).toBe(8 * 3600 * 1000);

    await b.get('/cas/logout');
    t.clock.advance(8 * 3600 - 1);
    expect(isAtService(await login())).toBe(true);
    await b.get('/cas/logout');
    t.clock.advance(1);
    expect(isMfaPage(await login())).toBe(true);
  });
});

describe('mfa trusted devices, enabled for mfa-webauthn', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_AUTHN_MFA_WEB_AUTHN_CORE_TRUSTED_DEVICE_ENABLED: 'true', CAS_AUTHN_ACCEPT_USERS: USERS } });
  });
  afterAll(() => t.close());

  it('the security-key page offers "Remember this browser", as the code page does for mfa-gauth', async () => {
    const b = new Browser(t.app);
    const form = await b.get(`/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-webauthn`);
    const page = await b.post('/cas/login', { username: 'alice', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-webauthn="registration"');
    expect(page.body).toContain('<input type="checkbox" name="trustDevice" value="true"> Remember this browser for 30 days');
  });
});

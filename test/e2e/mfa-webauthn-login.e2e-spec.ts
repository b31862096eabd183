import { WebAuthnCredentials } from '../../src/auth/mfa/webauthn/webauthn-credentials';
import { Browser, executionOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'helpdesk:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const SERVICE = 'https://app.example.org/home';
const SERVICES = [
  { '@class': 'org.apereo.cas.services.CasRegisteredService', serviceId: '^https://app\\.example\\.org/.*', name: 'App', id: 1, evaluationOrder: 1 },
];

/** The execution token of the form whose `_eventId` is `eventId` (a login page has two with passkeys on). */
function executionFor(html: string, eventId: string): string {
  for (const form of html.split('<form').slice(1)) {
    if (form.includes(`name="_eventId" value="${eventId}"`)) return executionOf(form);
  }
  throw new Error(`no form for ${eventId}: ${html.slice(0, 300)}`);
}

/** The options the page hands its script (data-options, HTML-escaped JSON). */
function optionsOf(html: string): { challenge: string; rp?: { id: string; name: string }; rpId?: string; allowCredentials?: unknown[] } {
  const m = /data-options="([^"]+)"/.exec(html);
  if (!m) throw new Error('no WebAuthn options in the page');
  return JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
}

/**
 * mfa-webauthn over HTTP (the ceremonies themselves are proven in Chromium,
 * mfa-webauthn-browser.e2e-spec): the pages, their CSP and scripts, what a bad response gets, the
 * admin endpoint, and the passkey form only when allow-primary-authentication is on.
 */
describe('mfa-webauthn over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ services: SERVICES, env: { CAS_ADMIN_TOKENS: TOKEN, CAS_SERVER_PREFIX: 'https://sso.example.org/cas' } });
  });
  afterAll(() => t.close());

  async function passwordStep(b: Browser): Promise<import('light-my-request').Response> {
    const form = await b.get(`/cas/login?service=${encodeURIComponent(SERVICE)}&authn_method=mfa-webauthn`);
    expect(form.statusCode).toBe(200);
    return b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' });
  }

  it('after the password, a user without a credential gets the registration page: the relying party from the prefix, this server\'s scripts only, no session yet', async () => {
    const b = new Browser(t.app);
    const page = await passwordStep(b);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-webauthn="registration"');
    const options = optionsOf(page.body);
    expect(options.rp).toEqual({ id: 'sso.example.org', name: 'CAS' });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline\'; script');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=")/);
    expect(b.cookies.has('TGC')).toBe(false);

    // Both scripts come from this server, cached for a year under a digest in their name.
    const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual([expect.stringMatching(/^webauthn\/simplewebauthn-browser\.[A-Za-z0-9_-]{16}\.js$/), expect.stringMatching(/^webauthn\/webauthn-page\.[A-Za-z0-9_-]{16}\.js$/)]);
    for (const s of scripts) {
      const res = await b.get(`/cas/${s}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
    expect((await b.get('/cas/webauthn/simplewebauthn-browser.js')).statusCode).toBe(404);
    expect((await b.get('/cas/webauthn/..%2F..%2Fpackage.json')).statusCode).toBe(404);
  });

  it('a response that is not a valid WebAuthn answer is refused with a new challenge, never a 500; the fifth ends the step; a used token is refused', async () => {
    const b = new Browser(t.app);
    let page = await passwordStep(b);
    const first = executionOf(page.body);
    const challenges = new Set([optionsOf(page.body).challenge]);
    const bad = ['', 'not json', '{"id":"x","response":{}}', JSON.stringify({ id: 'a'.repeat(5000), response: { clientDataJSON: 'x' } })];
    for (const response of bad) {
      page = await b.post('/cas/login', { execution: executionOf(page.body), _eventId: 'webauthn', response });
      expect(page.statusCode).toBe(401);
      expect(page.body).toContain('was not accepted');
      challenges.add(optionsOf(page.body).challenge);
    }
    expect(challenges.size).toBe(5);
    const fifth = await b.post('/cas/login', { execution: executionOf(page.body), _eventId: 'webauthn', response: '{}' });
    expect(fifth.statusCode).toBe(401);
    expect(fifth.body).toContain('Too many wrong verification codes');
    expect(fifth.body).toContain('id="password"');
    const replay = await b.post('/cas/login', { execution: first, _eventId: 'webauthn', response: '{}' });
    expect(replay.statusCode).toBe(403);
    expect(b.cookies.has('TGC')).toBe(false);
  });

  it('the passkey button is not offered while allow-primary-authentication is off, and its event is refused', async () => {
    const b = new Browser(t.app);
    const form = await b.get('/cas/login');
    expect(form.body).not.toContain('data-webauthn');
    expect(String(form.headers['content-security-policy'])).not.toContain('script-src');
    const res = await b.post('/cas/login', { execution: executionOf(form.body), _eventId: 'passkey', response: '{}' });
    expect(res.statusCode).toBe(403);
    expect(b.cookies.has('TGC')).toBe(false);
  });

  it('GET/DELETE /actuator/webAuthnDevices/{username}: the credentials without their public keys, removed and audited; bad names are 400', async () => {
    const store = t.app.get(WebAuthnCredentials);
    const key = { publicKey: new Uint8Array([1, 2, 3]), transports: ['internal'], deviceType: 'multiDevice' as const, backedUp: true, aaguid: '00000000-0000-0000-0000-000000000000', userVerified: true };
    expect(await store.add({ ...key, credentialId: 'cred-alice-1', username: 'Alice', signCount: 0, name: 'Passkey' }, true)).toEqual(expect.any(String));
    // Multiple-device registration off: a second credential of the user is refused; the same credential id for another user too.
    expect(await store.add({ ...key, credentialId: 'cred-alice-2', username: 'alice', signCount: 0, name: 'Passkey' }, true)).toBeNull();
    expect(await store.add({ ...key, credentialId: 'cred-alice-1', username: 'bob', signCount: 0, name: 'Passkey' }, true)).toBeNull();
    await store.add({ ...key, credentialId: 'cred-bob-1', username: 'bob', signCount: 7, name: 'Security key' }, true);

    const list = await t.app.inject({ method: 'GET', url: '/cas/actuator/webAuthnDevices/ALICE', headers: BEARER });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([
      expect.objectContaining({ username: 'Alice', name: 'Passkey', credentialId: 'cred-alice-1', deviceType: 'multiDevice', signatureCount: 0, flaggedDateTime: null, source: 'WebAuthn' }),
    ]);
    expect(list.body).not.toContain('publicKey');
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/webAuthnDevices/alice' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: `/cas/actuator/webAuthnDevices/${'a'.repeat(257)}`, headers: BEARER })).statusCode).toBe(400);

    const removed = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/webAuthnDevices/alice', headers: BEARER });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({ username: 'alice', removed: 1 });
    expect(await store.list('alice')).toEqual([]);
    expect(await store.list('bob')).toHaveLength(1);
    const audit = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE target LIKE '%webAuthnDevices%' ORDER BY id`);
    expect(audit.rows).toEqual(
      expect.arrayContaining([{ actor: 'helpdesk', action: 'DELETE', target: '/actuator/webAuthnDevices/alice', status: 200 }]),
    );
  });
});

/** "Sign in with a passkey" (allow-primary-authentication) over HTTP: offered, bound, throttled as a password. */
describe('mfa-webauthn passkey login over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      services: SERVICES,
      env: {
        CAS_SERVER_PREFIX: 'https://sso.example.org/cas',
        CAS_AUTHN_MFA_WEB_AUTHN_CORE_ALLOW_PRIMARY_AUTHENTICATION: 'true',
        CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '100',
        AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
      },
    });
    t.clock.freeze();
  });
  afterAll(() => t.close());

  it('the login form offers it with its own token and challenge (any discoverable credential, user verification required), under script-src \'self\'', async () => {
    const b = new Browser(t.app);
    const form = await b.get(`/cas/login?service=${encodeURIComponent(SERVICE)}`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('Sign in with a passkey');
    expect(executionFor(form.body, 'passkey')).not.toBe(executionFor(form.body, 'submit'));
    const options = optionsOf(form.body);
    expect(options).toMatchObject({ rpId: 'sso.example.org', userVerification: 'required' });
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(String(form.headers['content-security-policy'])).toContain("script-src 'self'; form-action 'self' https://app.example.org");
    // A token of the passkey form is no password form's.
    const swapped = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionFor(form.body, 'passkey'), _eventId: 'submit' });
    expect(swapped.statusCode).toBe(403);
    // The password form still works beside it, in a browser that had no cookie: one browser key for both tokens.
    const fresh = new Browser(t.app);
    const page = await fresh.get(`/cas/login?service=${encodeURIComponent(SERVICE)}`);
    expect(page.headers['set-cookie']).toBeDefined();
    const login = await fresh.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionFor(page.body, 'submit'), _eventId: 'submit' });
    expect(login.statusCode).toBe(302);
  });

  it("assertions naming a user's credential count against that account like wrong passwords: throttled after the account threshold, password logins too", async () => {
    const store = t.app.get(WebAuthnCredentials);
    await store.add(
      { credentialId: 'erin-passkey', username: 'erin', publicKey: new Uint8Array([1]), signCount: 0, transports: [], deviceType: 'multiDevice', backedUp: true, aaguid: '00000000-0000-0000-0000-000000000000', userVerified: true, name: 'Passkey' },
      true,
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      // From another address each time: the account's counter, not the address's, stops it.
      const ip = `203.0.113.${i + 1}`;
      const b = new Browser(t.app);
      const form = await b.request({ method: 'GET', url: '/cas/login', remoteAddress: ip });
      const res = await b.request({
        method: 'POST',
        url: '/cas/login',
        remoteAddress: ip,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          execution: executionFor(form.body, 'passkey'),
          _eventId: 'passkey',
          response: JSON.stringify({ id: 'erin-passkey', rawId: 'erin-passkey', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' }, clientExtensionResults: {} }),
        }).toString(),
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 401) expect(res.body).toContain('was not accepted');
      if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(b.cookies.has('TGC')).toBe(false);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const rows = await t.sql.query(`SELECT failures FROM login_throttle WHERE key = 'account:erin'`);
    expect(rows.rows).toEqual([{ failures: 3 }]);
    // The same counter as the password form's: erin's password is not even checked now.
    const password = await new Browser(t.app).login('erin', 'whatever');
    expect(password.statusCode).toBe(429);
    // The credential was not flagged by responses without a valid signature.
    expect((await store.list('erin'))[0].flaggedAt).toBeNull();
  });

  it('a passkey token is refused once used, and for another browser', async () => {
    const b = new Browser(t.app);
    const form = await b.get('/cas/login');
    const execution = executionFor(form.body, 'passkey');
    const thief = await new Browser(t.app).post('/cas/login', { execution, _eventId: 'passkey', response: '{}' });
    expect(thief.statusCode).toBe(403);
    const first = await b.post('/cas/login', { execution, _eventId: 'passkey', response: '{}' });
    expect(first.statusCode).toBe(401);
    const replay = await b.post('/cas/login', { execution, _eventId: 'passkey', response: '{}' });
    expect(replay.statusCode).toBe(403);
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { toString as qrCode } from 'qrcode';
import type { Response } from 'light-my-request';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { loadCasConfig } from '../../src/config/cas-config';
import { ConfigurationError } from '../../src/config/env.validation';
import { messageOf } from '../helpers/thrown';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
const GLOBAL_VARIABLE = 'CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID';
const USERS = ['casuser::Mellon', ...['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'].map((u) => `${u}::Secret1`)].join(',');
const MFA_APP = `/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-gauth`;

/** The code an authenticator app shows for `secret` at the clock's time. */
function codeAt(clock: MutableClock, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
}

/** A six-digit code that is not `right`. */
function wrong(right: string): string {
  return String((Number(right) + 1) % 1_000_000).padStart(6, '0');
}

const isMfaPage = (res: Response) => res.body.includes('name="token"') && !res.body.includes('name="password"');
const isPasswordForm = (res: Response) => res.body.includes('name="password"');

/**
 * mfa-gauth (TOTP) in the login flow, through real HTTP on the real app and Postgres: the
 * password step, the code page, the session with its factor, step-up, gateway, enrolment, and the
 * page when the provider cannot run. Codes are computed here, at the app's frozen clock.
 */
describe('mfa-gauth login', () => {
  let t: TestApp;
  let gauth: GauthCredentials;

  beforeAll(async () => {
    t = await startTestApp({ env: { [KEY_VARIABLE]: randomBytes(32).toString('base64url'), CAS_AUTHN_ACCEPT_USERS: USERS } });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  /** A confirmed device for `username`; the clock is then moved to the next time step. */
  async function enrolled(username: string): Promise<string> {
    const e = await gauth.enrol(username, 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    return e.secret;
  }

  /** Password step of a login asking for mfa-gauth: the code page. */
  async function passwordStep(b: Browser, username: string, url = MFA_APP): Promise<Response> {
    const form = await b.get(url);
    expect(form.statusCode).toBe(200);
    return b.post('/cas/login', { username, password: username === 'casuser' ? 'Mellon' : 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
  }

  const submitCode = (b: Browser, page: Response, token: string) => b.post('/cas/login', { execution: executionOf(page.body), token, _eventId: 'mfa' });

  const validate = (ticket: string) =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${encodeURIComponent(ticket)}` });

  const throttleCount = async (username: string) =>
    Number((await t.sql.query(`SELECT COALESCE(sum(failures), 0) AS n FROM login_throttle WHERE key = $1`, [`account:${username}`])).rows[0].n);

  it('authn_method=mfa-gauth: the password leads to the code page (no TGC, no ticket), the code to the service with a ticket whose validation releases authnContextClass', async () => {
    const secret = await enrolled('alice');
    const b = new Browser(t.app);
    const page = await passwordStep(b, 'alice');
    expect(page.statusCode).toBe(200);
    expect(isMfaPage(page)).toBe(true);
    expect(page.headers.location).toBeUndefined();
    expect(b.cookies.has('TGC')).toBe(false);
    expect((await t.sql.query(`SELECT 1 FROM tickets WHERE principal = 'alice'`)).rowCount).toBe(0);

    const done = await submitCode(b, page, codeAt(t.clock, secret));
    expect(done.statusCode).toBe(302);
    expect(b.cookies.has('TGC')).toBe(true);
    const v = (await validate(ticketOf(done))).json().serviceResponse.authenticationSuccess;
    expect(v.user).toBe('alice');
    expect(v.attributes.authnContextClass).toEqual(['mfa-gauth']);
    expect(v.attributes.successfulAuthenticationHandlers).toEqual(['AcceptUsersAuthenticationHandler', 'GoogleAuthenticatorAuthenticationHandler']);
    expect(v.attributes.isFromNewLogin).toEqual([true]);
    const [row] = (await t.sql.query(`SELECT authentication_factors FROM tickets WHERE principal = 'alice' AND type = 'TGT'`)).rows;
    expect(new Date(row.authentication_factors['mfa-gauth']).getTime()).toBe(t.clock.now().getTime());
    // The CAS 2.0 endpoint (v3 forward compatible by default) releases it too.
    const again = await b.get(MFA_APP);
    expect(again.statusCode).toBe(302);
    const cas2 = await t.app.inject({ method: 'GET', url: `/cas/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${ticketOf(again)}` });
    expect(cas2.body).toContain('<cas:authnContextClass>mfa-gauth</cas:authnContextClass>');
  });

  it('method=POST and the warn box carry through the code step; form fields besides the token and the code are ignored; the token is bound to its browser', async () => {
    const secret = await enrolled('grace');
    const b = new Browser(t.app);
    const form = await b.get(`${MFA_APP}&method=POST`);
    const page = await b.post('/cas/login', { username: 'grace', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit', warn: 'true', method: 'POST' });
    expect(isMfaPage(page)).toBe(true);
    // Another browser cannot use this page's token.
    const thief = await new Browser(t.app).post('/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa' });
    expect(thief.statusCode).toBe(403);
    expect(isPasswordForm(thief)).toBe(true);
    t.clock.advance(30);
    const form2 = await b.get(`${MFA_APP}&method=POST`);
    const page2 = await b.post('/cas/login', { username: 'grace', password: 'Secret1', execution: executionOf(form2.body), _eventId: 'submit', warn: 'true', method: 'POST' });
    const done = await b.post('/cas/login', {
      execution: executionOf(page2.body), token: codeAt(t.clock, secret), _eventId: 'mfa', username: 'casuser', service: 'https://other.example.org/home', method: 'GET',
    });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain(`action="${APP}"`);
    const st = /name="ticket" value="([^"]+)"/.exec(done.body)![1];
    expect((await validate(st)).json().serviceResponse.authenticationSuccess.user).toBe('grace');
    expect(b.cookies.has('TGC')).toBe(true);
    // The warn box of the password step set the CASPRIVACY cookie after the code.
    expect(b.cookies.has('CASPRIVACY')).toBe(true);
  });

  it('a password login without MFA releases no authnContextClass', async () => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
    const v = (await validate(st)).json().serviceResponse.authenticationSuccess;
    expect(v.attributes.authnContextClass).toBeUndefined();
  });

  it('a wrong code shows the page again (401) and counts in the throttle; five wrong codes in a row end the step (the password form again)', async () => {
    const secret = await enrolled('bob');
    const b = new Browser(t.app);
    let page = await passwordStep(b, 'bob');
    const before = await throttleCount('bob');
    for (let i = 1; i <= 4; i++) {
      page = await submitCode(b, page, wrong(codeAt(t.clock, secret)));
      expect(page.statusCode).toBe(401);
      expect(isMfaPage(page)).toBe(true);
      expect(page.body).toContain('Invalid verification code');
      expect(await throttleCount('bob')).toBe(before + i);
    }
    const fifth = await submitCode(b, page, wrong(codeAt(t.clock, secret)));
    expect(fifth.statusCode).toBe(401);
    expect(isPasswordForm(fifth)).toBe(true);
    expect(fifth.body).toContain('Too many wrong verification codes');
    expect(b.cookies.has('TGC')).toBe(false);
    // The last code page's token is spent: the right code on it is refused too.
    const late = await submitCode(b, page, codeAt(t.clock, secret));
    expect(late.statusCode).toBe(403);
    expect(b.cookies.has('TGC')).toBe(false);
  });

  it('a code already used is refused (replay), and the next step’s code is accepted', async () => {
    const secret = await enrolled('carol');
    const code = codeAt(t.clock, secret);
    const first = new Browser(t.app);
    expect((await submitCode(first, await passwordStep(first, 'carol'), code)).statusCode).toBe(302);
    const second = new Browser(t.app);
    const page = await submitCode(second, await passwordStep(second, 'carol'), code);
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('already used');
    expect(second.cookies.has('TGC')).toBe(false);
    t.clock.advance(30);
    expect((await submitCode(second, page, codeAt(t.clock, secret))).statusCode).toBe(302);
  });

  it("a right code records its step and the device's last use; a replay changes neither; used steps past the window go at the next code", async () => {
    const secret = await enrolled('heidi');
    const device = async () =>
      (await t.sql.query(`SELECT c.last_used_at, array(SELECT time_step FROM gauth_used_codes u WHERE u.credential_id = c.id ORDER BY time_step)::bigint[] AS steps
                            FROM gauth_credentials c WHERE c.username = 'heidi'`)).rows[0] as { last_used_at: Date; steps: string[] };
    const step = () => String(Math.floor(t.clock.now().getTime() / 30_000));
    const confirmedStep = String(Number(step()) - 1);
    expect((await device()).steps).toEqual([confirmedStep]);
    const b = new Browser(t.app);
    const code = codeAt(t.clock, secret);
    expect((await submitCode(b, await passwordStep(b, 'heidi'), code)).statusCode).toBe(302);
    const used = await device();
    expect(used.last_used_at.getTime()).toBe(t.clock.now().getTime());
    expect(used.steps).toEqual([confirmedStep, step()]);

    t.clock.advance(10);
    const replay = new Browser(t.app);
    expect((await submitCode(replay, await passwordStep(replay, 'heidi'), code)).statusCode).toBe(401);
    expect((await device()).last_used_at.getTime()).toBe(used.last_used_at.getTime());

    // Five steps on, both used steps have left the window: the next code's check purges them.
    t.clock.advance(150);
    const later = new Browser(t.app);
    expect((await submitCode(later, await passwordStep(later, 'heidi'), codeAt(t.clock, secret))).statusCode).toBe(302);
    expect((await device()).steps).toEqual([step()]);
  });

  it('step-up: a password-only SSO session asked for mfa-gauth gets the code page only, then the factor joins the same session', async () => {
    const secret = await enrolled('dave');
    const b = new Browser(t.app);
    expect((await b.login('dave', 'Secret1', APP)).statusCode).toBe(302);
    const tgc = b.cookies.get('TGC');
    const [{ id }] = (await t.sql.query(`SELECT id FROM tickets WHERE principal = 'dave' AND type = 'TGT'`)).rows;

    const page = await b.get(MFA_APP);
    expect(page.statusCode).toBe(200);
    expect(isMfaPage(page)).toBe(true);
    const done = await submitCode(b, page, codeAt(t.clock, secret));
    expect(done.statusCode).toBe(302);
    expect(b.cookies.get('TGC')).toBe(tgc);
    const v = (await validate(ticketOf(done))).json().serviceResponse.authenticationSuccess;
    expect(v.attributes.authnContextClass).toEqual(['mfa-gauth']);
    const rows = (await t.sql.query(`SELECT id, authentication_factors FROM tickets WHERE principal = 'dave' AND type = 'TGT'`)).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBe(id);
    expect(Object.keys(rows[0].authentication_factors)).toEqual(['mfa-gauth']);
    // DBAs see it in sso_sessions.
    const view = (await t.sql.query(`SELECT authentication_factors FROM sso_sessions WHERE tgt_id = $1`, [id])).rows;
    expect(Object.keys(view[0].authentication_factors)).toEqual(['mfa-gauth']);
    // Administrators see it in ssoSessions (a loopback call: the app has no admin tokens).
    const listed = (await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?username=dave' })).json();
    const entry = listed.activeSsoSessions.find((x: { ticket_granting_ticket: string }) => x.ticket_granting_ticket === id);
    expect(entry.authentication_attributes.authnContextClass).toEqual(['mfa-gauth']);
    expect(new Date(entry.satisfied_factors['mfa-gauth']).getTime()).toBe(t.clock.now().getTime());

    // The session has the factor now: SSO asks nothing.
    const sso = await b.get(MFA_APP);
    expect(sso.statusCode).toBe(302);
    expect((await validate(ticketOf(sso))).json().serviceResponse.authenticationSuccess.attributes.authnContextClass).toEqual(['mfa-gauth']);
  });

  it('gateway=true from a session without the factor returns to the service without a ticket', async () => {
    await enrolled('erin');
    const b = new Browser(t.app);
    expect((await b.login('erin', 'Secret1', APP)).statusCode).toBe(302);
    const tickets = async () => (await t.sql.query(`SELECT 1 FROM tickets WHERE principal = 'erin' AND type = 'ST'`)).rowCount;
    expect(await tickets()).toBe(1);
    const res = await b.get(`${MFA_APP}&gateway=true`);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(APP);
    expect(await tickets()).toBe(1);
    // Without gateway, the same request asks for the code.
    expect(isMfaPage(await b.get(MFA_APP))).toBe(true);
  });

  it('enrolment: a user without a device gets its key and recovery codes right after the password; the first code confirms it and logs in', async () => {
    const b = new Browser(t.app);
    const page = await passwordStep(b, 'frank');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Set up two-step verification');
    const secret = /<textarea id="secret" readonly[^>]*>([A-Z2-7]+)<\/textarea>/.exec(page.body)![1];
    expect(page.body).toContain(`otpauth://totp/CASLabel:frank?secret=${secret}`);
    // The QR code, inline SVG drawn on the server, encodes exactly that otpauth URI.
    const uri = /<a href="(otpauth:[^"]+)"/.exec(page.body)![1].replace(/&amp;/g, '&');
    expect(page.body).toContain(await qrCode(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 220 }));
    // No image source or script needed: the page keeps the password form's policy.
    expect(page.headers['content-security-policy']).not.toMatch(/script-src|img-src/);
    const scratch = [...page.body.matchAll(/<li><code>([A-Z2-7-]+)<\/code><\/li>/g)].map((m) => m[1]);
    expect(scratch).toHaveLength(5);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(b.cookies.has('TGC')).toBe(false);

    const done = await submitCode(b, page, codeAt(t.clock, secret));
    expect(done.statusCode).toBe(302);
    expect((await validate(ticketOf(done))).json().serviceResponse.authenticationSuccess.attributes.authnContextClass).toEqual(['mfa-gauth']);
    const [device] = await gauth.list('frank');
    expect(device.confirmedAt).toBeInstanceOf(Date);

    // The next login asks for a code (no enrolment again); a recovery code works once.
    const next = new Browser(t.app);
    const codePage = await passwordStep(next, 'frank');
    expect(codePage.body).not.toContain('id="secret"');
    expect((await submitCode(next, codePage, scratch[0])).statusCode).toBe(302);
  });

  it('an unknown authn_method is refused with a clear page, not ignored', async () => {
    const res = await new Browser(t.app).get(`/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-nonsense`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Unsupported authentication method');
    expect(isPasswordForm(res)).toBe(false);
  });

  it('an unknown global provider id stops the boot, naming the variable', () => {
    const thrown = (() => {
      try {
        loadCasConfig({ CAS_SERVER_PREFIX: 'https://cas.example.org/cas', DATABASE_URL: 'postgres://x/y', [GLOBAL_VARIABLE]: 'mfa-duo' });
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain(GLOBAL_VARIABLE);
  });

  it('the global trigger without the TOTP secrets key stops the boot outside development mode, naming both variables', () => {
    const production = { CAS_SERVER_PREFIX: 'https://cas.example.org/cas', DATABASE_URL: 'postgres://x/y', [GLOBAL_VARIABLE]: 'mfa-gauth' };
    const message = messageOf(ConfigurationError, () => loadCasConfig(production));
    expect(message).toContain(GLOBAL_VARIABLE);
    expect(message).toContain(KEY_VARIABLE);
    // With the key, or in development mode (where one is generated), it boots.
    expect(loadCasConfig({ ...production, [KEY_VARIABLE]: randomBytes(32).toString('base64url') }).mfa.globalProviderId).toBe('mfa-gauth');
    expect(loadCasConfig({ [GLOBAL_VARIABLE]: 'mfa-gauth' }).mfa.globalProviderId).toBe('mfa-gauth');
  });

  describe('with the global trigger', () => {
    let g: TestApp;
    beforeAll(async () => {
      g = await startTestApp({ env: { [KEY_VARIABLE]: randomBytes(32).toString('base64url'), [GLOBAL_VARIABLE]: 'mfa-gauth' } });
      g.clock.freeze();
    });
    afterAll(() => g.close());

    it('every login asks for the code, without authn_method', async () => {
      const creds = g.app.get(GauthCredentials);
      const e = await creds.enrol('casuser', 'phone');
      expect((await creds.confirm(e.credentialId, codeAt(g.clock, e.secret))).ok).toBe(true);
      g.clock.advance(30);
      const b = new Browser(g.app);
      const page = await b.login('casuser', 'Mellon', APP);
      expect(page.statusCode).toBe(200);
      expect(isMfaPage(page)).toBe(true);
      expect(b.cookies.has('TGC')).toBe(false);
      const done = await b.post('/cas/login', { execution: executionOf(page.body), token: codeAt(g.clock, e.secret), _eventId: 'mfa' });
      expect(done.statusCode).toBe(302);
      const v = await g.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(done)}` });
      expect(v.json().serviceResponse.authenticationSuccess.attributes.authnContextClass).toEqual(['mfa-gauth']);
    });
  });

  describe('without a key outside development mode', () => {
    let u: TestApp;
    beforeAll(async () => {
      u = await startTestApp();
    });
    afterAll(() => u.close());

    it('the password step ends on the "unavailable" page, with no session', async () => {
      const b = new Browser(u.app);
      const form = await b.get(MFA_APP);
      const res = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('Multi-factor authentication is unavailable');
      expect(b.cookies.has('TGC')).toBe(false);
      expect((await u.sql.query(`SELECT 1 FROM tickets`)).rowCount).toBe(0);
    });
  });
});

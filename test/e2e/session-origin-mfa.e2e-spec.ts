import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Response } from 'light-my-request';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

const UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

function codeAt(clock: MutableClock, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
}

/**
 * Issue 14, "Where a session comes from", on the multi-factor paths: the session is created when
 * the code is accepted, and records that request's address and User-Agent; a step-up's ticket
 * records the address of its code step.
 */
describe('where a session comes from, through multi-factor login', () => {
  let t: TestApp;
  let secret: string;
  beforeAll(async () => {
    t = await startTestApp({
      env: { CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), AUTHN_THROTTLE_ENABLED: 'false', CAS_TGC_PIN_TO_SESSION: 'false' },
    });
    t.clock.freeze();
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    secret = e.secret;
  });
  afterAll(() => t.close());

  const from = (b: Browser, ip: string, method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<Response> =>
    b.request({
      method, url, remoteAddress: ip,
      ...(form ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() } : {}),
    });
  const row = async (id: string) => (await t.sql.query(`SELECT session_id, host(client_ip) AS ip, user_agent, device_os FROM tickets WHERE id = $1`, [id])).rows[0];

  it('a login with a TOTP code: the session records the address and User-Agent of the request that gave the code', async () => {
    t.clock.advance(30);
    const b = new Browser(t.app, { 'user-agent': UA });
    const form = await from(b, '81.2.69.10', 'GET', `/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-gauth`);
    const page = await from(b, '81.2.69.10', 'POST', '/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' });
    expect(page.body).toContain('name="token"');
    const done = await from(b, '81.2.69.11', 'POST', '/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa' });
    const st = ticketOf(done);
    const session = await row(st);
    expect(session.ip).toBe('81.2.69.11');
    expect(await row(session.session_id)).toMatchObject({ ip: '81.2.69.11', user_agent: UA, device_os: 'Android 14' });
  });

  it('step-up from an SSO session: the ticket records the address of the code step; the session keeps its own', async () => {
    t.clock.advance(30);
    const b = new Browser(t.app, { 'user-agent': UA });
    const form = await from(b, '192.0.2.20', 'GET', `/cas/login?service=${encodeURIComponent(APP)}`);
    const first = ticketOf(await from(b, '192.0.2.20', 'POST', '/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' }));
    const tgt = (await row(first)).session_id;
    const page = await from(b, '192.0.2.21', 'GET', `/cas/login?service=${encodeURIComponent(OTHER)}&authn_method=mfa-gauth`);
    expect(page.body).toContain('name="token"');
    const stepped = ticketOf(await from(b, '192.0.2.22', 'POST', '/cas/login', { execution: executionOf(page.body), token: codeAt(t.clock, secret), _eventId: 'mfa' }));
    expect(await row(stepped)).toMatchObject({ session_id: tgt, ip: '192.0.2.22' });
    expect((await row(tgt)).ip).toBe('192.0.2.20');
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Response } from 'light-my-request';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => `${u}::Secret1`).join(',');
const MFA_APP = `/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-gauth`;

const codeAt = (clock: MutableClock, secret: string) => authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
const wrong = (right: string) => String((Number(right) + 1) % 1_000_000).padStart(6, '0');
const isMfaPage = (res: Response) => res.body.includes('name="token"') && !res.body.includes('name="password"');

/**
 * A code POST with throttling off (nothing reserved before the code is checked): the code page's
 * token stays single use whatever the code, a step is accepted once, and a wrong code, a removed
 * device or a scratch code each end the way they do with throttling on.
 */
describe('mfa-gauth code POST with throttling off: single-use token, one use per step', () => {
  let t: TestApp;
  let gauth: GauthCredentials;

  beforeAll(async () => {
    t = await startTestApp({ env: { [KEY_VARIABLE]: randomBytes(32).toString('base64url'), CAS_AUTHN_ACCEPT_USERS: USERS, AUTHN_THROTTLE_ENABLED: 'false' } });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  async function enrolled(username: string): Promise<{ secret: string; id: string }> {
    const e = await gauth.enrol(username, 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    return { secret: e.secret, id: e.credentialId };
  }

  async function codePage(b: Browser, username: string): Promise<Response> {
    const form = await b.get(MFA_APP);
    const page = await b.post('/cas/login', { username, password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
    expect(isMfaPage(page)).toBe(true);
    return page;
  }

  const submit = (b: Browser, page: Response, token: string) => b.post('/cas/login', { execution: executionOf(page.body), token, _eventId: 'mfa' });
  const usedSteps = async (id: string) => Number((await t.sql.query(`SELECT count(*) AS n FROM gauth_used_codes WHERE credential_id = $1`, [id])).rows[0].n);

  it('a right code logs in once: the same token posted again is refused (403) and records nothing more', async () => {
    const { secret, id } = await enrolled('alice');
    const b = new Browser(t.app);
    const page = await codePage(b, 'alice');
    const before = await usedSteps(id);
    const res = await submit(b, page, codeAt(t.clock, secret));
    expect(res.statusCode).toBe(302);
    expect(ticketOf(res)).toMatch(/^ST-/);
    expect(await usedSteps(id)).toBe(before + 1);
    t.clock.advance(30);
    // The token again, with the next step's right code: used up, nothing recorded.
    const replay = await submit(b, page, codeAt(t.clock, secret));
    expect(replay.statusCode).toBe(403);
    expect(await usedSteps(id)).toBe(before + 1);
  });

  it('a step already used is refused as a replay (401) on another login, whose token is then used up', async () => {
    const { secret } = await enrolled('bob');
    const first = new Browser(t.app);
    const second = new Browser(t.app);
    const page1 = await codePage(first, 'bob');
    const page2 = await codePage(second, 'bob');
    const code = codeAt(t.clock, secret);
    expect((await submit(first, page1, code)).statusCode).toBe(302);
    const refused = await submit(second, page2, code);
    expect(refused.statusCode).toBe(401);
    expect(refused.body).toContain('already used');
    expect((await submit(second, page2, code)).statusCode).toBe(403);
    // The page it got back carries a new token: the next step's code goes through.
    t.clock.advance(30);
    expect((await submit(second, refused, codeAt(t.clock, secret))).statusCode).toBe(302);
  });

  it('a wrong code uses the token up, records no step, and the new page takes the right code', async () => {
    const { secret, id } = await enrolled('carol');
    const b = new Browser(t.app);
    const page = await codePage(b, 'carol');
    const before = await usedSteps(id);
    const again = await submit(b, page, wrong(codeAt(t.clock, secret)));
    expect(again.statusCode).toBe(401);
    expect(isMfaPage(again)).toBe(true);
    expect(await usedSteps(id)).toBe(before);
    expect((await submit(b, page, codeAt(t.clock, secret))).statusCode).toBe(403);
    expect((await submit(b, again, codeAt(t.clock, secret))).statusCode).toBe(302);
  });

  it('a device removed after the code page was served: its right code is refused (401) and the token is used up', async () => {
    const { secret } = await enrolled('dave');
    const b = new Browser(t.app);
    const page = await codePage(b, 'dave');
    expect(await gauth.remove('dave')).toBe(1);
    const res = await submit(b, page, codeAt(t.clock, secret));
    expect(res.statusCode).toBe(401);
    expect((await t.sql.query(`SELECT 1 FROM tickets WHERE principal = 'dave'`)).rowCount).toBe(0);
    expect((await submit(b, page, codeAt(t.clock, secret))).statusCode).toBe(403);
  });

  it('a scratch code still logs in (the devices as they are now), once', async () => {
    const e = await gauth.enrol('erin', 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    const b = new Browser(t.app);
    const page = await codePage(b, 'erin');
    const res = await submit(b, page, e.scratchCodes[0]);
    expect(res.statusCode).toBe(302);
    const other = new Browser(t.app);
    const page2 = await codePage(other, 'erin');
    expect((await submit(other, page2, e.scratchCodes[0])).statusCode).toBe(401);
  });
});

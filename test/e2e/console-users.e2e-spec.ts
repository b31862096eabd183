import { randomBytes } from 'node:crypto';
import { AcceptUsersAuthenticationHandler } from '../../src/auth/handlers/accept-users.handler';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { UsersService } from '../../src/auth/users.service';
import { Browser } from '../helpers/browser';
import { consoleForm, consoleSession, CONSOLE_TOKEN_ENV, type ConsoleSession } from '../helpers/console-rig';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const ENV = {
  ...CONSOLE_TOKEN_ENV,
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '20',
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
  CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
};
const CSP = /^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/;

/** Text of an HTML-escaped value, as a reader sees it. */
function unescape(s: string | undefined): string | undefined {
  return s?.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The console's Users & throttles pages over HTTP: what an administrator sees and what each form changes. */
describe('console: users and throttles', () => {
  let t: TestApp;
  let s: ConsoleSession;
  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    // One throttle window for the whole file: a window boundary mid-test would split a lockout.
    t.clock.freeze();
    s = await consoleSession(t.app);
  });
  afterAll(() => t.close());

  const get = (url: string, session: ConsoleSession | null = s) => t.app.inject({ method: 'GET', url, headers: session ? { cookie: session.cookie } : {} });
  const post = (url: string, fields: Record<string, string>, csrf?: string) => t.app.inject({ url, ...consoleForm(s, fields, csrf) });
  const login = (username: string, password: string, ip = '192.0.2.50') => new Browser(t.app).loginFrom(ip, username, password, APP);
  const lastAudit = async () =>
    (await t.sql.query(`SELECT actor, action, target, status FROM admin_audit ORDER BY id DESC LIMIT 1`)).rows[0] as { actor: string; action: string; target: string; status: number };
  /** The text of the element with this id (its error message), tags stripped. */
  const errorOf = (body: string, id: string) => unescape(new RegExp(`id="${id}-error">([^<]*)<`).exec(body)?.[1]);
  /** The account names listed on a page, in order. */
  const listed = (body: string) => [...body.matchAll(/<a class="user-name"[^>]*>([^<]*)</g)].map((m) => unescape(m[1]));

  describe('GET /cas/admin/users', () => {
    beforeAll(async () => {
      const users = t.app.get(UsersService);
      for (let i = 0; i < 52; i++) await users.add(`page-${String(i).padStart(2, '0')}`, 'a-long-password');
      await users.add('Zoë', 'a-long-password', { mail: ['zoe@example.org'], displayName: ['Zoë <script>'] });
    });

    it('sends a visitor without the console cookie to the sign-in page, and refuses a form post with 403', async () => {
      const res = await get('/cas/admin/users?q=page', null);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin%2Fusers%3Fq%3Dpage');
      const add = await t.app.inject({ method: 'POST', url: '/cas/admin/users/new', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=x&password=a-long-password&repeat=a-long-password' });
      expect(add.statusCode).toBe(403);
      expect((await t.sql.query(`SELECT 1 FROM users WHERE username = 'x'`)).rows).toEqual([]);
    });

    it('lists accounts 50 a page under the strict CSP, says the table is a login source, with a link to the next page', async () => {
      const res = await get('/cas/admin/users');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-security-policy']).toMatch(CSP);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toContain('<h1>Users</h1>');
      expect(res.body).toContain('<label for="q">Username starts with (any case)</label>');
      expect(res.body).toContain('<span class="mono">QueryDatabaseAuthenticationHandler</span> (this table)');
      expect(res.body.match(/<a class="user-name"/g)).toHaveLength(50);
      expect(res.body).not.toMatch(/<script/);
      const next = /href="(\/cas\/admin\/users\?after=[^"]+)">Next accounts/.exec(res.body)?.[1];
      expect(next).toBe('/cas/admin/users?after=page-49');
      const second = await get(next!.replace(/&amp;/g, '&'));
      expect(listed(second.body)).toEqual(['page-50', 'page-51', 'Zoë']);
      expect(second.body).not.toContain('Next accounts');
      // Attribute names shown, values escaped and not listed.
      expect(second.body).toContain('title="mail, displayName"');
    });

    it('searches by prefix ignoring case; an unmatched prefix says what to do; a repeated q is a 400 with the message by the field', async () => {
      const res = await get('/cas/admin/users?q=ZO');
      expect(listed(res.body)).toEqual(['Zoë']);
      expect(res.body).toContain('href="/cas/admin/users/account?username=Zo%C3%AB"');
      const none = await get('/cas/admin/users?q=%3Cb%3Enobody');
      expect(none.statusCode).toBe(200);
      expect(none.body).toContain('No account name starts with “&lt;b&gt;nobody”');
      const bad = await get('/cas/admin/users?q=a&q=b');
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad.body, 'q')).toBe('Give one search text.');
      expect(bad.body).toContain('aria-invalid="true"');
      const long = await get(`/cas/admin/users?q=${'a'.repeat(257)}`);
      expect(long.statusCode).toBe(400);
      expect(errorOf(long.body, 'q')).toBe('At most 256 characters.');
    });
  });

  describe('adding a user', () => {
    it('creates the account with the password hashed (it logs in), redirects to it with a notice, audits under the token id; the password is in no page or audit row', async () => {
      const form = await get('/cas/admin/users/new');
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain('<label for="username">Username</label>');
      expect(form.body).toContain('<label for="password">Password</label>');
      const res = await post('/cas/admin/users/new', { username: 'Newbie', password: 'first-password-1', repeat: 'first-password-1' });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/cas/admin/users/account?username=Newbie&done=added');
      expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: '/admin/users/new', status: 303 });
      const { rows } = await t.sql.query(`SELECT password_hash FROM users WHERE username = 'Newbie'`);
      expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
      const page = await get(res.headers.location as string);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('The account was created.');
      expect(page.body).toContain('<h1>Newbie</h1>');
      expect(page.body).not.toContain('first-password-1');
      expect((await login('newbie', 'first-password-1')).statusCode).toBe(302);
      const audit = await t.sql.query(`SELECT target FROM admin_audit WHERE target LIKE '%first-password%'`);
      expect(audit.rows).toEqual([]);
    });

    it('refuses a duplicate username (in another case), a short password and a mistyped repeat: 400, the message under the field, the password not echoed', async () => {
      const dup = await post('/cas/admin/users/new', { username: 'NEWBIE', password: 'second-password', repeat: 'second-password' });
      expect(dup.statusCode).toBe(400);
      expect(dup.headers['content-security-policy']).toMatch(CSP);
      expect(errorOf(dup.body, 'username')).toBe("User 'NEWBIE' already exists (usernames ignore case and Unicode compatibility forms).");
      expect(dup.body).toMatch(/id="username" name="username" value="NEWBIE"[^>]* aria-invalid="true" aria-describedby="username-error username-hint"/);
      expect(dup.body).not.toContain('second-password');
      const short = await post('/cas/admin/users/new', { username: 'shorty', password: 'short', repeat: 'short' });
      expect(short.statusCode).toBe(400);
      expect(errorOf(short.body, 'password')).toBe('At least 8 characters.');
      const typo = await post('/cas/admin/users/new', { username: 'typo', password: 'a-long-password', repeat: 'a-long-passwrod' });
      expect(typo.statusCode).toBe(400);
      expect(errorOf(typo.body, 'repeat')).toBe('The two passwords differ. Type the same password twice.');
      const badName = await post('/cas/admin/users/new', { username: 'two words', password: 'a-long-password', repeat: 'a-long-password' });
      expect(badName.statusCode).toBe(400);
      expect(errorOf(badName.body, 'username')).toBe('1 to 256 characters, no spaces, colons or commas.');
      const blank = await post('/cas/admin/users/new', { username: ' ', password: '', repeat: '' });
      expect(blank.statusCode).toBe(400);
      expect(errorOf(blank.body, 'username')).toBe('Enter a username.');
      expect(errorOf(blank.body, 'password')).toBe('Enter a password.');
      expect((await t.sql.query(`SELECT username FROM users WHERE username IN ('shorty', 'typo', 'two words', ' ')`)).rows).toEqual([]);
    });

    it('refuses a post without the _csrf field or with a wrong one (403 page), and records the refusal under the token id', async () => {
      const none = await t.app.inject({
        method: 'POST',
        url: '/cas/admin/users/new',
        headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=forged&password=a-long-password&repeat=a-long-password',
      });
      expect(none.statusCode).toBe(403);
      const wrong = await post('/cas/admin/users/new', { username: 'forged', password: 'a-long-password', repeat: 'a-long-password' }, 'not-the-csrf');
      expect(wrong.statusCode).toBe(403);
      expect(wrong.body).toContain('Nothing was changed');
      expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: '/admin/users/new', status: 403 });
      expect((await t.sql.query(`SELECT 1 FROM users WHERE username = 'forged'`)).rows).toEqual([]);
    });
  });

  describe('an account', () => {
    beforeAll(() => t.app.get(UsersService).add('dana', 'dana-password-1'));

    it('shows an unknown account, and a form for one, as a 404 page in the console layout', async () => {
      const res = await get('/cas/admin/users/account?username=ghost');
      expect(res.statusCode).toBe(404);
      expect(res.body).toContain('There is no account “ghost” in the users table.');
      expect(res.body).toContain('aria-current="page">Users &amp; throttles<');
      expect((await post('/cas/admin/users/disable?username=ghost', { confirm: 'yes' })).statusCode).toBe(404);
      expect((await post('/cas/admin/users/disable', { confirm: 'yes' })).statusCode).toBe(400);
    });

    it('disables after a confirmation page, ending the sessions through the logout pipeline; the user cannot log in; enabling lets them in again', async () => {
      const session = await login('dana', 'dana-password-1');
      expect(session.statusCode).toBe(302);
      const ask = await post('/cas/admin/users/disable?username=DANA', {});
      expect(ask.statusCode).toBe(200);
      expect(ask.body).toContain('<h1>Disable dana?</h1>');
      expect(ask.body).toContain('name="confirm" value="yes"');
      expect((await t.sql.query(`SELECT disabled FROM users WHERE username = 'dana'`)).rows).toEqual([{ disabled: false }]);
      const done = await post('/cas/admin/users/disable?username=dana', { confirm: 'yes' });
      expect(done.statusCode).toBe(303);
      expect(done.headers.location).toBe('/cas/admin/users/account?username=dana&done=disabled');
      // The account is in the form's URL, so the audit row names it.
      expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: '/admin/users/disable?username=dana', status: 303 });
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT' AND principal = 'dana'`)).rows[0].n).toBe(0);
      expect((await t.sql.query(`SELECT reason FROM session_history WHERE principal = 'dana'`)).rows).toEqual([{ reason: 'DISABLED' }]);
      expect((await login('dana', 'dana-password-1')).statusCode).toBe(401);
      const page = await get(done.headers.location as string);
      expect(page.body).toContain('The account is disabled and its SSO sessions were ended.');
      expect(page.body).toContain('<span class="badge bad">Disabled</span>');

      const enabled = await post('/cas/admin/users/enable?username=dana', {});
      expect(enabled.headers.location).toBe('/cas/admin/users/account?username=dana&done=enabled');
      expect((await login('dana', 'dana-password-1')).statusCode).toBe(302);
    });

    it('sets a new password (mistyped: 400 with the message by the field); the old one stops working', async () => {
      const typo = await post('/cas/admin/users/password?username=dana', { password: 'dana-password-2', repeat: 'dana-password-3' });
      expect(typo.statusCode).toBe(400);
      expect(errorOf(typo.body, 'repeat')).toBe('The two passwords differ. Type the same password twice.');
      expect(typo.body).not.toContain('dana-password-2');
      const short = await post('/cas/admin/users/password?username=dana', { password: 'short', repeat: 'short' });
      expect(short.statusCode).toBe(400);
      expect(errorOf(short.body, 'password')).toBe('At least 8 characters.');
      const res = await post('/cas/admin/users/password?username=dana', { password: 'dana-password-2', repeat: 'dana-password-2' });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/cas/admin/users/account?username=dana&done=password');
      expect((await login('dana', 'dana-password-1')).statusCode).toBe(401);
      expect((await login('dana', 'dana-password-2')).statusCode).toBe(302);
    });

    it("resets the second factors after a confirmation page (the TOTP device is gone); with nothing registered it says so", async () => {
      const gauth = t.app.get(GauthCredentials);
      await gauth.enrol('dana', 'phone');
      const ask = await post('/cas/admin/users/reset-mfa?username=dana', {});
      expect(ask.statusCode).toBe(200);
      expect(ask.body).toContain('<h1>Reset the second factors of dana?</h1>');
      expect(await gauth.list('dana')).toHaveLength(1);
      const res = await post('/cas/admin/users/reset-mfa?username=dana', { confirm: 'yes' });
      expect(res.headers.location).toBe('/cas/admin/users/account?username=dana&done=mfa-reset');
      expect(await gauth.list('dana')).toEqual([]);
      const again = await post('/cas/admin/users/reset-mfa?username=dana', { confirm: 'yes' });
      expect(again.headers.location).toBe('/cas/admin/users/account?username=dana&done=mfa-none');
      expect((await get(again.headers.location as string)).body).toContain('Nothing to reset');
    });

    it('shows only the fixed notices: an unknown done key shows none', async () => {
      const res = await get('/cas/admin/users/account?username=dana&done=%3Cb%3Epwned');
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('pwned');
      expect(res.body).not.toContain('class="notice');
    });
  });

  describe('throttles', () => {
    it('lists a locked-out account; "Clear" lifts it (the next correct login succeeds), audited; an empty list says nothing is throttled', async () => {
      await t.app.get(UsersService).add('erin', 'erin-password-1');
      for (let i = 0; i < 3; i++) expect((await login('erin', 'wrong', `198.51.100.${i + 1}`)).statusCode).toBe(401);
      expect((await login('erin', 'erin-password-1', '198.51.100.9')).statusCode).toBe(429);
      const page = await get('/cas/admin/users/throttles');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toMatch(CSP);
      expect(page.body).toContain('<span class="badge warn">Account</span>');
      expect(page.body).toContain('<span class="mono">erin</span>');
      expect(page.body).toContain('3 of 3');
      expect(page.body).toContain('<form method="post" action="/cas/admin/users/throttles/clear?kind=account&amp;subject=erin">');

      const clear = await post('/cas/admin/users/throttles/clear?kind=account&subject=erin', {});
      expect(clear.statusCode).toBe(303);
      expect(clear.headers.location).toBe('/cas/admin/users/throttles?done=cleared');
      expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: '/admin/users/throttles/clear?kind=account&subject=erin', status: 303 });
      const after = await get(clear.headers.location as string);
      expect(after.body).toContain('The counter was cleared');
      expect(after.body).toContain('Nothing is throttled');
      expect((await login('erin', 'erin-password-1', '198.51.100.9')).statusCode).toBe(302);
    });

    it('refuses a clear naming no counter (400 page with the message) or without the _csrf (403)', async () => {
      const bad = await post('/cas/admin/users/throttles/clear?kind=everything&subject=erin', {});
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('That counter could not be cleared');
      expect((await post('/cas/admin/users/throttles/clear?kind=account&subject=erin', {}, 'wrong')).statusCode).toBe(403);
    });

    it("the account page's \"Clear the account's throttle\" clears its counters", async () => {
      for (let i = 0; i < 3; i++) await login('erin', 'wrong', `198.51.100.${i + 20}`);
      expect((await login('erin', 'erin-password-1', '198.51.100.29')).statusCode).toBe(429);
      const res = await post('/cas/admin/users/unthrottle?username=Erin', {});
      expect(res.headers.location).toBe('/cas/admin/users/account?username=erin&done=unthrottled');
      expect((await login('erin', 'erin-password-1', '198.51.100.29')).statusCode).toBe(302);
    });
  });
});

/** A chain without the users table (a deployment that authenticates elsewhere): the page says its accounts cannot log in. */
describe('console: users, when the users table is not an authentication source', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { ...CONSOLE_TOKEN_ENV, CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon' },
      authenticationHandlers: { inject: [AcceptUsersAuthenticationHandler], factory: (accept: AcceptUsersAuthenticationHandler) => [accept] },
    });
  });
  afterAll(() => t.close());

  it('says so above the list', async () => {
    const s = await consoleSession(t.app);
    const res = await t.app.inject({ method: 'GET', url: '/cas/admin/users', headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('The users table is not an authentication source on this server: the accounts below cannot log in.');
    expect(res.body).not.toContain('(this table)');
  });
});

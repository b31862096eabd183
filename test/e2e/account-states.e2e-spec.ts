import type { Response } from 'light-my-request';
import { AcceptUsersAuthenticationHandler } from '../../src/auth/handlers/accept-users.handler';
import type { AuthenticationHandler } from '../../src/auth/handlers/authentication-handler';
import { QueryDatabaseAuthenticationHandler } from '../../src/auth/handlers/query-database.handler';
import { UsersService } from '../../src/auth/users.service';
import { AccountStateHandler, CHANGE_URL, STATE_PASSWORD } from '../helpers/account-state-handler';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp, TestAppOptions } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// Small argon2 memory keeps the suite quick; the production default is OWASP's m=19 MiB, t=2.
const FAST = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', AUTHN_THROTTLE_ENABLED: 'false' };
const GENERIC = 'Invalid credentials.';
const ESCAPED_CHANGE_URL = 'https://pm.example.org/change?from=cas&amp;lang=%22en%22&amp;x=%3Cb%3E';
const HELP_DESK = 'Please contact your help desk or system administrator to regain access.';

/** The handler under test first, then the real users table and static list. */
async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  const t = await startTestApp({
    ...opts,
    env: { ...FAST, CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon', ...opts.env },
    authenticationHandlers: {
      inject: [QueryDatabaseAuthenticationHandler, AcceptUsersAuthenticationHandler],
      factory: (table: AuthenticationHandler, accept: AuthenticationHandler) => [new AccountStateHandler(), table, accept],
    },
  });
  await t.app.get(UsersService).add('alice', 'alice password 1');
  return t;
}

const tgcOf = (t: TestApp, res: Response) => setCookies(res).find((c) => c.name === t.config.tgc.name);
const sessions = async (t: TestApp) => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n;

/** What a refused login may never give: a session, its cookie, a ticket; and the headers every page has. */
function expectRefusedPage(t: TestApp, res: Response): void {
  expect(tgcOf(t, res)).toBeUndefined();
  expect(res.headers.location).toBeUndefined();
  expect(res.body).not.toMatch(/ST-/);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['content-security-policy']).toContain("form-action 'self'");
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}

/** The generic failure page with its per-request parts (the form token, the name typed) blanked. */
const normalized = (body: string) =>
  body.replace(/name="execution" value="[^"]+"/, 'name="execution" value="…"').replace(/name="username"([^>]*) value="[^"]*"/, 'name="username"$1 value="…"');

describe('account states: each refusal the source explains has its own page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start();
  });
  afterAll(() => t.close());

  const cases: [string, string, string[]][] = [
    ['locked-user', 'Account locked', ['This account has been locked.', HELP_DESK]],
    ['disabled-user', 'Account disabled', ['This account has been disabled.', HELP_DESK]],
    ['expired-account-user', 'Account expired', ['This account has expired and is forbidden to log in.', HELP_DESK]],
    [
      'expired-password-user',
      'Password expired',
      ['Your password has expired.', `Please <a href="${ESCAPED_CHANGE_URL}">change your password</a>, then log in with the new one.`],
    ],
    [
      'must-change-user',
      'Password change required',
      ['You must change your password before you can log in.', 'Please contact your help desk or system administrator to change it.'],
    ],
    [
      'bad-hours-user',
      'Not allowed at this time',
      ['Your account is forbidden to log in at this time.', 'Please try again later, within the hours your account is allowed to log in.'],
    ],
    [
      'bad-workstation-user',
      'Not allowed from this workstation',
      ['You cannot log in from this workstation.', 'Please log in from a workstation you are allowed to use, or contact your help desk or system administrator.'],
    ],
  ];

  it.each(cases)('%s: 401, its own page (%s), no session, no cookie, no ticket', async (username, title, texts) => {
    const before = await sessions(t);
    const res = await new Browser(t.app).login(username, STATE_PASSWORD, APP);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain(`<title>${title}</title>`);
    for (const text of texts) expect(res.body).toContain(text);
    expect(res.body).not.toContain(GENERIC);
    expect(res.body).not.toContain('name="password"');
    // Back to the login form for the same (registered) service, on this server.
    expect(res.body).toContain(`<a href="login?service=${encodeURIComponent(APP)}">Back to the login page</a>`);
    expectRefusedPage(t, res);
    expect(await sessions(t)).toBe(before);
  });

  it('seven states, seven different pages', async () => {
    const titles = new Set<string>();
    for (const [username] of cases) {
      const res = await new Browser(t.app).login(username, STATE_PASSWORD);
      titles.add(/<title>([^<]*)<\/title>/.exec(res.body)![1]);
    }
    expect(titles.size).toBe(cases.length);
  });

  it('the change-password link is the configured http(s) URL only: a javascript: URL is dropped', async () => {
    const res = await new Browser(t.app).login('script-link-user', STATE_PASSWORD, APP);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Your password has expired.');
    expect(res.body).not.toContain('javascript:');
    expect(res.body).toContain('Please contact your help desk or system administrator to change it.');
  });

  it('a wrong password for an account with a state, an unknown name, a wrong table password: one generic page, byte for byte', async () => {
    const answers = await Promise.all([
      new Browser(t.app).login('locked-user', 'wrong password', APP),
      new Browser(t.app).login('expired-password-user', 'wrong password', APP),
      new Browser(t.app).login('nobody', 'wrong password', APP),
      new Browser(t.app).login('alice', 'wrong password', APP),
      new Browser(t.app).login('casuser', 'wrong password', APP),
    ]);
    const first = normalized(answers[0].body);
    expect(first).toContain(GENERIC);
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(normalized(res.body)).toBe(first);
      expectRefusedPage(t, res);
    }
  });
});

describe('users table: the disabled column', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start();
    await t.app.get(UsersService).add('bob', 'bob password 1');
    await t.app.get(UsersService).disable('bob');
  });
  afterAll(() => t.close());

  it('the right password of a disabled account: the disabled page (401, no session)', async () => {
    const res = await new Browser(t.app).login('bob', 'bob password 1', APP);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('This account has been disabled.');
    expect(res.body).not.toContain(GENERIC);
    expectRefusedPage(t, res);
    expect(await sessions(t)).toBe(0);
  });

  it('a wrong password for a disabled account: the generic failure, the same as for an unknown name', async () => {
    const wrong = await new Browser(t.app).login('bob', 'wrong password', APP);
    const unknown = await new Browser(t.app).login('nobody', 'wrong password', APP);
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain('disabled');
      expectRefusedPage(t, res);
    }
    expect(normalized(wrong.body)).toBe(normalized(unknown.body));
  });
});

describe('account states count as failed attempts for the throttle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({ env: { AUTHN_THROTTLE_ENABLED: 'true', AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3' } });
  });
  afterAll(() => t.close());

  it('three state pages for one account, then the throttle answers (the reservation is not refunded)', async () => {
    for (let i = 0; i < 3; i++) expect((await new Browser(t.app).login('must-change-user', STATE_PASSWORD, APP)).statusCode).toBe(401);
    const throttled = await new Browser(t.app).login('must-change-user', STATE_PASSWORD, APP);
    expect(throttled.statusCode).toBe(t.config.throttle.httpStatus);
    expect(throttled.body).toContain('Too many failed login attempts.');
  });
});

describe('password warning after a successful login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start();
  });
  afterAll(() => t.close());

  const validate = (ticket: string, extra = '') =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticket}${extra}` });
  const continueFrom = (browser: Browser, page: Response, extra: Record<string, string> = {}) =>
    browser.post('/cas/login', { execution: executionOf(page.body), _eventId: 'continue', ...extra });

  it('shows the days left and the change link, with the session and TGC already created and no ticket yet', async () => {
    const res = await new Browser(t.app).login('warned-user', STATE_PASSWORD, APP);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>Password expiring</title>');
    expect(res.body).toContain('<h1>Authentication succeeded with warnings</h1>');
    expect(res.body).toContain('Your password expires in 3 days.');
    expect(res.body).toContain(`Please <a href="${ESCAPED_CHANGE_URL}">change your password</a> now.`);
    expect(res.body).toContain(`Continue to go on to ${APP}.`);
    expect(res.body).toContain('<button type="submit">Continue</button>');
    expect(tgcOf(t, res)?.value).toBeTruthy();
    expect(res.headers.location).toBeUndefined();
    expect(res.body).not.toMatch(/ST-/);
    expect(res.headers['content-security-policy']).toContain("form-action 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('Continue, after the service ticket lifetime: 302 to the service with a ticket that validates as from a new login', async () => {
    const browser = new Browser(t.app);
    const page = await browser.login('warned-user', STATE_PASSWORD, APP);
    t.clock.advance(60);
    const res = await continueFrom(browser, page);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(/^https:\/\/app\.example\.org\/\?ticket=ST-/);
    const ok = (await validate(ticketOf(res), '&renew=true')).json().serviceResponse.authenticationSuccess;
    expect(ok.user).toBe('warned-user');
    expect(ok.attributes.isFromNewLogin).toEqual([true]);
    expect(ok.attributes.mail).toEqual(['warned-user@example.org']);
    // The Continue token is single use.
    expect((await continueFrom(browser, page)).statusCode).toBe(403);
    // The TGC of the login is the SSO session: the next service needs no password.
    const sso = await browser.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(sso.statusCode).toBe(302);
  });

  it('another browser cannot use the Continue token', async () => {
    const page = await new Browser(t.app).login('warned-user', STATE_PASSWORD, APP);
    const thief = new Browser(t.app);
    await thief.get('/cas/login');
    expect((await continueFrom(thief, page)).statusCode).toBe(403);
  });

  it('without a service, Continue shows the logged-in page', async () => {
    const browser = new Browser(t.app);
    const page = await browser.login('grace-user', STATE_PASSWORD);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Your password has expired: you have 1 login left before you must change it.');
    expect(page.body).toContain('Please change your password soon, or contact your help desk or system administrator.');
    expect(page.body).toContain('Continue to finish logging in.');
    const res = await continueFrom(browser, page);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<strong>grace-user</strong>, have successfully logged into');
  });

  it('method=POST and the warn checkbox still apply: Continue POSTs the ticket, and the next SSO login asks first', async () => {
    const browser = new Browser(t.app);
    const form = await browser.get(`/cas/login?service=${encodeURIComponent(APP)}&method=POST`);
    const page = await browser.post('/cas/login', {
      username: 'warned-user',
      password: STATE_PASSWORD,
      execution: executionOf(form.body),
      _eventId: 'submit',
      method: 'POST',
      warn: 'true',
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="method" value="POST"');
    const res = await continueFrom(browser, page, { method: 'POST' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`<form id="cas-post" method="post" action="${APP}">`);
    const ticket = /name="ticket" value="([^"]+)"/.exec(res.body)![1];
    expect((await validate(ticket)).json().serviceResponse.authenticationSuccess.user).toBe('warned-user');
    const next = await browser.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(next.statusCode).toBe(200);
    expect(next.body).toContain('Log in to another site?');
  });

  it('on a public workstation: no TGC, and Continue still reaches the service with a valid ticket', async () => {
    const browser = new Browser(t.app);
    const page = await browser.login('warned-user', STATE_PASSWORD, APP, { publicWorkstation: 'true' });
    expect(page.statusCode).toBe(200);
    expect(tgcOf(t, page)).toBeUndefined();
    const res = await continueFrom(browser, page);
    expect(res.statusCode).toBe(302);
    expect((await validate(ticketOf(res))).json().serviceResponse.authenticationSuccess.user).toBe('warned-user');
  });

  it('the session ended before Continue: the login form again, no ticket', async () => {
    const browser = new Browser(t.app);
    const page = await browser.login('warned-user', STATE_PASSWORD, APP);
    await browser.get('/cas/logout');
    const res = await continueFrom(browser, page);
    expect(res.statusCode).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toContain('Your session was ended while you were logging in.');
  });
});

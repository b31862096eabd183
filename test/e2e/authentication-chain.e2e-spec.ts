import { Logger } from '@nestjs/common';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Response } from 'light-my-request';
import { AcceptUsersAuthenticationHandler } from '../../src/auth/handlers/accept-users.handler';
import type { AuthenticationHandler, HandlerResult } from '../../src/auth/handlers/authentication-handler';
import { QueryDatabaseAuthenticationHandler } from '../../src/auth/handlers/query-database.handler';
import { PasswordHasher } from '../../src/auth/password-hasher';
import { UsersService } from '../../src/auth/users.service';
import { Browser, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp, TestAppOptions } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// Small argon2 memory keeps the suite quick; the production default is OWASP's m=19 MiB, t=2.
const FAST = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', AUTHN_THROTTLE_ENABLED: 'false' };
// casuser is in both the table and the static list (start() adds it to the table); carol only in the list.
const STATIC_USERS = { CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,carol::carol password 1' };
const TABLE = 'QueryDatabaseAuthenticationHandler';
const STATIC = 'AcceptUsersAuthenticationHandler';
const UNAVAILABLE = 'Authentication service unavailable. Please try again later.';
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

/** A source that is down: every call answers `unavailable` (or throws, as a driver would). */
class DownHandler implements AuthenticationHandler {
  calls = 0;
  constructor(
    readonly name: string,
    readonly order: number,
    private readonly how: 'answers' | 'throws',
  ) {}

  async authenticate(): Promise<HandlerResult> {
    this.calls++;
    const error = new Error('connect ECONNREFUSED 127.0.0.1:1636 (directory marker)');
    if (this.how === 'throws') throw error;
    return { kind: 'unavailable', error };
  }
}

async function start(opts: TestAppOptions = {}): Promise<TestApp> {
  const t = await startTestApp({ ...opts, env: { ...FAST, ...STATIC_USERS, ...opts.env } });
  await t.app.get(UsersService).add('casuser', 'table password 1', { mail: ['table@example.org'] });
  await t.app.get(UsersService).add('Alice', 'alice password 1');
  return t;
}

/** What /p3/serviceValidate (or another endpoint) releases for a login's ticket, in JSON and in XML (two logins). */
async function released(t: TestApp, username: string, password: string, endpoint = 'p3/serviceValidate') {
  const validate = async (format: string) => {
    const login = await new Browser(t.app).login(username, password, APP);
    expect(login.statusCode).toBe(302);
    return t.app.inject({ method: 'GET', url: `/cas/${endpoint}?service=${encodeURIComponent(APP)}&ticket=${ticketOf(login)}${format}` });
  };
  const json = (await validate('&format=JSON')).json().serviceResponse.authenticationSuccess;
  const body = (await validate('')).body;
  expect(XMLValidator.validate(body)).toBe(true);
  const xml = parser.parse(body)['cas:serviceResponse']['cas:authenticationSuccess'];
  return { json, xml, body };
}

const tgtRows = async (t: TestApp) => (await t.sql.query(`SELECT principal, authentication_handler FROM tickets WHERE type = 'TGT' ORDER BY created_at`)).rows;
const tgcOf = (t: TestApp, res: Response) => setCookies(res).find((c) => c.name === t.config.tgc.name);

describe('authentication chain: the users table, then the static list', () => {
  let t: TestApp;
  let verify: jest.SpyInstance;
  beforeAll(async () => {
    t = await start();
    verify = jest.spyOn(t.app.get(PasswordHasher), 'verify');
  });
  beforeEach(() => verify.mockClear());
  afterAll(() => t.close());

  it('a user in both: the table decides, and its refusal is final (no fall-through to the static list)', async () => {
    const staticPassword = await new Browser(t.app).login('casuser', 'Mellon', APP);
    expect(staticPassword.statusCode).toBe(401);
    expect(staticPassword.body).toContain('Invalid credentials.');
    expect(tgcOf(t, staticPassword)).toBeUndefined();
    expect(verify).toHaveBeenCalledTimes(1);

    const { json } = await released(t, 'casuser', 'table password 1');
    expect(json.attributes.mail).toEqual(['table@example.org']);
    expect(json.attributes.successfulAuthenticationHandlers).toEqual([TABLE]);
  });

  it('unknown to every handler: the generic 401, one argon2 verify (the dummy hash)', async () => {
    const res = await new Browser(t.app).login('nobody', 'whatever', APP);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Invalid credentials.');
    expect(res.body).not.toContain(UNAVAILABLE);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('/p3/serviceValidate releases the handler as successfulAuthenticationHandlers and authenticationMethod, XML and JSON', async () => {
    const table = await released(t, 'alice', 'alice password 1');
    expect(table.json.user).toBe('Alice');
    expect(table.json.attributes).toMatchObject({ successfulAuthenticationHandlers: [TABLE], authenticationMethod: [TABLE] });
    expect(table.xml['cas:attributes']).toMatchObject({ 'cas:successfulAuthenticationHandlers': TABLE, 'cas:authenticationMethod': TABLE });
    // After the XSD's three protocol attributes, before the user's own.
    expect(table.body.indexOf('cas:isFromNewLogin')).toBeLessThan(table.body.indexOf('cas:successfulAuthenticationHandlers'));

    const fixed = await released(t, 'carol', 'carol password 1');
    expect(fixed.json.attributes).toMatchObject({ successfulAuthenticationHandlers: [STATIC], authenticationMethod: [STATIC] });
    expect(fixed.xml['cas:attributes']).toMatchObject({ 'cas:successfulAuthenticationHandlers': STATIC, 'cas:authenticationMethod': STATIC });
    // CAS 2.0 /serviceValidate with v3 forward compatibility (the default) releases them too.
    const cas2 = await released(t, 'carol', 'carol password 1', 'serviceValidate');
    expect(cas2.json.attributes).toMatchObject({ successfulAuthenticationHandlers: [STATIC], authenticationMethod: [STATIC] });
  });

  it('records the handler on the TGT row, and the admin listing shows it in authentication_attributes', async () => {
    await t.sql.query(`DELETE FROM tickets`);
    await new Browser(t.app).login('alice', 'alice password 1');
    expect(await tgtRows(t)).toEqual([{ principal: 'Alice', authentication_handler: TABLE }]);
    const listing = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions' });
    expect(listing.statusCode).toBe(200);
    expect(listing.json().activeSsoSessions[0].authentication_attributes).toEqual({
      credentialType: ['UsernamePasswordCredential'],
      successfulAuthenticationHandlers: [TABLE],
      authenticationMethod: [TABLE],
      longTermAuthenticationRequestTokenUsed: [false],
    });
  });

  it('a session recorded without a handler (created before the column) releases none, and validates as before', async () => {
    const login = await new Browser(t.app).login('alice', 'alice password 1', APP);
    await t.sql.query(`UPDATE tickets SET authentication_handler = NULL WHERE type = 'TGT'`);
    const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(login)}` });
    const attributes = res.json().serviceResponse.authenticationSuccess.attributes;
    expect(attributes.isFromNewLogin).toEqual([true]);
    expect(attributes).not.toHaveProperty('successfulAuthenticationHandlers');
    expect(attributes).not.toHaveProperty('authenticationMethod');
  });
});

describe('authentication chain: a handler that is down', () => {
  let t: TestApp;
  let verify: jest.SpyInstance;
  let error: jest.SpyInstance;
  const down = new DownHandler('DirectoryDown', -1, 'answers');
  const throwing = new DownHandler('DirectoryThrows', -2, 'throws');
  beforeAll(async () => {
    t = await start({
      authenticationHandlers: {
        inject: [QueryDatabaseAuthenticationHandler, AcceptUsersAuthenticationHandler],
        factory: (table: AuthenticationHandler, accept: AuthenticationHandler) => [table, accept, down, throwing],
      },
    });
    verify = jest.spyOn(t.app.get(PasswordHasher), 'verify');
  });
  beforeEach(() => {
    verify.mockClear();
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    down.calls = throwing.calls = 0;
  });
  afterEach(() => error.mockRestore());
  afterAll(() => t.close());

  it('is skipped with one logged error each (no username, no password), and the next handler logs the user in', async () => {
    const res = await new Browser(t.app).login('alice', 'alice password 1', APP);
    expect(res.statusCode).toBe(302);
    expect([throwing.calls, down.calls]).toEqual([1, 1]);
    const messages = error.mock.calls.map((c) => String(c[0]));
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^DirectoryThrows is unavailable, trying the next handler: Error: connect ECONNREFUSED .*directory marker/);
    expect(messages[1]).toMatch(/^DirectoryDown is unavailable/);
    for (const m of messages) expect(m).not.toMatch(/alice/i);
    expect(verify).toHaveBeenCalledTimes(1);
    const v = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(res)}` });
    expect(v.json().serviceResponse.authenticationSuccess.attributes.authenticationMethod).toEqual([TABLE]);
  });

  it('a handler after it that knows the user still decides a refusal: the generic 401, not the unavailable page', async () => {
    const res = await new Browser(t.app).login('alice', 'wrong password', APP);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Invalid credentials.');
    expect(res.body).not.toContain(UNAVAILABLE);
  });

  it('none decided and one was down: the unavailable page (503, the form again), no session, one verify', async () => {
    const before = (await tgtRows(t)).length;
    const res = await new Browser(t.app).login('nobody', 'whatever', APP);
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain(UNAVAILABLE);
    expect(res.body).not.toContain('Invalid credentials.');
    expect(res.body).toContain('name="execution"');
    expect(tgcOf(t, res)).toBeUndefined();
    expect((await tgtRows(t)).length).toBe(before);
    expect(verify).toHaveBeenCalledTimes(1);
  });
});

describe('authentication chain: only handlers that are down', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({
      authenticationHandlers: { inject: [], factory: () => [new DownHandler('DirectoryDown', 0, 'answers'), new DownHandler('Other', 1, 'throws')] },
    });
  });
  afterAll(() => t.close());

  it('every login gets the unavailable page and no TGT row, users of the table and the static list alike', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      for (const [user, password] of [['alice', 'alice password 1'], ['carol', 'carol password 1'], ['nobody', 'x']]) {
        const res = await new Browser(t.app).login(user, password, APP);
        expect(res.statusCode).toBe(503);
        expect(res.body).toContain(UNAVAILABLE);
        expect(tgcOf(t, res)).toBeUndefined();
      }
      expect(error).toHaveBeenCalledTimes(6);
      expect(await tgtRows(t)).toEqual([]);
    } finally {
      error.mockRestore();
    }
  });
});

describe('authentication chain: CAS_AUTHN_ACCEPT_NAME and CAS_AUTHN_ACCEPT_ORDER', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({ env: { CAS_AUTHN_ACCEPT_NAME: 'StaticList', CAS_AUTHN_ACCEPT_ORDER: '-1' } });
  });
  afterAll(() => t.close());

  it('the static list asked first decides for a user in both, under its configured name', async () => {
    const { json } = await released(t, 'casuser', 'Mellon');
    expect(json.attributes).toMatchObject({ successfulAuthenticationHandlers: ['StaticList'], authenticationMethod: ['StaticList'] });
    expect((await new Browser(t.app).login('casuser', 'table password 1', APP)).statusCode).toBe(401);
    // A user only the table knows falls through to it.
    expect((await released(t, 'alice', 'alice password 1')).json.attributes.authenticationMethod).toEqual([TABLE]);
  });
});

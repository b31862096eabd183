import { UsersService } from '../../src/auth/users.service';
import { usernameKey } from '../../src/common/username';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const ENV = {
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_ADMIN_TOKENS: TOKEN,
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '100',
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3',
};

/**
 * One username, one canonical form (usernameKey: NFKC + full case folding) for the account
 * lookup, the throttle counter, the sessions and the admin queries: spellings that fold equal
 * are one account everywhere, and a spelling that does not (alİce with U+0130) is another one
 * everywhere.
 */
describe('canonical usernames', () => {
  let t: TestApp;
  let users: UsersService;
  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    users = t.app.get(UsersService);
    await users.add('Alice', 'alice password 1');
    await users.add('ΟΔΟΣ', 'greek password 1');
    await users.add('Straße', 'strasse password 1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.sql.query(`DELETE FROM login_throttle`));

  const login = (b: Browser, username: string, password: string) => b.login(username, password, APP);
  const validate = async (st: string) =>
    (await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${st}` })).json()
      .serviceResponse.authenticationSuccess?.user;
  const admin = (method: 'GET' | 'DELETE', path: string) =>
    t.app.inject({ method, url: `/cas/actuator/${path}`, headers: BEARER });
  const sessionsOf = async (spelling: string) =>
    (await admin('GET', `ssoSessions/users/${encodeURIComponent(spelling)}`)).json().activeSsoSessions as { authenticated_principal: string }[];
  const accountCounters = async () =>
    (await t.sql.query(`SELECT failures FROM login_throttle WHERE key LIKE 'account:%' AND failures > 0`)).rows.map((r) => r.failures as number);

  it.each([
    ['ALICE', 'alice', 'Alice', 'alice password 1', 'Alice'],
    ['ΟΔΟΣ', 'οδος', 'οδοσ', 'greek password 1', 'ΟΔΟΣ'],
    ['STRASSE', 'straße', 'STRAẞE', 'strasse password 1', 'Straße'],
  ])('%s, %s and %s fold equal: one throttle counter, one account, asserted with its own spelling', async (a, b, c, password, shown) => {
    for (const spelling of [a, b, c]) expect((await login(new Browser(t.app), spelling, 'wrong')).statusCode).toBe(401);
    // Three failures on one counter: the account's limit (3) is reached whatever the spelling.
    expect(await accountCounters()).toEqual([3]);
    expect((await login(new Browser(t.app), a, password)).statusCode).toBe(429);
    await t.sql.query(`DELETE FROM login_throttle`);
    for (const spelling of [a, b, c]) {
      const res = await login(new Browser(t.app), spelling, password);
      expect(res.statusCode).toBe(302);
      expect(await validate(ticketOf(res))).toBe(shown);
    }
  });

  it('alİce (U+0130) is not alice anywhere: no login with her password, its own counter, no sessions of hers', async () => {
    expect(usernameKey('alİce')).not.toBe(usernameKey('alice'));
    const alice = new Browser(t.app);
    expect((await login(alice, 'alice', 'alice password 1')).statusCode).toBe(302);
    expect((await login(new Browser(t.app), 'alİce', 'alice password 1')).statusCode).toBe(401);
    for (let i = 0; i < 2; i++) await login(new Browser(t.app), 'alİce', 'wrong');
    // alİce's three failures are on a counter of their own: alice's is untouched.
    expect(await accountCounters()).toEqual([3]);
    expect((await login(new Browser(t.app), 'ALICE', 'alice password 1')).statusCode).toBe(302);
    expect((await login(new Browser(t.app), 'alİce', 'alice password 1')).statusCode).toBe(429);
    expect((await sessionsOf('alice')).length).toBeGreaterThan(0);
    expect(await sessionsOf('alİce')).toEqual([]);
    await expect(users.add('alİce', 'another password')).resolves.toBeUndefined();
  });

  it('the admin API finds, counts and ends a session by any spelling that folds equal', async () => {
    await t.sql.query(`DELETE FROM session_services; DELETE FROM tickets`);
    const b = new Browser(t.app);
    expect((await login(b, 'strasse', 'strasse password 1')).statusCode).toBe(302);
    for (const spelling of ['Straße', 'STRASSE', 'straße', 'STRAẞE']) {
      expect((await sessionsOf(spelling)).map((s) => s.authenticated_principal)).toEqual(['Straße']);
    }
    expect((await admin('GET', `ssoSessions?username=${encodeURIComponent('STRASSE')}`)).json().activeSsoSessions).toHaveLength(1);
    await login(new Browser(t.app), 'ΟΔΟΣ', 'greek password 1');
    await login(new Browser(t.app), 'οδοσ', 'greek password 1');
    expect((await admin('GET', 'ssoSessions')).json()).toMatchObject({ totalSsoSessions: 3, totalPrincipals: 2 });
    expect(await sessionsOf('οδος')).toHaveLength(2);
    const ended = await admin('DELETE', `ssoSessions/users/${encodeURIComponent('STRASSE')}`);
    expect(ended.statusCode).toBe(200);
    expect(Object.keys(ended.json())).toHaveLength(1);
    expect(await sessionsOf('Straße')).toEqual([]);
    const sso = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(sso.statusCode).toBe(200);
    expect(executionOf(sso.body)).toBeTruthy();
  });

  it('a new login in the same browser under another spelling hands the session over (same user)', async () => {
    const b = new Browser(t.app);
    const first = ticketOf(await login(b, 'Straße', 'strasse password 1'));
    const { rows: [{ session_id: oldTgt }] } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [first]);
    const again = await b.request({ method: 'GET', url: `/cas/login?renew=true&service=${encodeURIComponent(APP)}` });
    const res = await b.post('/cas/login', { username: 'STRASSE', password: 'strasse password 1', execution: executionOf(again.body) });
    expect(res.statusCode).toBe(302);
    const { rows: [{ session_id: newTgt }] } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)]);
    expect(newTgt).not.toBe(oldTgt);
    // Handed over: the first ticket's service record now belongs to the new session.
    const { rows } = await t.sql.query(`SELECT session_id FROM session_services WHERE ticket_id = $1`, [first]);
    expect(rows).toEqual([{ session_id: newTgt }]);
  });

  it('static users (CAS_AUTHN_ACCEPT_USERS) are found by their canonical form too, asserted as configured', async () => {
    const res = await login(new Browser(t.app), 'CASUSER', 'Mellon');
    expect(res.statusCode).toBe(302);
    expect(await validate(ticketOf(res))).toBe('casuser');
  });
});

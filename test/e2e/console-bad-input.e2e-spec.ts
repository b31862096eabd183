import { consoleForm, consoleSession, CONSOLE_TOKEN_ENV, type ConsoleSession } from '../helpers/console-rig';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Every console route against input no page of the console would send (reliability-security.md:
 * bad input gets a clear answer, never a 500 or a stack trace): repeated parameters, values of
 * 5,000 characters, control characters, malformed percent-encoding, ids that are not ids, forms
 * with fields missing or given twice.
 */
describe('admin console: bad input', () => {
  let t: TestApp;
  let s: ConsoleSession;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...CONSOLE_TOKEN_ENV } });
    s = await consoleSession(t.app);
  });
  afterAll(() => t.close());

  const long = 'x'.repeat(5000);
  const queries = ['', '?a=1&a=2', `?q=${long}`, '?q=%00%01', '?username=a%00', '?actor=%00', '?target=%00x', '?requestId=%00', '?user=%00', '?url=http://a%00b/', '?service=%00', '?q=%E0%A4%A', '?after=%FF', '?after=zz&after=yy', '?user=a&user=b', '?url=a&url=b', `?url=${long}`,
    '?group=nope', '?group=user&group=ip', '?ip=999.1.1.1', '?since=yesterday', '?status=6xx', '?from=2026-13-45', '?method=BREW', '?target=%25', '?done=<script>'];
  const pages = ['', '/sessions', '/sessions/history', '/sessions/notahandle', '/sessions/AAAAAAAAAAAAAAAAAAAAAA', '/services', '/services/match', '/services/new', '/services/abc',
    '/services/99999999999999999999', '/services/-1/edit', '/users', '/users/new', '/users/account', '/users/throttles', '/audit', '/login'];

  /** What was not answered clearly: a 500, or a page that shows a stack or an error's name. */
  let unclear: string[];
  beforeEach(() => {
    unclear = [];
  });
  function expectClear(status: number, body: string, what: string): void {
    if (status >= 500 || /at \w+ \(|node_modules|Error:/.test(body)) unclear.push(`${what} → ${status}`);
  }

  it('answers every page with odd query strings without a 500 or a stack trace', async () => {
    for (const page of pages) {
      for (const q of queries) {
        const res = await t.app.inject({ method: 'GET', url: `/cas/admin${page}${q}`, headers: { cookie: s.cookie } });
        expectClear(res.statusCode, res.body, `GET ${page}${q.slice(0, 40)}`);
      }
    }
    expect(unclear).toEqual([]);
  });

  it('answers every form with fields missing, repeated, oversized or odd without a 500, and changes nothing it should not', async () => {
    const before = await t.sql.query(`SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM registered_services) AS services, (SELECT count(*) FROM tickets) AS tickets`);
    const posts = ['/sessions/end', '/sessions/notahandle/retry', '/services/new', '/services/1/edit', '/services/abc/edit', '/services/1/enabled', '/services/abc/enabled',
      '/users/new', '/users/password', '/users/disable', '/users/enable', '/users/reset-mfa', '/users/unthrottle', '/users/throttles/clear', '/logout'];
    const bodies: Record<string, string>[] = [
      {},
      { scope: 'matching', confirm: 'maybe' },
      { one: 'nope', confirm: 'yes' },
      { selected: long, scope: 'selected', confirm: 'yes' },
      { username: long, password: long, repeat: 'y' },
      { username: 'a\u0000b', password: 'short' },
      { json: '{"@class": 1', serviceId: '(' },
      { json: long, enabled: 'perhaps' },
      { kind: 'nope', subject: long },
    ];
    for (const path of posts) {
      for (const body of bodies) {
        const form = consoleForm(s, body);
        const res = await t.app.inject({ url: `/cas/admin${path}?username=${encodeURIComponent('a&b')}`, ...form });
        expectClear(res.statusCode, res.body, `POST ${path} ${JSON.stringify(body).slice(0, 60)}`);
      }
      // The same field twice (a form cannot send this; a script can).
      const twice = await t.app.inject({
        method: 'POST',
        url: `/cas/admin${path}`,
        headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(s.csrf)}&username=a&username=b&scope=user&scope=matching&confirm=yes&confirm=yes&json=x&json=y`,
      });
      expectClear(twice.statusCode, twice.body, `POST ${path} with repeated fields`);
    }
    expect(unclear).toEqual([]);
    // The signed-out session (POST /logout above) is the only thing that may have changed.
    const after = await t.sql.query(`SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM registered_services) AS services, (SELECT count(*) FROM tickets) AS tickets`);
    expect(after.rows).toEqual(before.rows);
  });
});

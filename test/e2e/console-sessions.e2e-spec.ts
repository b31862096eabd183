import { handleOf } from '../../src/tickets/session-handle';
import { Browser, ticketOf } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { consoleForm, consoleSession, CONSOLE_TOKEN_ENV, type ConsoleSession } from '../helpers/console-rig';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';

const CSP = /^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/;

/**
 * The console's Sessions pages over HTTP (app.inject): the explorer (filters, groups, keyset
 * pages), ending sessions after a confirmation, a session's page live and ended, "retry now".
 */
describe('console: sessions', () => {
  let t: TestApp;
  let rx: LogoutReceiver;
  let c: ConsoleSession;
  const APP = () => `http://127.0.0.1:${rx.port}/app`;
  const DEAD = 'http://127.0.0.1:9/dead'; // nothing listens: its logout request fails and waits for a retry

  beforeAll(async () => {
    rx = await logoutReceiver();
    t = await startTestApp({
      env: {
        ...CONSOLE_TOKEN_ENV,
        CAS_SLO_DISABLED: 'false',
        AUTHN_THROTTLE_ENABLED: 'false',
        CAS_AUTHN_ACCEPT_USERS: ['alice', 'alicia', 'bob', 'carol', 'dave', 'pager', 'erin'].map((u) => `${u}::Secret1`).join(','),
      },
      services: [
        { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'App', evaluationOrder: 1, serviceId: `^http://127\\.0\\.0\\.1:${rx.port}/app.*` },
        { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 2, name: 'Dead app', evaluationOrder: 2, serviceId: '^http://127\\.0\\.0\\.1:9/.*' },
      ],
    });
    c = await consoleSession(t.app);
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  /** Logs `user` in to `service` (its ST left unvalidated: a live ticket), from `ip`; the TGT id. */
  async function login(user: string, service = APP(), ip?: string): Promise<string> {
    const st = ticketOf(await new Browser(t.app).login(user, 'Secret1', service));
    const tgt: string = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id;
    if (ip) await t.sql.query(`UPDATE tickets SET client_ip = $2, device_browser = 'Firefox 133', device_os = 'Linux', device_type = 'desktop' WHERE id = $1`, [tgt, ip]);
    return tgt;
  }
  const get = (url: string, cookie = c.cookie) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
  const post = (url: string, fields: Record<string, string>, csrf?: string) => t.app.inject({ url, ...consoleForm(c, fields, csrf) });
  const live = async (id: string) => (await t.sql.query(`SELECT 1 FROM tickets WHERE id = $1`, [id])).rowCount === 1;
  const liveIds = async () => (await t.sql.query(`SELECT id FROM tickets`)).rows.map((r) => r.id as string);
  const lastAudit = async () => (await t.sql.query(`SELECT actor, action, target, status FROM admin_audit ORDER BY id DESC LIMIT 1`)).rows[0];

  it('sends a page load without the console cookie to the sign-in page, and refuses a POST', async () => {
    const res = await get('/cas/admin/sessions?username=ali', '');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin%2Fsessions%3Fusername%3Dali');
    const anon = await t.app.inject({ method: 'POST', url: '/cas/admin/sessions/end', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'scope=matching&confirm=yes' });
    expect(anon.statusCode).toBe(403);
  });

  it('lists the sessions of users starting with a prefix, naming them by handle, never by id', async () => {
    const a = await login('alice', APP(), '10.0.0.5');
    const b = await login('alicia', APP(), '10.0.1.7');
    await login('bob', APP(), '192.0.2.1');
    const res = await get('/cas/admin/sessions?username=ALI');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(CSP);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('2 sessions match');
    expect(res.body).toContain(`href="/cas/admin/sessions/${handleOf(a)}?user=alice"`);
    expect(res.body).toContain(`href="/cas/admin/sessions/${handleOf(b)}?user=alicia"`);
    expect(res.body).not.toContain('?user=bob');
    expect(res.body).toContain('<label for="f-username">User starts with</label>');
    for (const id of await liveIds()) expect(res.body).not.toContain(id);
    expect(res.body).not.toMatch(/<script/);
  });

  it('answers a bad filter with 400 and the message under its field', async () => {
    const res = await get('/cas/admin/sessions?ip=10.0.0.300&since=yesterday');
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/id="f-ip"[^>]*aria-invalid="true"/);
    expect(res.body).toContain(`<p class="error-text" id="f-ip-error">Must be an IPv4 or IPv6 address or a CIDR range`);
    expect(res.body).toContain(`<p class="error-text" id="f-since-error">Must be a time ago`);
    expect(res.body).toContain('value="10.0.0.300"'); // what was typed stays, to be corrected
    expect((await get('/cas/admin/sessions?group=planet')).statusCode).toBe(400);
    expect((await get('/cas/admin/sessions?after=TGT-x')).statusCode).toBe(400);
  });

  it('groups by user, by IP, and shows users on several IPs, each group linking to its sessions', async () => {
    await login('carol', APP(), '198.51.100.1');
    await login('carol', APP(), '198.51.100.2');
    const byUser = await get('/cas/admin/sessions?group=user&username=car');
    expect(byUser.statusCode).toBe(200);
    expect(byUser.body).toContain('2 matching sessions in 1 group');
    // The group's link names its user exactly (the prefix goes: 'carol' would match 'carola' too).
    expect(byUser.body).toContain('href="/cas/admin/sessions?user=carol">Show the 2 sessions</a>');
    expect(byUser.body).toMatch(/<input type="hidden" name="user" value="carol">\s*<button [^>]*name="scope" value="user" aria-label="End all of carol's sessions">End all…<\/button>/);
    const byIp = await get('/cas/admin/sessions?group=ip&username=car');
    expect(byIp.body).toContain('href="/cas/admin/sessions?username=car&amp;ip=198.51.100.1">Show the session</a>');
    const several = await get('/cas/admin/sessions?group=multipleIps');
    expect(several.body).toMatch(/<td>carol<\/td><td class="num">2<\/td><td class="wrap"><span class="badge mono">198\.51\.100\.1<\/span><span class="badge mono">198\.51\.100\.2<\/span>/);
    const bySvc = await get('/cas/admin/sessions?group=service&username=car');
    expect(bySvc.body).toContain('App <span class="muted">#1</span>');
    expect(bySvc.body).toContain('href="/cas/admin/sessions?username=car&amp;service=1"');
    const list = await get('/cas/admin/sessions?user=carol&device=Firefox%20133%20%2F%20Linux%20%2F%20desktop');
    expect(list.body).toContain('2 sessions match');
    expect(list.body).toContain("End all of carol's sessions…");
  });

  it('pages 50 sessions at a time by an id prefix, each session once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push(await login('pager'));
    const first = await get('/cas/admin/sessions?user=pager');
    expect(first.body).toContain('51 sessions match');
    const next = /href="\/cas\/admin\/sessions\?user=pager&amp;after=(TGT-[A-Za-z0-9]{16})">Next 50 sessions/.exec(first.body)![1];
    const second = await get(`/cas/admin/sessions?user=pager&after=${next}`);
    expect(second.statusCode).toBe(200);
    expect(second.body).not.toContain('Next 50 sessions');
    const shown = (body: string) => [...body.matchAll(/sessions\/([A-Za-z0-9_-]{43})\?user=pager" aria-label="Details/g)].map((m) => m[1]);
    const all = [...new Set([...shown(first.body), ...shown(second.body)])];
    expect(shown(first.body)).toHaveLength(50);
    expect(shown(second.body)).toHaveLength(1);
    expect(all.sort()).toEqual(ids.map(handleOf).sort());
  });

  it('ends one session after a confirmation, through single logout, audited under the token id', async () => {
    const id = await login('dave');
    const ref = `${handleOf(id)}:dave`;
    const confirm = await post('/cas/admin/sessions/end', { one: ref });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.headers['content-security-policy']).toMatch(CSP);
    expect(confirm.body).toContain('<h1>End 1 session?</h1>');
    expect(confirm.body).toContain('name="confirm" value="yes"');
    expect(await live(id)).toBe(true);

    const st = (await t.sql.query(`SELECT ticket_id FROM session_services WHERE session_id = $1`, [id])).rows[0].ticket_id;
    const done = await post('/cas/admin/sessions/end', { one: ref, confirm: 'yes' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`/cas/admin/sessions/${handleOf(id)}?user=dave&done=ended-one`);
    expect(await live(id)).toBe(false);
    await rx.receivedAll([st]);
    // Its outcome is recorded right after the answer (within the end's wait, unless the box is slow).
    await eventually(async () => (await t.sql.query(`SELECT status FROM slo_outbox WHERE session_id = $1`, [id])).rows[0].status, (s) => s === 'SUCCESS');
    expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: '/admin/sessions/end', status: 303 });
    expect((await t.sql.query(`SELECT reason, ended_by FROM session_history WHERE session_id = $1`, [id])).rows).toEqual([{ reason: 'ADMIN', ended_by: 'console-test' }]);

    const page = await get(done.headers.location as string);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('The session was ended. Its single logout requests are below.');
    expect(page.body).toContain('ended by an administrator');
    expect(page.body).toMatch(/<span class="badge ok">delivered<\/span><\/td><td class="num">1<\/td>/);
  });

  it('refuses an end without the form token, or with a wrong one, and changes nothing', async () => {
    const id = await login('erin');
    const ref = `${handleOf(id)}:erin`;
    const none = await t.app.inject({ method: 'POST', url: '/cas/admin/sessions/end', headers: { cookie: c.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `one=${encodeURIComponent(ref)}&confirm=yes` });
    expect(none.statusCode).toBe(403);
    const wrong = await post('/cas/admin/sessions/end', { one: ref, confirm: 'yes' }, 'x'.repeat(c.csrf.length));
    expect(wrong.statusCode).toBe(403);
    expect(wrong.body).toContain('Nothing was changed');
    expect(await live(id)).toBe(true);
  });

  it('ends every session matching a filter after a confirmation showing how many', async () => {
    const a = await login('alice', APP(), '203.0.113.10');
    const b = await login('bob', APP(), '203.0.113.11');
    const other = await login('alice', APP(), '192.0.2.200');
    const confirm = await post('/cas/admin/sessions/end', { scope: 'matching', ip: '203.0.113.0/24' });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<h1>End 2 sessions?</h1>');
    expect(confirm.body).toContain('IP address or range: <span class="mono">203.0.113.0/24</span>');
    expect(confirm.body).toContain('<input type="hidden" name="ip" value="203.0.113.0/24">');
    const done = await post('/cas/admin/sessions/end', { scope: 'matching', ip: '203.0.113.0/24', confirm: 'yes' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/cas/admin/sessions?ip=203.0.113.0%2F24&done=ended');
    expect([await live(a), await live(b), await live(other)]).toEqual([false, false, true]);
    const back = await get(done.headers.location as string);
    expect(back.body).toContain('The sessions were ended.');
    expect(back.body).toContain('No live session matches these filters.');
    // A bad filter posted by hand is not "every session".
    const bad = await post('/cas/admin/sessions/end', { scope: 'matching', ip: 'everyone', confirm: 'yes' });
    expect(bad.statusCode).toBe(303);
    expect(await live(other)).toBe(true);
  });

  it("ends the selected sessions, and all of a user's", async () => {
    const x = await login('bob');
    const y = await login('bob');
    const z = await login('alicia');
    const confirm = await post('/cas/admin/sessions/end', { scope: 'selected', selected: `${handleOf(x)}:bob` });
    expect(confirm.body).toContain('<h1>End 1 session?</h1>');
    const form = new URLSearchParams({ _csrf: c.csrf, scope: 'selected', confirm: 'yes' });
    form.append('selected', `${handleOf(x)}:bob`);
    form.append('selected', `${handleOf(z)}:alicia`);
    form.append('selected', `${handleOf(y)}:alicia`); // not alicia's: found under its own user only
    const done = await t.app.inject({ method: 'POST', url: '/cas/admin/sessions/end', headers: { cookie: c.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    expect(done.statusCode).toBe(303);
    expect([await live(x), await live(y), await live(z)]).toEqual([false, true, false]);

    const user = await post('/cas/admin/sessions/end', { scope: 'user', user: 'bob' });
    const n = Number((await t.sql.query(`SELECT count(*) FROM tickets WHERE type = 'TGT' AND principal = 'bob'`)).rows[0].count);
    expect(user.body).toContain(`<h1>End ${n} sessions?</h1>`);
    const gone = await post('/cas/admin/sessions/end', { scope: 'user', user: 'bob', confirm: 'yes' });
    expect(gone.headers.location).toBe('/cas/admin/sessions?user=bob&done=ended');
    expect((await t.sql.query(`SELECT count(*) FROM tickets WHERE type = 'TGT' AND principal = 'bob'`)).rows[0].count).toBe('0');
    expect((await post('/cas/admin/sessions/end', { scope: 'user', user: 'bob' })).statusCode).toBe(404);
  });

  it("shows a live session's services and tickets by prefix only; an unknown one is a 404 page", async () => {
    const id = await login('alicia', APP(), '10.9.8.7');
    const st = (await t.sql.query(`SELECT id FROM tickets WHERE session_id = $1 AND type = 'ST'`, [id])).rows[0].id as string;
    const res = await get(`/cas/admin/sessions/${handleOf(id)}?user=alicia`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`<h1>alicia's session <span class="badge ok">live</span></h1>`);
    expect(res.body).toContain(`<td class="mono">${st.slice(0, 11)}…</td><td>ST</td>`);
    expect(res.body).toContain(`${id.slice(0, 12)}…`);
    expect(res.body).toContain('<span class="mono ip">10.9.8.7</span>');
    expect(res.body).toContain(`http://127.0.0.1:${rx.port}/app`);
    for (const full of await liveIds()) expect(res.body).not.toContain(full);
    for (const url of [`/cas/admin/sessions/${handleOf(id)}?user=bob`, `/cas/admin/sessions/${handleOf(id)}`, '/cas/admin/sessions/not-a-handle?user=alicia']) {
      const missing = await get(url);
      expect(missing.statusCode).toBe(404);
      expect(missing.body).toContain('<h1>No such session</h1>');
      expect(missing.body).toContain('aria-current="page">Sessions</a>');
    }
  });

  it('shows a failed logout request of an ended session, with "retry now"', async () => {
    const id = await login('erin', DEAD);
    await post('/cas/admin/sessions/end', { one: `${handleOf(id)}:erin`, confirm: 'yes' });
    const row = await eventually(async () => (await t.sql.query(`SELECT id, status, attempts FROM slo_outbox WHERE session_id = $1`, [id])).rows[0], (r) => r.status !== 'SENDING');
    const page = await get(`/cas/admin/sessions/${handleOf(id)}?user=erin`);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(page.body).toContain('<span class="badge warn">pending</span>');
    expect(page.body).toContain('ECONNREFUSED');
    expect(page.body).toContain(`<input type="hidden" name="request" value="${row.id}">`);
    expect(page.body).toContain('Retry now</button>');

    const retried = await post(`/cas/admin/sessions/${handleOf(id)}/retry`, { user: 'erin', request: row.id });
    expect(retried.statusCode).toBe(303);
    expect(retried.headers.location).toBe(`/cas/admin/sessions/${handleOf(id)}?user=erin&done=retried`);
    // The page waits at most 1.5 s (the app's clock) for the attempt; on a loaded box wait for the attempt itself.
    const retriedRow = await eventually(async () => (await t.sql.query(`SELECT status, attempts FROM slo_outbox WHERE id = $1`, [row.id])).rows[0], (r) => r.status !== 'SENDING' && r.attempts >= 2);
    expect(retriedRow.attempts).toBe(2);
    expect(await lastAudit()).toEqual({ actor: 'console-test', action: 'POST', target: `/admin/sessions/${handleOf(id)}/retry`, status: 303 });
    expect((await post(`/cas/admin/sessions/${handleOf(id)}/retry`, { user: 'erin', request: row.id }, 'wrong')).statusCode).toBe(403);
    expect((await post(`/cas/admin/sessions/${handleOf(id)}/retry`, { user: 'bob', request: row.id })).statusCode).toBe(404);

    const history = await get('/cas/admin/sessions/history?user=erin');
    expect(history.statusCode).toBe(200);
    expect(history.body).toContain(`href="/cas/admin/sessions/${handleOf(id)}?user=erin">Details</a>`);
  });
});

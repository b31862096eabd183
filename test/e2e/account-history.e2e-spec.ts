import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { RECENT_OF_USER_SQL } from '../../src/tickets/session-history';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const HOUR = 3600;
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

interface ApiPast {
  createdAt: string;
  endedAt: string;
  reason: string;
  reasonText: string;
  clientIp: string | null;
  userAgent: string | null;
  device: { browser: string | null; os: string | null; type: string | null };
  location: { country: string | null; city: string | null };
  applications: { name: string | null; service: string; lastAccessAt: string }[];
}

/**
 * "Last sign-ins" on `/cas/account/sessions` and `recent` in `/cas/account/api/sessions`: the
 * user's own ended sessions from the session history, over HTTP on the embedded Postgres. The
 * sessions end the real ways (a logout, an administrator's DELETE, the cleaner after the idle
 * timeout on the injected clock), so the rows are the ones the terminator writes.
 */
describe('users see their own last sign-ins (ended sessions) on the account page', () => {
  let t: TestApp;
  let app: Server;
  let service: string;

  beforeAll(async () => {
    app = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const port = (app.address() as AddressInfo).port;
    service = `http://127.0.0.1:${port}/app`;
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false', CAS_ADMIN_TOKENS: TOKEN, CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,bob::bob-password' },
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          serviceId: `^http://127\\.0\\.0\\.1:${port}/app.*`,
          name: 'Local <application>',
          id: 1,
          evaluationOrder: 1,
        },
      ],
    });
    // Only advance() moves time: each session below ends a known time before the page is read.
    t.clock.freeze();
  });

  afterEach(async () => {
    await t.sql.query(`DELETE FROM tickets`);
    await t.sql.query(`DELETE FROM session_history`);
  });

  afterAll(async () => {
    await t.close();
    app.closeAllConnections();
    await new Promise((r) => app.close(r));
  });

  /** A device: a browser whose every request comes from its own address (the TGC is pinned to it). */
  class Device {
    readonly b: Browser;
    tgt = '';
    constructor(
      readonly ip: string,
      userAgent: string,
    ) {
      this.b = new Browser(t.app, { 'user-agent': userAgent });
    }
    get(url: string) {
      return this.b.request({ method: 'GET', url, remoteAddress: this.ip });
    }
  }

  /** A device logged in to the application as `user` from `ip`, with its TGT id (read from the rows, for the assertions only). */
  async function device(user: 'casuser' | 'bob', ip: string, userAgent = 'jest-browser/1.0'): Promise<Device> {
    const d = new Device(ip, userAgent);
    const res = await d.b.loginFrom(ip, user, user === 'casuser' ? 'Mellon' : 'bob-password', service);
    expect(res.statusCode).toBe(302);
    const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)]);
    d.tgt = rows[0].session_id as string;
    return d;
  }

  const history = async (tgt: string) => (await t.sql.query(`SELECT ended_at, reason FROM session_history WHERE session_id = $1`, [tgt])).rows[0];

  async function api(d: Device): Promise<{ principal: string; sessions: unknown[]; recent: ApiPast[] }> {
    const res = await d.get('/cas/account/api/sessions');
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  /** The page's "Last sign-ins" items, each as its title and its facts (label → HTML of the value). */
  function lastSignIns(html: string): { title: string; facts: Record<string, string> }[] {
    const section = /<section class="history"[^>]*>([\s\S]*?)<\/section>/.exec(html);
    if (!section) throw new Error('no "Last sign-ins" section in the page');
    expect(section[1]).toContain('<h2 id="last-sign-ins">Last sign-ins</h2>');
    return [...section[1].matchAll(/<li class="session past">\s*<h3>(.*?)<\/h3>\s*<dl>(.*?)<\/dl>/g)].map(([, title, dl]) => ({
      title,
      facts: Object.fromEntries([...dl.matchAll(/<dt>(.*?)<\/dt><dd>(.*?)<\/dd>/g)].map(([, k, v]) => [k, v])),
    }));
  }

  it('a logout, an administrator\'s DELETE and an idle expiry: listed newest first, each said in plain words, only mine, escaped, no TGT id', async () => {
    // Bob's ended session: never shown to casuser.
    const bob = await device('bob', '198.51.100.99');
    expect((await bob.get('/cas/logout')).statusCode).toBe(200);

    // 1. Left idle: the cleaner ends it once its 2-hour time to kill has passed (EXPIRED_IDLE).
    const idle = await device('casuser', '203.0.113.7');
    // Where it came from, as session-origin records it, with markup where a value is free text.
    await t.sql.query(
      `UPDATE tickets SET device_browser = '<img src=x onerror=alert(1)>', device_os = 'iOS 17.5', device_type = 'mobile',
              location_country = 'FR', location_city = 'Lyon <b>', user_agent = 'Evil <script>' WHERE id = $1`,
      [idle.tgt],
    );
    t.clock.advance(2 * HOUR + 1);
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed.sessions).toBeGreaterThanOrEqual(1);

    // 2. Ended by an administrator, a minute later.
    const admin = await device('casuser', '2001:db8::7');
    t.clock.advance(60);
    expect((await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${admin.tgt}`, headers: BEARER })).statusCode).toBe(200);

    // 3. Logged out by the user, a minute later.
    t.clock.advance(60);
    const laptop = await device('casuser', '192.0.2.10', FIREFOX_UA);
    t.clock.advance(60);
    expect((await laptop.get('/cas/logout')).statusCode).toBe(200);

    expect((await history(idle.tgt)).reason).toBe('EXPIRED_IDLE');
    expect((await history(admin.tgt)).reason).toBe('ADMIN');
    expect((await history(laptop.tgt)).reason).toBe('LOGOUT');

    t.clock.advance(60);
    const viewer = await device('casuser', '192.0.2.20');
    const page = await viewer.get('/cas/account/sessions');
    expect(page.statusCode).toBe(200);
    const items = lastSignIns(page.body);
    expect(items.map((i) => i.facts.Why)).toEqual(['Logged out', 'Ended by an administrator', 'Expired after inactivity']);
    expect(items.map((i) => i.title)).toEqual(['Firefox 133 on Linux', 'Unknown browser', '&lt;img src=x onerror=alert(1)&gt; on iOS 17.5']);
    const [out, ended, expired] = items;
    expect(out.facts['IP address']).toBe('192.0.2.10');
    expect(out.facts.Ended).toContain(`<time datetime="${(await history(laptop.tgt)).ended_at.toISOString()}">`);
    expect(out.facts.Ended).toContain('(1 minute ago)');
    expect(out.facts.Applications).toBe('<ul class="apps"><li>Local &lt;application&gt; <span class="muted">(127.0.0.1:' + new URL(service).port + ')</span></li></ul>');
    expect(ended.facts['IP address']).toBe('2001:<wbr>db8:<wbr>:<wbr>7');
    // An expiry ended at the deadline that passed (2 h after its last use), not when the cleaner came.
    expect(expired.facts.Ended).toContain(`<time datetime="${(await history(idle.tgt)).ended_at.toISOString()}">`);
    expect(expired.facts).toMatchObject({ Device: 'Phone', 'IP address': '203.0.113.7', Location: 'Lyon &lt;b&gt;, France' });
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).not.toContain('Lyon <b>');
    // Bob's session, and nothing that names a session: no TGT or service ticket id of any of them.
    expect(page.body).not.toContain('198.51.100.99');
    for (const id of [bob.tgt, idle.tgt, admin.tgt, laptop.tgt, viewer.tgt]) expect(page.body).not.toContain(id);
    expect(page.body).not.toMatch(/TGT-|ST-/);
    // The administrator's token id is not the user's business.
    expect(page.body).not.toContain('ops');

    // The JSON twin: the same entries, in the same order, the reason as a code and in words.
    const json = await api(viewer);
    expect(json.recent.map((r) => [r.reason, r.reasonText])).toEqual([
      ['LOGOUT', 'Logged out'],
      ['ADMIN', 'Ended by an administrator'],
      ['EXPIRED_IDLE', 'Expired after inactivity'],
    ]);
    expect(json.recent[0]).toEqual({
      createdAt: expect.any(String),
      endedAt: (await history(laptop.tgt)).ended_at.toISOString(),
      reason: 'LOGOUT',
      reasonText: 'Logged out',
      clientIp: '192.0.2.10',
      userAgent: FIREFOX_UA,
      device: { browser: 'Firefox 133', os: 'Linux', type: 'desktop' },
      location: { country: null, city: null },
      applications: [{ name: 'Local <application>', service, lastAccessAt: expect.any(String) }],
    });
    expect(json.recent[2]).toMatchObject({
      userAgent: 'Evil <script>',
      device: { browser: '<img src=x onerror=alert(1)>', os: 'iOS 17.5', type: 'mobile' },
      location: { country: 'FR', city: 'Lyon <b>' },
    });
    const text = JSON.stringify(json);
    for (const id of [bob.tgt, idle.tgt, admin.tgt, laptop.tgt, viewer.tgt]) expect(text).not.toContain(id);
    expect(text).not.toMatch(/TGT-|ST-|198\.51\.100\.99|"ops"/);

    // Bob sees his own one only.
    const bobAgain = await device('bob', '198.51.100.99');
    expect((await api(bobAgain)).recent.map((r) => [r.reason, r.clientIp])).toEqual([['LOGOUT', '198.51.100.99']]);
    expect(lastSignIns((await bobAgain.get('/cas/account/sessions')).body)).toHaveLength(1);
  });

  it('a user with no ended session is told so; the page and the JSON show the 10 latest of many', async () => {
    const first = await device('casuser', '192.0.2.1');
    const empty = await first.get('/cas/account/sessions');
    expect(lastSignIns(empty.body)).toEqual([]);
    expect(empty.body).toContain('None yet: sessions that end (logged out or expired) are listed here.');
    expect((await api(first)).recent).toEqual([]);
    expect((await first.get('/cas/logout')).statusCode).toBe(200);

    // Twelve ended sessions in all, one a minute, from 192.0.2.1 … 192.0.2.12.
    for (let n = 2; n <= 12; n++) {
      t.clock.advance(60);
      const d = await device('casuser', `192.0.2.${n}`);
      expect((await d.get('/cas/logout')).statusCode).toBe(200);
    }
    const viewer = await device('casuser', '192.0.2.100');
    const expected = Array.from({ length: 10 }, (_, i) => `192.0.2.${12 - i}`);
    expect(lastSignIns((await viewer.get('/cas/account/sessions')).body).map((i) => i.facts['IP address'])).toEqual(expected);
    expect((await api(viewer)).recent.map((r) => r.clientIp)).toEqual(expected);
  });

  it('each way a session ends is worded for the user', async () => {
    const viewer = await device('casuser', '192.0.2.1');
    const reasons = ['LOGOUT', 'ADMIN', 'EXPIRED_IDLE', 'EXPIRED_HARD', 'LIMIT', 'DISABLED', 'PASSWORD_CHANGE', 'REPLACED'];
    // As the terminator writes them (one a second, LOGOUT the newest): the wording, not the writing, is under test.
    const now = t.clock.now();
    await t.sql.query(
      `INSERT INTO session_history (session_id, principal, principal_key, created_at, ended_at, reason)
       SELECT 'TGT-gone-' || r.n, 'casuser', 'casuser', $1::timestamptz - interval '1 hour', $1::timestamptz - r.n * interval '1 second', r.reason
         FROM unnest($2::text[]) WITH ORDINALITY AS r(reason, n)`,
      [now, reasons],
    );
    const words = [
      'Logged out',
      'Ended by an administrator',
      'Expired after inactivity',
      'Reached its maximum lifetime',
      'Ended by the session limit (a newer sign-in took its place)',
      'Ended because the account was disabled',
      'Ended because the password was changed',
      'Replaced by a new login in the same browser',
    ];
    const page = (await viewer.get('/cas/account/sessions')).body;
    expect(lastSignIns(page).map((i) => i.facts.Why)).toEqual(words);
    const json = await api(viewer);
    expect(json.recent.map((r) => [r.reason, r.reasonText])).toEqual(reasons.map((r, i) => [r, words[i]]));
    expect(page).not.toContain('TGT-gone');
    expect(JSON.stringify(json)).not.toContain('TGT-gone');
  });

  it("reads a user's latest rows on the (principal_key, ended_at, id) index, backwards, without a sort", async () => {
    await t.sql.query(
      `INSERT INTO session_history (session_id, principal, principal_key, created_at, ended_at, reason)
       SELECT 'TGT-seed-' || g, 'user' || (g % 100), 'user' || (g % 100), now() - interval '1 day', now() - g * interval '1 second', 'LOGOUT'
         FROM generate_series(1, 5000) g`,
    );
    await t.sql.query('ANALYZE session_history');
    const plan = JSON.stringify((await t.sql.query(`EXPLAIN (FORMAT JSON) ${RECENT_OF_USER_SQL}`, ['user7', 10])).rows);
    expect(plan).toContain('ix_session_history_user');
    expect(plan).toContain('Backward');
    expect(plan).not.toContain('"Node Type":"Sort"');
  });
});

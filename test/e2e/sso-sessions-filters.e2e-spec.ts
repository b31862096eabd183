import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const APP = 'https://app.example.org/'; // registered service 1
const OTHER = 'https://other.example.org/x'; // registered service 2
const USERS = ['casuser', 'alice', 'alicia', 'bob', 'pager'];

interface Origin {
  ip?: string;
  device?: [string, string, string];
  factors?: Record<string, string>;
}

/**
 * GET /actuator/ssoSessions with filters, /summary and /multipleIps over sessions made by real
 * logins at moved clock times. The origin columns (client IP, device) are written by the login of
 * issue 14's "where a session comes from"; here they are set on the rows after each login.
 */
describe('/actuator/ssoSessions filters, summary, multipleIps', () => {
  let t: TestApp;
  const T0 = Date.parse('2026-12-03T08:00:00Z');
  const ids: Record<string, string> = {};

  const admin = (url: string, headers: Record<string, string> = BEARER) => t.app.inject({ method: 'GET', url: `/cas/actuator/${url}`, headers });
  const listed = async (query: string): Promise<string[]> => {
    const res = await admin(`ssoSessions?${query}`);
    expect(res.statusCode).toBe(200);
    return res.json().activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket);
  };
  /** The named sessions, in the listing's (id) order. */
  const named = (...names: string[]) => names.map((n) => ids[n]).sort();

  async function login(name: string, user: string, o: Origin & { service?: string; rememberMe?: boolean } = {}) {
    const b = new Browser(t.app);
    const res = await b.login(user, 'Secret1', o.service, o.rememberMe ? { rememberMe: 'true' } : {});
    let tgt: string;
    if (o.service) {
      tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)])).rows[0].session_id;
    } else {
      expect(res.statusCode).toBe(200);
      tgt = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = $1 ORDER BY created_at DESC LIMIT 1`, [user])).rows[0].id;
    }
    await t.sql.query(
      `UPDATE tickets SET client_ip = $2, device_browser = $3, device_os = $4, device_type = $5, authentication_factors = $6 WHERE id = $1`,
      [tgt, o.ip ?? null, o.device?.[0] ?? null, o.device?.[1] ?? null, o.device?.[2] ?? null, o.factors ? JSON.stringify(o.factors) : null],
    );
    ids[name] = tgt;
    return b;
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        CAS_ADMIN_TOKENS: TOKEN,
        AUTHN_THROTTLE_ENABLED: 'false',
        CAS_TICKET_TGT_REMEMBER_ME_ENABLED: 'true',
        CAS_AUTHN_ACCEPT_USERS: USERS.map((u) => `${u}::Secret1`).join(','),
      },
    });
    t.clock.freeze();
    t.clock.advance((T0 - t.clock.now().getTime()) / 1000);
    const firefox: Origin['device'] = ['Firefox 133', 'Linux', 'desktop'];
    const phone: Origin['device'] = ['Safari 18', 'iOS 18', 'mobile'];
    // T0
    const s1 = await login('s1', 'alice', { service: APP, ip: '10.0.0.5', device: firefox });
    t.clock.advance(1800); // T0 + 30 min
    await login('s2', 'alicia', { service: OTHER, ip: '10.0.1.7', device: phone, rememberMe: true });
    t.clock.advance(1800); // T0 + 60 min
    await login('s3', 'bob', { ip: '2001:db8::1', device: firefox, factors: { 'mfa-gauth': new Date(t.clock.now()).toISOString() } });
    t.clock.advance(60);
    await login('s4', 'alice', { service: APP, ip: '192.168.1.9', device: phone });
    t.clock.advance(60);
    await login('s5', 'casuser'); // no origin: a session older than the columns
    // s1 reaches OTHER too, now: its last use is T0 + 62 min, s2's stays T0 + 30 min.
    expect((await s1.get(`/cas/login?service=${encodeURIComponent(OTHER)}`)).statusCode).toBe(302);
  });
  afterAll(() => t.close());

  const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

  it('no filter still lists every session (the plain path)', async () => {
    expect(await listed('')).toEqual(named('s1', 's2', 's3', 's4', 's5'));
  });

  it('ip: an address, an IPv4 range, an IPv6 range; sessions without an address match none', async () => {
    expect(await listed('ip=10.0.0.5')).toEqual(named('s1'));
    expect(await listed(`ip=${encodeURIComponent('10.0.0.0/16')}`)).toEqual(named('s1', 's2'));
    expect(await listed(`ip=${encodeURIComponent('10.0.0.0/8')}`)).toEqual(named('s1', 's2'));
    expect(await listed(`ip=${encodeURIComponent('2001:db8::/32')}`)).toEqual(named('s3'));
    expect(await listed(`ip=${encodeURIComponent('0.0.0.0/0')}`)).toEqual(named('s1', 's2', 's4'));
    expect(await listed('ip=10.9.9.9')).toEqual([]);
  });

  it('since / until on creation, as ISO times or a time ago', async () => {
    expect(await listed(`since=${at(30)}`)).toEqual(named('s2', 's3', 's4', 's5'));
    expect(await listed(`until=${at(30)}`)).toEqual(named('s1'));
    expect(await listed(`since=${at(30)}&until=${at(61)}`)).toEqual(named('s2', 's3'));
    // now is T0 + 62 min: 45m ago is T0 + 17 min
    expect(await listed('since=45m')).toEqual(named('s2', 's3', 's4', 's5'));
    expect(await listed('since=1d')).toEqual(named('s1', 's2', 's3', 's4', 's5'));
  });

  it('idleSince: not used since then (last used at or before)', async () => {
    expect(await listed(`idleSince=${at(45)}`)).toEqual(named('s2'));
    expect(await listed('idleSince=30m')).toEqual(named('s2'));
    expect(await listed(`idleSince=${at(-10)}`)).toEqual([]);
  });

  it('service: by registered service id or URL prefix, after the service tickets were used up', async () => {
    // The STs are gone (validated or not, the session_services records stay): the filter reads the records.
    await t.sql.query(`DELETE FROM tickets WHERE type = 'ST'`);
    expect(await listed('service=1')).toEqual(named('s1', 's4'));
    expect(await listed('service=2')).toEqual(named('s1', 's2'));
    expect(await listed(`service=${encodeURIComponent('https://other.example.org/')}`)).toEqual(named('s1', 's2'));
    expect(await listed(`service=${encodeURIComponent('https://app.example.org')}`)).toEqual(named('s1', 's4'));
    expect(await listed(`service=${encodeURIComponent('https://')}`)).toEqual(named('s1', 's2', 's4'));
    expect(await listed('service=99')).toEqual([]);
  });

  it('rememberMe and mfa (any provider, a named one, none)', async () => {
    expect(await listed('rememberMe=true')).toEqual(named('s2'));
    expect(await listed('rememberMe=false')).toEqual(named('s1', 's3', 's4', 's5'));
    expect(await listed('mfa=true')).toEqual(named('s3'));
    expect(await listed('mfa=mfa-gauth')).toEqual(named('s3'));
    expect(await listed('mfa=mfa-webauthn')).toEqual([]);
    expect(await listed('mfa=false')).toEqual(named('s1', 's2', 's4', 's5'));
  });

  it('username: a case-insensitive prefix, combined with the other filters (AND)', async () => {
    expect(await listed('username=ALI')).toEqual(named('s1', 's2', 's4'));
    expect(await listed('username=Alice')).toEqual(named('s1', 's4'));
    expect(await listed('username=alicia')).toEqual(named('s2'));
    expect(await listed('username=z')).toEqual([]);
    expect(await listed(`username=ali&ip=${encodeURIComponent('10.0.0.0/8')}`)).toEqual(named('s1', 's2'));
    expect(await listed(`username=ali&ip=${encodeURIComponent('10.0.0.0/8')}&service=2&rememberMe=false`)).toEqual(named('s1'));
    expect(await listed(`username=alice&since=${at(30)}&service=1`)).toEqual(named('s4'));
    expect(await listed('type=DIRECT&mfa=false&idleSince=30m')).toEqual(named('s2'));
    expect(await listed('type=PROXIED&username=ali')).toEqual([]);
    // The user path takes the filters too, its user exact.
    const res = await admin(`ssoSessions/users/ALICE?ip=${encodeURIComponent('192.168.0.0/16')}`);
    expect(res.json().activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket)).toEqual(named('s4'));
  });

  it('finds a session by the address and device its login recorded (no row written by the test)', async () => {
    const res = await new Browser(t.app, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' }).loginFrom(
      '198.51.100.7', 'bob', 'Secret1', APP,
    );
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)])).rows[0].session_id;
    expect(await listed(`ip=${encodeURIComponent('198.51.100.0/24')}`)).toEqual([tgt]);
    const devices = (await admin(`ssoSessions/summary?groupBy=device&ip=198.51.100.7`)).json();
    expect(devices).toMatchObject({ totalSsoSessions: 1, groups: [{ key: expect.stringMatching(/^Firefox 133 \/ Linux \/ desktop$/), sessions: 1 }] });
    await t.sql.query(`DELETE FROM tickets WHERE session_id = $1`, [tgt]);
    await t.sql.query(`DELETE FROM session_services WHERE session_id = $1`, [tgt]);
  });

  it('a value that would break SQL is a value: no match, no error', async () => {
    for (const q of [`username=${encodeURIComponent("a' OR '1'='1")}`, `username=${encodeURIComponent('%')}`, `username=${encodeURIComponent('_')}`]) {
      expect(await listed(q)).toEqual([]);
    }
    expect(await listed(`service=${encodeURIComponent("https://x'OR'1'='1")}`)).toEqual([]);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n).toBe(5);
  });

  it('refuses a bad value with 400 naming the parameter, never a 500', async () => {
    const cases: [string, string][] = [
      ['ip=10.0.0.0/33', "'ip'"],
      ['ip=10.0.0', "'ip'"],
      ['ip=example.org', "'ip'"],
      [`ip=${encodeURIComponent('2001:db8::/129')}`, "'ip'"],
      ['ip=10.0.0.1&ip=10.0.0.2', "'ip' must be given once"],
      ['since=yesterday', "'since'"],
      ['since=2026-02-30', "'since'"],
      ['until=-2h', "'until'"],
      ['idleSince=2h30', "'idleSince'"],
      ['service=app', "'service'"],
      ['rememberMe=yes', "'rememberMe'"],
      [`mfa=${encodeURIComponent('<script>')}`, "'mfa'"],
      [`username=${'a'.repeat(257)}`, "'username'"],
    ];
    for (const [q, message] of cases) {
      const res = await admin(`ssoSessions?${q}`);
      expect([q, res.statusCode]).toEqual([q, 400]);
      expect(res.json()).toEqual({ status: 400, message: expect.stringContaining(message) });
    }
    for (const [url, message] of [
      ['ssoSessions/summary', "'groupBy'"],
      ['ssoSessions/summary?groupBy=country', "'groupBy' must be one of user, ip, net24, service, device"],
      ['ssoSessions/summary?groupBy=user&limit=0', "'limit'"],
      ['ssoSessions/summary?groupBy=user&since=soon', "'since'"],
      ['ssoSessions/multipleIps?limit=x', "'limit'"],
      ['ssoSessions/multipleIps?ip=300.1.1.1', "'ip'"],
    ]) {
      const res = await admin(url);
      expect([url, res.statusCode]).toEqual([url, 400]);
      expect(res.json().message).toContain(message);
    }
  });

  it('pages across filtered pages by cursor without duplicates or gaps', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 13; i++) {
      t.clock.advance(1); // each its own creation time: the helper finds a session without a service by it
      await login(`p${i}`, 'pager', { ip: i % 2 ? '172.16.0.1' : '172.17.0.1' });
      mine.push(ids[`p${i}`]);
    }
    const wanted = mine.filter((_, i) => i % 2).sort(); // 6 sessions from 172.16.0.1
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await admin(`ssoSessions?username=pag&ip=${encodeURIComponent('172.16.0.0/16')}&count=4${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json();
      seen.push(...body.activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket));
      cursor = body.next;
      pages++;
    } while (cursor);
    expect(seen).toEqual(wanted);
    expect(pages).toBe(2);
    await t.sql.query(`DELETE FROM tickets WHERE principal = 'pager'`);
  });

  it('summary: counts per user, ip, net24, service, device, top N, with the filters', async () => {
    const summary = async (q: string) => {
      const res = await admin(`ssoSessions/summary?${q}`);
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    const byUser = await summary('groupBy=user');
    expect(byUser).toMatchObject({ groupBy: 'user', totalSsoSessions: 5, totalGroups: 4 });
    expect(byUser.groups).toEqual([
      { key: 'alice', username: 'alice', sessions: 2 },
      { key: 'alicia', username: 'alicia', sessions: 1 },
      { key: 'bob', username: 'bob', sessions: 1 },
      { key: 'casuser', username: 'casuser', sessions: 1 },
    ]);
    expect((await summary('groupBy=user&limit=1')).groups).toEqual([{ key: 'alice', username: 'alice', sessions: 2 }]);
    expect((await summary('groupBy=user&limit=1')).totalGroups).toBe(4);
    expect((await summary('groupBy=ip')).groups).toEqual([
      { key: '10.0.0.5', sessions: 1 },
      { key: '10.0.1.7', sessions: 1 },
      { key: '192.168.1.9', sessions: 1 },
      { key: '2001:db8::1', sessions: 1 },
    ]);
    expect((await summary('groupBy=net24')).groups).toEqual([
      { key: '10.0.0.0/24', sessions: 1 },
      { key: '10.0.1.0/24', sessions: 1 },
      { key: '192.168.1.0/24', sessions: 1 },
      { key: '2001:db8::/64', sessions: 1 },
    ]);
    expect((await summary('groupBy=service')).groups).toEqual([
      { key: '1', name: 'App', sessions: 2 },
      { key: '2', name: 'Other', sessions: 2 },
    ]);
    expect((await summary('groupBy=device')).groups).toEqual([
      { key: 'Firefox 133 / Linux / desktop', sessions: 2 },
      { key: 'Safari 18 / iOS 18 / mobile', sessions: 2 },
      { key: '? / ? / ?', sessions: 1 },
    ]);
    const filtered = await summary(`groupBy=user&ip=${encodeURIComponent('10.0.0.0/8')}`);
    expect(filtered).toMatchObject({ totalSsoSessions: 2, totalGroups: 2 });
    expect(filtered.groups.map((g: { key: string }) => g.key)).toEqual(['alice', 'alicia']);
  });

  it('multipleIps: users with live sessions from more than one address', async () => {
    const res = await admin('ssoSessions/multipleIps');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ totalUsers: 1, users: [{ username: 'alice', sessions: 2, addresses: ['10.0.0.5', '192.168.1.9'] }] });
    await login('s6', 'bob', { ip: '2001:db8::2' });
    const two = (await admin('ssoSessions/multipleIps')).json();
    expect(two.users.map((u: { username: string }) => u.username)).toEqual(['alice', 'bob']);
    expect((await admin('ssoSessions/multipleIps?limit=1')).json()).toMatchObject({ totalUsers: 2, users: [{ username: 'alice' }] });
    // Filtered: only the sessions from 10.0.0.0/8 count, and alice has one address there.
    expect((await admin(`ssoSessions/multipleIps?ip=${encodeURIComponent('10.0.0.0/8')}`)).json()).toMatchObject({ totalUsers: 0, users: [] });
    await t.sql.query(`DELETE FROM tickets WHERE id = $1`, [ids.s6]);
  });

  it('summary and multipleIps are admin endpoints: bearer required, and audited', async () => {
    for (const url of ['ssoSessions/summary?groupBy=user', 'ssoSessions/multipleIps', `ssoSessions?ip=10.0.0.5`]) {
      expect((await admin(url, {})).statusCode).toBe(401);
      expect((await admin(url, { authorization: 'Bearer wrong' })).statusCode).toBe(401);
    }
    const { rows } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE target LIKE '%multipleIps%' ORDER BY at`);
    expect(rows).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'ops', action: 'GET', status: 200 }), expect.objectContaining({ status: 401 })]));
  });

  it('summary and multipleIps are in the API document, in the admin section', async () => {
    const doc = (await admin('openapi.json')).json();
    for (const path of ['/cas/actuator/ssoSessions/summary', '/cas/actuator/ssoSessions/multipleIps']) {
      expect([path, doc.paths[path]?.get]).toEqual([path, expect.objectContaining({ tags: ['admin'], security: [{ bearer: [] }] })]);
    }
  });

  it('summary by service: a session counts for its services until it ends, by an admin, by a DBA\'s DELETE or by expiry (the cleaner not run)', async () => {
    const byService = async () => {
      const res = (await admin('ssoSessions/summary?groupBy=service')).json();
      return [res.totalSsoSessions, res.groups.map((g: { key: string; sessions: number }) => [g.key, g.sessions])];
    };
    // s1 reached APP and OTHER, s2 OTHER, s4 APP; s3 and s5 no service.
    expect(await byService()).toEqual([5, [['1', 2], ['2', 2]]]);
    const ended = await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${ids.s4}`, headers: BEARER });
    expect(ended.statusCode).toBe(200);
    expect(await byService()).toEqual([4, [['2', 2], ['1', 1]]]);
    // A DBA's DELETE leaves the session's service records behind: they name no live session any more.
    await t.sql.query(`DELETE FROM tickets WHERE id = $1`, [ids.s2]);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM session_services WHERE session_id = $1`, [ids.s2])).rows[0].n).toBeGreaterThan(0);
    expect(await byService()).toEqual([3, [['1', 1], ['2', 1]]]);
    await t.sql.query(`UPDATE tickets SET expires_at = $2 WHERE id = $1`, [ids.s1, new Date(t.clock.now().getTime() - 1000)]);
    expect(await byService()).toEqual([2, []]);
  });

  it('expired sessions are never found, whatever the filter', async () => {
    t.clock.advance(15 * 86400); // past every hard limit, the remember-me session's (14 days) too
    expect(await listed('ip=0.0.0.0/0')).toEqual([]);
    expect((await admin('ssoSessions/summary?groupBy=user')).json()).toMatchObject({ totalSsoSessions: 0, groups: [] });
    expect((await admin('ssoSessions/multipleIps')).json()).toMatchObject({ totalUsers: 0, users: [] });
  });
});

/** The README tour's two curl lines, from loopback without a token (no CAS_ADMIN_TOKENS), as written there. */
describe('the seed tour curl lines', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,casuser2::Mellon' } });
  });
  afterAll(() => t.close());

  it('GET ?username=casuser lists casuser\'s session; DELETE ?username=casuser ends casuser\'s sessions only', async () => {
    await new Browser(t.app).login('casuser', 'Mellon', APP);
    await new Browser(t.app).login('casuser2', 'Mellon', APP);
    const tgt = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = 'casuser'`)).rows[0].id;
    const get = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?username=casuser' });
    expect(get.statusCode).toBe(200);
    const listed = get.json().activeSsoSessions;
    expect(listed.find((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket === tgt)).toMatchObject({ authenticated_principal: 'casuser' });
    const del = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions?username=casuser' });
    expect(del.statusCode).toBe(200);
    expect(Object.keys(del.json())).toEqual([tgt]);
    const { rows } = await t.sql.query(`SELECT principal FROM tickets WHERE type = 'TGT'`);
    expect(rows).toEqual([{ principal: 'casuser2' }]);
  });
});

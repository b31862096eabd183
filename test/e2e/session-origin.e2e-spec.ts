import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'light-my-request';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { buildMmdb, cityRecord } from '../helpers/mmdb-writer';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const PROXY = '10.9.9.9';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

/**
 * Issue 14, "Where a session comes from": every SSO session records the client address (after
 * TRUSTED_PROXIES), the User-Agent, the device parsed from it, and with GEOIP_DATABASE its country
 * and city; every service ticket the address it was granted to. Shown in ssoSessions and the DBA
 * views. The GeoIP database is a MaxMind DB file the test writes itself (test/helpers/mmdb-writer.ts).
 */
describe('where a session comes from', () => {
  let dir: string;
  let t: TestApp;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cas-geoip-'));
    const database = join(dir, 'test-city.mmdb');
    writeFileSync(
      database,
      buildMmdb([
        { network: '81.2.69.0/24', data: cityRecord('GB', 'London') },
        { network: '2a02:2770::/32', data: cityRecord('FR', 'Paris') },
        { network: '203.0.113.0/24', data: cityRecord('DE') },
      ]),
    );
    t = await startTestApp({
      env: {
        CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false', TRUSTED_PROXIES: PROXY, GEOIP_DATABASE: database,
        // A user whose address changes (a phone between networks) keeps the session: no TGC pinning here.
        CAS_TGC_PIN_TO_SESSION: 'false',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The login form, then its POST, both from `ip` with `headers`; the response of the POST. */
  async function loginFrom(b: Browser, ip: string, opts: { service?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const query = opts.service ? `?service=${encodeURIComponent(opts.service)}` : '';
    const form = await b.request({ method: 'GET', url: `/cas/login${query}`, remoteAddress: ip, headers: opts.headers });
    return b.request({
      method: 'POST',
      url: '/cas/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
      payload: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' }).toString(),
    });
  }
  const ticketRow = async (id: string) => (await t.sql.query(`SELECT *, host(client_ip) AS ip FROM tickets WHERE id = $1`, [id])).rows[0];
  const sessionOf = async (st: string) => (await ticketRow(st)).session_id as string;
  const ssoEntry = async (tgt: string) => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions?username=casuser&count=1000', headers: BEARER });
    expect(res.statusCode).toBe(200);
    return res.json().activeSsoSessions.find((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket === tgt);
  };

  it('a login stores its address, User-Agent, device and location on the session; ssoSessions and sso_sessions show them', async () => {
    const b = new Browser(t.app, { 'user-agent': CHROME_WINDOWS });
    const st = ticketOf(await loginFrom(b, '81.2.69.142', { service: APP }));
    const tgt = await sessionOf(st);
    expect(await ticketRow(tgt)).toMatchObject({
      ip: '81.2.69.142', user_agent: CHROME_WINDOWS, device_browser: 'Chrome 131', device_os: 'Windows 10', device_type: 'desktop',
      location_country: 'GB', location_city: 'London',
    });
    const entry = await ssoEntry(tgt);
    expect(entry).toMatchObject({
      client_ip: '81.2.69.142',
      user_agent: CHROME_WINDOWS,
      device: { browser: 'Chrome 131', os: 'Windows 10', type: 'desktop' },
      location: { country: 'GB', city: 'London' },
    });
    // CAS 7's keys first, unchanged; ours after them.
    expect(Object.keys(entry).slice(-4)).toEqual(['client_ip', 'user_agent', 'device', 'location']);
    const { rows } = await t.sql.query(`SELECT host(client_ip) AS ip, device_type, location_city FROM sso_sessions WHERE tgt_id = $1`, [tgt]);
    expect(rows).toEqual([{ ip: '81.2.69.142', device_type: 'desktop', location_city: 'London' }]);
  });

  it('every service ticket records the address it was granted to: the login\'s, then an SSO re-entry from another network', async () => {
    const b = new Browser(t.app, { 'user-agent': SAFARI_IPHONE });
    const first = ticketOf(await loginFrom(b, '81.2.69.7', { service: APP }));
    const tgt = await sessionOf(first);
    const second = ticketOf(await b.request({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(OTHER)}`, remoteAddress: '2a02:2770::5' }));
    expect((await ticketRow(first)).ip).toBe('81.2.69.7');
    expect((await ticketRow(second)).ip).toBe('2a02:2770::5');
    // The session stays where it was created; its grants are kept after their tickets are validated.
    expect(await ticketRow(tgt)).toMatchObject({ ip: '81.2.69.7', device_type: 'mobile', device_os: 'iOS 17.5', device_browser: 'Safari 17' });
    const grants = await t.sql.query(`SELECT ticket_id, host(client_ip) AS ip FROM sso_session_services WHERE tgt_id = $1 ORDER BY issued_at`, [tgt]);
    expect(grants.rows).toEqual([{ ticket_id: first, ip: '81.2.69.7' }, { ticket_id: second, ip: '2a02:2770::5' }]);
    const entry = await ssoEntry(tgt);
    expect(entry.authenticated_services[first]).toMatchObject({ id: APP, client_ip: '81.2.69.7' });
    expect(entry.authenticated_services[second]).toMatchObject({ id: OTHER, client_ip: '2a02:2770::5' });
  });

  it('behind a trusted proxy the X-Forwarded-For client is recorded; an untrusted peer\'s X-Forwarded-For is ignored; garbage is no address', async () => {
    const viaProxy = ticketOf(await loginFrom(new Browser(t.app), PROXY, { service: APP, headers: { 'x-forwarded-for': '203.0.113.9' } }));
    expect(await ticketRow(await sessionOf(viaProxy))).toMatchObject({ ip: '203.0.113.9', location_country: 'DE', location_city: null });
    expect((await ticketRow(viaProxy)).ip).toBe('203.0.113.9');

    const spoofed = ticketOf(await loginFrom(new Browser(t.app), '192.0.2.44', { service: APP, headers: { 'x-forwarded-for': '203.0.113.9' } }));
    expect(await ticketRow(await sessionOf(spoofed))).toMatchObject({ ip: '192.0.2.44', location_country: null });

    const garbage = await loginFrom(new Browser(t.app), PROXY, { service: APP, headers: { 'x-forwarded-for': 'unknown' } });
    expect(garbage.statusCode).toBe(302);
    const tgt = await sessionOf(ticketOf(garbage));
    expect(await ticketRow(tgt)).toMatchObject({ client_ip: null, location_country: null });
    expect((await ssoEntry(tgt))).toMatchObject({ client_ip: null, location: null });
  });

  it('IPv6: the address as Postgres prints it, located, found by a CIDR search; an IPv4-mapped address is stored as IPv4', async () => {
    const v6 = ticketOf(await loginFrom(new Browser(t.app, { 'user-agent': FIREFOX_LINUX }), '2A02:2770:0::21A:4AFF:FE12:3456', { service: APP }));
    const tgt = await sessionOf(v6);
    expect(await ticketRow(tgt)).toMatchObject({ ip: '2a02:2770::21a:4aff:fe12:3456', location_country: 'FR', location_city: 'Paris', device_os: 'Linux' });
    expect(await ssoEntry(tgt)).toMatchObject({ client_ip: '2a02:2770::21a:4aff:fe12:3456', location: { country: 'FR', city: 'Paris' } });
    const found = await t.sql.query(`SELECT tgt_id FROM sso_sessions WHERE client_ip <<= '2a02:2770::/32'`);
    expect(found.rows.map((r) => r.tgt_id)).toContain(tgt);

    const mapped = ticketOf(await loginFrom(new Browser(t.app), '::ffff:81.2.69.200', { service: APP }));
    expect(await ticketRow(await sessionOf(mapped))).toMatchObject({ ip: '81.2.69.200', location_city: 'London' });
    expect((await ticketRow(mapped)).ip).toBe('81.2.69.200');
  });

  it('a huge or odd User-Agent is cut to 512 characters and cleaned, never a 500; an empty one is none', async () => {
    const huge = `Mozilla/5.0 (Windows NT 10.0) ${'A'.repeat(100_000)}`;
    const long = await loginFrom(new Browser(t.app, { 'user-agent': huge }), '192.0.2.50', { service: APP });
    expect(long.statusCode).toBe(302);
    const row = await ticketRow(await sessionOf(ticketOf(long)));
    expect(row.user_agent).toBe(huge.slice(0, 512));
    expect(row.device_os).toBe('Windows 10');

    const odd = await loginFrom(new Browser(t.app, { 'user-agent': 'Evil\u0000Agent\u001b[31m\u00e9\u00ff' }), '192.0.2.51', { service: APP });
    expect(odd.statusCode).toBe(302);
    expect(await ticketRow(await sessionOf(ticketOf(odd)))).toMatchObject({ user_agent: 'EvilAgent[31m\u00e9\u00ff', device_browser: null, device_type: null });

    const none = await loginFrom(new Browser(t.app, { 'user-agent': '' }), '192.0.2.52', { service: APP });
    const tgt = await sessionOf(ticketOf(none));
    expect(await ticketRow(tgt)).toMatchObject({ user_agent: null, device_browser: null, device_os: null, device_type: null });
    expect(await ssoEntry(tgt)).toMatchObject({ user_agent: null, device: { browser: null, os: null, type: null } });
  });

  it('the DBA handbook\'s queries (docs/dba.md "Where sessions come from") answer what they say', async () => {
    const handbook = readFileSync(join(__dirname, '..', '..', 'docs', 'dba.md'), 'utf8');
    const section = handbook.slice(handbook.indexOf('## Where sessions come from'));
    const [fromNetwork, perCountry, elsewhere] = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
    const b = new Browser(t.app, { 'user-agent': SAFARI_IPHONE });
    const tgt = await sessionOf(ticketOf(await loginFrom(b, '81.2.69.99', { service: APP })));
    // The same session reaches another service from another network.
    ticketOf(await b.request({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(OTHER)}`, remoteAddress: '2a02:2770::77' }));
    expect((await t.sql.query(fromNetwork)).rows).toEqual(
      expect.arrayContaining([expect.objectContaining({ tgt_id: tgt, client_ip: '81.2.69.99', device_browser: 'Safari 17', device_os: 'iOS 17.5', location_country: 'GB' })]),
    );
    expect((await t.sql.query(perCountry)).rows).toEqual(expect.arrayContaining([expect.objectContaining({ location_country: 'GB', device_type: 'mobile' })]));
    expect((await t.sql.query(elsewhere)).rows.filter((r) => r.tgt_id === tgt)).toEqual([
      { tgt_id: tgt, service_name: 'Other', issued_at: expect.any(Date), granted_to: '2a02:2770::77', logged_in_from: '81.2.69.99' },
    ]);
  });

  it('an address the GeoIP database does not know (private range) has no location', async () => {
    const st = ticketOf(await loginFrom(new Browser(t.app), '10.20.30.40', { service: APP }));
    const tgt = await sessionOf(st);
    expect(await ticketRow(tgt)).toMatchObject({ ip: '10.20.30.40', location_country: null, location_city: null });
    expect((await ssoEntry(tgt)).location).toBeNull();
  });
});

describe('where a session comes from, without GEOIP_DATABASE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  it('the address, User-Agent and device are recorded; location is null', async () => {
    const b = new Browser(t.app, { 'user-agent': CHROME_WINDOWS });
    const form = await b.request({ method: 'GET', url: '/cas/login', remoteAddress: '81.2.69.142' });
    const res = await b.request({
      method: 'POST', url: '/cas/login', remoteAddress: '81.2.69.142', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution: executionOf(form.body) }).toString(),
    });
    expect(res.statusCode).toBe(200);
    const list = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions', headers: BEARER });
    const [entry] = list.json().activeSsoSessions;
    expect(entry).toMatchObject({ client_ip: '81.2.69.142', user_agent: CHROME_WINDOWS, device: { browser: 'Chrome 131', os: 'Windows 10', type: 'desktop' }, location: null });
    const { rows } = await t.sql.query(`SELECT location_country, location_city FROM tickets WHERE type = 'TGT'`);
    expect(rows).toEqual([{ location_country: null, location_city: null }]);
  });
});

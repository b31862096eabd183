import { createServer, IncomingHttpHeaders, request, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { loadCasConfig } from '../../src/config/cas-config';
import { ProxyCallback } from '../../src/tickets/validation/proxy-callback';
import { Browser, ticketOf } from '../helpers/browser';
import { createAuthority } from '../helpers/certificates';
import { freePort } from '../helpers/server-process';
import { startTestApp, TestApp } from '../helpers/test-app';
import { eventually } from '../helpers/eventually';

/**
 * The admin API with no CAS_ADMIN_TOKENS trusts loopback clients; over real HTTP (req.ip really is
 * 127.0.0.1): what a program on the machine sends passes, what a browser on it can be made to
 * send, a same-host reverse proxy relays, or this server sends itself, does not.
 */
describe('/actuator loopback trust (no CAS_ADMIN_TOKENS)', () => {
  let t: TestApp;
  let port: number;
  let relay: Server;
  let relayPort: number;
  /** Headers of every request the relay forwarded to the admin API. */
  const relayed: IncomingHttpHeaders[] = [];
  let stdout: jest.SpyInstance;

  beforeAll(async () => {
    port = await freePort();
    // An application on this machine that forwards what it receives to the admin API as it came
    // (a same-host proxy, or any app a logout URL can point at): the URL check cannot see it.
    relay = createServer((req, res) => {
      relayed.push(req.headers);
      const up = request({ host: '127.0.0.1', port, path: '/cas/actuator/registeredServices', method: req.method, headers: { ...req.headers, host: `localhost:${port}` } }, (r) => {
        res.writeHead(r.statusCode ?? 502);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    relayPort = (relay.address() as AddressInfo).port;
    const svc = (id: number, serviceId: string, extra: Record<string, unknown> = {}) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService', id, name: `svc${id}`, evaluationOrder: id, serviceId, ...extra,
    });
    stdout = jest.spyOn(process.stdout, 'write');
    t = await startTestApp({
      env: {
        CAS_SERVER_PREFIX: `http://cas.example.test:${port}/cas`,
        CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,bob::bob-password',
        CAS_SLO_DISABLED: 'false',
        AUTHN_THROTTLE_ENABLED: 'false',
        LOG_LEVEL: 'warn',
      },
      services: [
        svc(1, `^http://127\\.0\\.0\\.1:${port}/app.*`, { logoutUrl: `http://127.0.0.1:${port}/cas/actuator/registeredServices` }),
        svc(2, `^http://localhost:${port}/app.*`, { logoutUrl: `http://localhost:${port}/cas/%61ctuator/registeredServices` }),
        svc(3, `^http://127\\.0\\.0\\.1:${relayPort}/relay.*`),
      ],
    });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    stdout.mockRestore();
    await t.close();
    await new Promise((r) => relay.close(r));
  });

  /** One request over real HTTP from loopback, Host and all headers as given (curl sends Host). */
  function send(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends one request; its status and the audit rows it added. */
  async function audited(headers: Record<string, string>, path = '/cas/actuator/ssoSessions') {
    const { rows: top } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);
    const res = await send(path, headers);
    const { rows } = await t.sql.query(`SELECT actor, client_ip, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [top[0].id]);
    return { status: res.status, body: res.body, rows };
  }

  it('answers a plain request from the machine (curl), by any loopback name or the prefix host', async () => {
    for (const host of [`127.0.0.1:${port}`, 'localhost:8080', 'LOCALHOST', `[::1]:${port}`, `cas.example.test:${port}`]) {
      const res = await audited({ host });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
      expect(res.rows).toEqual([{ actor: 'loopback', client_ip: '127.0.0.1', action: 'GET', target: '/actuator/ssoSessions', status: 200 }]);
    }
    // What a browser sends when the address is typed, or from the prefix's own pages, passes too.
    expect((await audited({ 'sec-fetch-site': 'none' })).status).toBe(200);
    expect((await audited({ 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' })).status).toBe(200);
    expect((await audited({ origin: `http://cas.example.test:${port}`, 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty' })).status).toBe(200);
  });

  it('refuses a Host that is not this server (DNS rebinding): 403, audited', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`, 'cas.example.test.evil.example']) {
      const res = await audited({ host });
      expect({ host, status: res.status }).toEqual({ host, status: 403 });
      expect(JSON.parse(res.body)).toEqual({ status: 403, message: 'The Host header does not name this server' });
      expect(res.rows).toEqual([{ actor: 'anonymous', client_ip: '127.0.0.1', action: 'GET', target: '/actuator/ssoSessions', status: 403 }]);
    }
  });

  it('refuses browser cross-site markers: an Origin of another site, Sec-Fetch-Site cross-site or same-site, an embedded resource', async () => {
    for (const headers of [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://localhost:3000` },
      { origin: `http://127.0.0.1:${port}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      // An <img> on this server's own page (a front-channel logout URL pointing here).
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-dest': 'iframe' },
    ] as Record<string, string>[]) {
      const res = await audited(headers);
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
      expect(res.rows).toEqual([expect.objectContaining({ actor: 'anonymous', status: 403 })]);
    }
  });

  it('says once at boot that the admin API answers loopback clients only (one AdminAccess behind every admin controller)', () => {
    const lines = stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('CAS_ADMIN_TOKENS not set'));
    expect(lines).toHaveLength(1);
  });

  it('refuses a loopback request relayed by a proxy (X-Forwarded-For, Forwarded) and says why once', async () => {
    const lines = () => stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('X-Forwarded-For'));
    expect(lines()).toEqual([]);
    for (const headers of [{ 'x-forwarded-for': '203.0.113.9' }, { 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }] as Record<string, string>[]) {
      const res = await audited(headers);
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
      expect(res.rows).toEqual([expect.objectContaining({ actor: 'anonymous', status: 403 })]);
    }
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toContain('Set TRUSTED_PROXIES');
    expect(lines()[0]).toContain('CAS_ADMIN_TOKENS');
  });

  it("refuses any request carrying this server's outbound mark", async () => {
    const res = await audited({ 'x-cas-outbound': '1' });
    expect(res.status).toBe(403);
    expect(res.rows).toEqual([expect.objectContaining({ actor: 'anonymous', status: 403 })]);
  });

  it('keeps refusing a client that is not on loopback (401)', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions', remoteAddress: '192.0.2.7' })).statusCode).toBe(401);
  });

  it('never lets a single logout request be an admin request, whatever logout URL the registry holds', async () => {
    const sessions = async () => JSON.parse((await send('/cas/actuator/ssoSessions')).body).activeSsoSessions.map((s: { authenticated_principal: string }) => s.authenticated_principal).sort();
    const services = async () => JSON.parse((await send('/cas/actuator/registeredServices')).body).length;
    // bob's session is the one an admin request could end; casuser's logout is the SSRF.
    await new Browser(t.app).login('bob', 'bob-password');
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    for (const s of [`http://127.0.0.1:${port}/app`, `http://localhost:${port}/app`, `http://127.0.0.1:${relayPort}/relay`]) ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(s)}`));
    const before = { sessions: await sessions(), services: await services() };
    expect(before.sessions).toEqual(['bob', 'casuser']);
    const { rows: top } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);

    expect((await b.get('/cas/logout')).statusCode).toBe(200);
    // Wait for the first attempt at each of the three to be recorded.
    const outbox = () => t.sql.query(`SELECT logout_url, status, attempts, last_http_status, last_error FROM slo_outbox WHERE principal = 'casuser' ORDER BY logout_url`);
    const { rows } = await eventually(outbox, (o) => o.rows.length === 3 && o.rows.every((r) => r.attempts >= 1 && r.status !== 'SENDING'));
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(expect.arrayContaining([
      { logout_url: `http://127.0.0.1:${port}/cas/actuator/registeredServices`, status: 'FAILURE', attempts: 1, last_http_status: null, last_error: "refused: the URL is under this server's admin API" },
      { logout_url: `http://127.0.0.1:${relayPort}/relay`, status: 'PENDING', attempts: 1, last_http_status: 403, last_error: 'HTTP 403' },
      { logout_url: `http://localhost:${port}/cas/%61ctuator/registeredServices`, status: 'FAILURE', attempts: 1, last_http_status: null, last_error: "refused: the URL is under this server's admin API" },
    ]));
    // The relayed one arrived marked, and the guard refused it; nothing was let in as loopback.
    expect(relayed.map((h) => h['x-cas-outbound'])).toEqual(['1']);
    const { rows: audit } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 AND action = 'POST' ORDER BY id`, [top[0].id]);
    expect(audit).toEqual([{ actor: 'anonymous', action: 'POST', target: '/actuator/registeredServices', status: 403 }]);
    const after = { sessions: await sessions(), services: await services() };
    expect(after).toEqual({ sessions: ['bob'], services: before.services });
  });
});

describe('proxy callbacks: marked, and never sent under the admin API', () => {
  const ca = createAuthority('test CA for outbound marks');
  const config = { ...loadCasConfig({}), proxyCallback: { extraCaCertificates: [ca.cert] } };

  it('carries the outbound mark', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createHttpsServer(ca.issue({ ip: ['127.0.0.1'] }), (req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await new ProxyCallback(config).deliver(`https://127.0.0.1:${port}/cb`, 'PGT-1', 'PGTIOU-1')).toEqual({ ok: true });
      expect(seen.map((h) => h['x-cas-outbound'])).toEqual(['1']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('does not connect to a callback under <prefix>/actuator, however spelled', async () => {
    let connections = 0;
    const server = createTcpServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      for (const path of ['/cas/actuator/ssoSessions', '/cas/%61ctuator/sso', '/cas//Actuator/x', '/x/../cas/actuator/y']) {
        expect(await new ProxyCallback(config).deliver(`https://127.0.0.1:${port}${path}`, 'PGT-1', 'PGTIOU-1')).toEqual({ ok: false, reason: "the URL is under this server's admin API" });
      }
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { NodeHeartbeats } from '../../src/admin/node-heartbeats';
import { Browser, ticketOf } from '../helpers/browser';
import { consoleSession, CONSOLE_TOKEN_ENV } from '../helpers/console-rig';
import { startSlapd } from '../helpers/slapd';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

/** The figure tiles of the overview, by their data-figure name. */
function figures(page: string): Record<string, string> {
  return Object.fromEntries([...page.matchAll(/data-figure="([a-z]+)">([^<]*)</g)].map((m) => [m[1], m[2]]));
}

/** The minute table's rows: [minute HH:MM, logins, failures, validations]. */
function minuteRows(page: string): string[][] {
  return [...page.matchAll(/<tr><td><time datetime="[^"]+">(\d\d:\d\d)<\/time><\/td><td class="num">(\d+)<\/td><td class="num">(\d+)<\/td><td class="num">(\d+)<\/td><\/tr>/g)].map((m) => m.slice(1));
}

const warningKeys = (page: string) => [...page.matchAll(/data-warning="([a-z-]+)"/g)].map((m) => m[1]);

/** The console's overview (issue 15): is the service healthy right now, for the whole cluster. */
describe('console overview page', () => {
  let t: TestApp;
  /** An application that takes back-channel logout requests and never answers them. */
  let silent: Server;
  let silentApp: string;

  beforeAll(async () => {
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentApp = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/app`;
    t = await startTestApp({ env: { ...CONSOLE_TOKEN_ENV, CAS_SLO_DISABLED: 'false' } });
  });

  afterAll(async () => {
    await t?.close();
    silent?.closeAllConnections();
    await new Promise((resolve) => silent?.close(resolve));
  });

  async function overview(app = t) {
    const s = await consoleSession(app.app);
    return app.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } });
  }

  it('sends a page load without a console session to the sign-in page; shows the overview with the console CSP, audited under the token id', async () => {
    const anonymous = await t.app.inject({ method: 'GET', url: '/cas/admin' });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin');

    const page = await overview();
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toMatch(/^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    // The page's own style carries the nonce; no script, nothing from the network.
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(page.body).toContain(`<style nonce="${nonce}">`);
    expect(page.body).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(page.body).toContain('<h1>Overview</h1>');
    expect(page.body).toContain('<a href="/cas/admin" aria-current="page">Overview</a>');
    // A fresh server: no activity, every check fine, this node alone, the cleaner off (test-app).
    expect(figures(page.body)).toEqual({ sessions: '0', logins: '0', failures: '0', validations: '0', backlog: '0', nodes: '1' });
    expect(page.body).toContain('No warnings: every check below is fine.');
    expect(page.body).toContain('No logins, failed logins or validations in the last hour.');
    expect(page.body).toContain('The registry cleaner is switched off on this node');
    expect(page.body).toContain('<span class="badge ok">this node</span>');
    // Both charts are labelled images with a text summary.
    expect(page.body).toMatch(/<svg class="chart" viewBox="0 0 480 200" role="img" aria-labelledby="logins-chart-title logins-chart-desc"/);
    expect(page.body).toContain('<desc id="logins-chart-desc">0 logins and 0 failed logins in the last hour, all nodes.</desc>');
    expect(page.body).toContain('<desc id="validations-chart-desc">0 ticket validations in the last hour, all nodes.</desc>');

    const { rows } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE target = '/admin' ORDER BY id DESC LIMIT 1`);
    expect(rows).toEqual([{ actor: 'console-test', action: 'GET', target: '/admin', status: 200 }]);
  });

  it('lists two application instances on one database as two nodes and sums their logins', async () => {
    const b = await startTestApp({ databaseUrl: t.config.databaseUrl, env: { ...CONSOLE_TOKEN_ENV } });
    try {
      expect((await new Browser(b.app).login('casuser', 'Mellon', APP)).statusCode).toBe(302);
      expect((await new Browser(t.app).login('casuser', 'Mellon', APP)).statusCode).toBe(302);
      // B tells the cluster with its next heartbeat (every 30 s; here at once).
      await b.app.get(NodeHeartbeats).beat();
      const page = await overview();
      expect(figures(page.body)).toMatchObject({ sessions: '2', logins: '2', nodes: '2' });
      expect(page.body.match(/<span class="badge ok">this node<\/span>/g)).toHaveLength(1);
      // Seen from B, the same two nodes, A's login there after A's heartbeat.
      await t.app.get(NodeHeartbeats).beat();
      expect(figures((await overview(b)).body)).toMatchObject({ logins: '2', nodes: '2' });
    } finally {
      await b.close();
    }
  });

  it('warns when the oldest logout request has waited more than 5 minutes, and shows the backlog', async () => {
    const browser = new Browser(t.app);
    const login = await browser.login('casuser', 'Mellon', silentApp);
    expect(ticketOf(login)).toMatch(/^ST-/);
    expect((await browser.get('/cas/logout')).statusCode).toBe(200);
    let page = await overview();
    expect(figures(page.body).backlog).toBe('1');
    expect(warningKeys(page.body)).toEqual([]);

    t.clock.advance(6 * 60);
    page = await overview();
    expect(figures(page.body).backlog).toBe('1');
    expect(page.body).toContain('oldest 6 min');
    expect(warningKeys(page.body)).toEqual(['outbox-stuck']);
    expect(page.body).toContain('The oldest logout request has been waiting 6 min');
  });

  it('charts logins, failed logins and validations per minute over the last hour, by the clock', async () => {
    // Two nodes' minutes are summed from their heartbeats; from here on, this node's clock alone.
    t.clock.advance(3600);
    t.clock.freeze();
    const tenMinutesAgo = t.clock.now();
    const first = new Browser(t.app);
    const ticket = ticketOf(await first.login('casuser', 'Mellon', APP));
    expect((await new Browser(t.app).login('casuser', 'wrong', APP)).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${ticket}` })).body).toContain('authenticationSuccess');
    t.clock.advance(10 * 60);
    expect((await new Browser(t.app).login('casuser', 'Mellon', APP)).statusCode).toBe(302);

    let page = await overview();
    expect(figures(page.body)).toMatchObject({ logins: '2', failures: '1', validations: '1' });
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    expect(minuteRows(page.body)).toEqual([
      [hhmm(t.clock.now()), '1', '0', '0'],
      [hhmm(tenMinutesAgo), '1', '1', '1'],
    ]);
    expect(page.body).toContain('<desc id="logins-chart-desc">2 logins and 1 failed logins in the last hour, all nodes.</desc>');
    // The line of logins rises to the top of a 1-high axis at the last minute and ten before it.
    const logins = /<polyline class="chart-line logins"[^>]* points="([^"]+)"/.exec(page.body)![1].split(' ');
    expect(logins).toHaveLength(60);
    const tops = logins.map((p, i) => (p.endsWith(',12.0') ? i : -1)).filter((i) => i >= 0);
    expect(tops).toEqual([49, 59]);

    // An hour later the chart is empty again.
    t.clock.advance(3600);
    page = await overview();
    expect(figures(page.body)).toMatchObject({ logins: '0', failures: '0', validations: '0' });
    expect(page.body).toContain('No logins, failed logins or validations in the last hour.');
  });
});

describe('console overview warnings', () => {
  it('warns that an LDAP source does not answer, naming it and its server', async () => {
    // A port nobody listens on: connections are refused at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const t = await startTestApp({
      env: {
        ...CONSOLE_TOKEN_ENV,
        CAS_AUTHN_LDAP_0_NAME: 'Staff directory',
        CAS_AUTHN_LDAP_0_TYPE: 'ANONYMOUS',
        CAS_AUTHN_LDAP_0_LDAP_URL: `ldap://127.0.0.1:${port}`,
        CAS_AUTHN_LDAP_0_BASE_DN: 'ou=people,dc=example,dc=org',
        CAS_AUTHN_LDAP_0_MIN_POOL_SIZE: '0',
      },
    });
    try {
      // Frozen, the page waits for the check however long the box takes (its 300 ms bound is the clock's).
      t.clock.freeze();
      const s = await consoleSession(t.app);
      const page = await t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } });
      expect(page.statusCode).toBe(200);
      expect(warningKeys(page.body)).toEqual(['ldap-down']);
      expect(page.body).toContain('The LDAP source Staff directory does not answer from this node');
      expect(page.body).toContain(`Check that ldap://127.0.0.1:${port} is up and reachable from this server.`);
      expect(page.body).toContain('<span class="badge bad">down</span>');
    } finally {
      await t.close();
    }
  });

  it('an LDAP source that answers shows no warning; stopped, it is found down once its last check is 30 s old', async () => {
    const slapd = await startSlapd();
    const t = await startTestApp({
      env: {
        ...CONSOLE_TOKEN_ENV,
        CAS_AUTHN_LDAP_0_NAME: 'Staff directory',
        CAS_AUTHN_LDAP_0_LDAP_URL: slapd.url,
        CAS_AUTHN_LDAP_0_BASE_DN: slapd.baseDn,
        CAS_AUTHN_LDAP_0_BIND_DN: slapd.serviceDn,
        CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
        CAS_AUTHN_LDAP_0_MIN_POOL_SIZE: '0',
      },
    });
    try {
      t.clock.freeze();
      const s = await consoleSession(t.app);
      const load = () => t.app.inject({ method: 'GET', url: '/cas/admin', headers: { cookie: s.cookie } });
      let page = await load();
      expect(warningKeys(page.body)).toEqual([]);
      expect(page.body).toContain('<span class="badge ok">answers</span>');
      expect(page.body).not.toContain(slapd.servicePassword);

      await slapd.stop();
      // Within 30 s of the last check, the page answers from it without asking the directory.
      t.clock.advance(29);
      page = await load();
      expect(page.body).toContain('<span class="badge ok">answers</span>');
      t.clock.advance(1);
      page = await load();
      expect(warningKeys(page.body)).toEqual(['ldap-down']);
      expect(page.body).toContain('<span class="badge bad">down</span>');
    } finally {
      await t.close();
      await slapd.stop();
    }
  });
});

// Interoperability, proxy mode: http-cas-client (npm) as the front application that proxies and
// as the back-end service, against this server over real HTTP. The front app validates its ST
// with its own pgtUrl (served over https with a certificate from a CA this test creates and the
// server is told to trust), correlates the PGTIOU with the PGT its callback received, asks
// /cas/proxy for a PT and calls the back-end with it; the back-end validates the PT at
// /p3/proxyValidate. Nothing here is our code but the CAS server.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import httpCasClient = require('http-cas-client');
import { Browser, ticketOf } from '../helpers/browser';
import { createAuthority } from '../helpers/certificates';
import { startTestApp, TestApp } from '../helpers/test-app';
import { freePort } from '../../src/database/embedded-postgres';

type Handler = ReturnType<typeof httpCasClient>;
type Page = (req: IncomingMessage & { principal?: unknown; ticket?: { request(url: string): Promise<{ get(path: string): Promise<{ data: unknown }> }> } }) => Promise<unknown>;

/** http-cas-client's handler in front of `page`; its PGTIOU-cleanup interval is captured so close() can stop it. */
function casClient(options: Parameters<typeof httpCasClient>[0]): { handler: Handler; timers: NodeJS.Timeout[] } {
  const intervals = jest.spyOn(global, 'setInterval');
  try {
    const handler = httpCasClient(options);
    return { handler, timers: intervals.mock.results.map((r) => r.value as NodeJS.Timeout) };
  } finally {
    intervals.mockRestore();
  }
}

function serve(handler: Handler, page: Page) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (!(await handler(req, res, {}))) {
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(await page(req)));
    } catch (e) {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: (e as Error).message }));
    }
  };
}

describe('interop: http-cas-client in proxy mode (front app + back-end) against this server', () => {
  let t: TestApp;
  let dir: string;
  const closers: (() => Promise<void> | void)[] = [];
  let front: string;
  let backend: string;
  let callback: string;

  beforeAll(async () => {
    const [casPort, frontPort, callbackPort, backendPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const casUrl = `http://127.0.0.1:${casPort}/cas`;
    front = `http://127.0.0.1:${frontPort}`;
    backend = `http://127.0.0.1:${backendPort}`;
    callback = `https://127.0.0.1:${callbackPort}/proxyCallback`;
    const ca = createAuthority();
    dir = mkdtempSync(join(tmpdir(), 'cas-interop-proxy-'));
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    t = await startTestApp({
      env: { CAS_SERVER_PREFIX: casUrl, PROXY_CALLBACK_CA_FILE: join(dir, 'ca.pem') },
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          id: 1,
          name: 'front (proxies)',
          evaluationOrder: 1,
          serviceId: `^http://127\\.0\\.0\\.1:${frontPort}/.*`,
          attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
          proxyPolicy: { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern: `^https://127\\.0\\.0\\.1:${callbackPort}/proxyCallback(\\?.*)?` },
        },
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          id: 2,
          name: 'back-end',
          evaluationOrder: 2,
          serviceId: `^http://127\\.0\\.0\\.1:${backendPort}/.*`,
          attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
        },
      ],
    });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });

    const frontClient = casClient({
      cas: 3,
      casServerUrlPrefix: casUrl,
      serverName: front,
      client: { proxy: { callbackUrl: callback, receptorUrl: '/proxyCallback' } },
    });
    const backendClient = casClient({ cas: 3, casServerUrlPrefix: casUrl, serverName: backend, client: { proxy: { acceptAny: true } } });
    closers.push(() => [...frontClient.timers, ...backendClient.timers].forEach((x) => clearInterval(x)));

    // The front app: its page calls the back-end for the user with a PT.
    const frontPage = serve(frontClient.handler, async (req) => {
      if (!req.url?.startsWith('/report')) return { principal: req.principal };
      const api = await req.ticket!.request(`${backend}/data`);
      return { principal: req.principal, fromBackend: (await api.get('')).data };
    });
    const backendPage = serve(backendClient.handler, async (req) => ({ principal: req.principal, path: req.url }));
    const tls = ca.issue({ ip: ['127.0.0.1'] });
    const servers = [
      createHttpServer(frontPage),
      // The same client handles its pgtUrl callback, here over https.
      createHttpsServer({ cert: tls.cert, key: tls.key }, frontPage),
      createHttpServer(backendPage),
    ];
    const ports = [frontPort, callbackPort, backendPort];
    await Promise.all(servers.map((s, i) => new Promise<void>((r) => s.listen(ports[i], '127.0.0.1', () => r()))));
    for (const s of servers) {
      closers.push(() => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }));
    }
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('front gets a PGT through its https callback, a PT from /proxy, and the back-end validates it', async () => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', `${front}/report`));
    // The library validates with pgtUrl, keeps the PGT under its `st` cookie and redirects to the URL without the ticket.
    const landed = await fetch(`${front}/report?ticket=${st}`, { redirect: 'manual' });
    expect(landed.status).toBe(302);
    const cookie = landed.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    expect(cookie).toMatch(/^st=ST-/);

    const page = await fetch(`${front}/report`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const body = (await page.json()) as { principal: { user: string }; fromBackend: { principal: { user: string; attributes: Record<string, unknown> }; path: string } };
    expect(body.principal.user).toBe('casuser');
    expect(body.fromBackend.principal.user).toBe('casuser');
    expect(body.fromBackend.principal.attributes.mail).toBe('casuser@example.org');

    const { rows } = await t.sql.query(`SELECT type, proxied_by, proxy_chain FROM tickets WHERE type = 'PGT'`);
    expect(rows).toEqual([{ type: 'PGT', proxied_by: `${front}/report`, proxy_chain: [callback] }]);
    const pts = await t.sql.query(`SELECT service, granted_by FROM session_services WHERE granted_by IS NOT NULL`);
    expect(pts.rows.map((r) => r.service)).toEqual([`${backend}/data`]);
  });
});

// An independently written CAS client from npm (cas-authentication, an Express middleware) logs a
// user in through this server over real HTTP: redirect to /login, the form, the ticket, and its
// own back-channel validation request.
import express from 'express';
import session from 'express-session';
import type { Server } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { startTestApp, TestApp } from '../helpers/test-app';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CASAuthentication = require('cas-authentication');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A minimal browser over fetch: one cookie jar per host:port, redirects followed by hand. */
class FetchBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const jar = this.jars.get(u.host) ?? new Map<string, string>();
    this.jars.set(u.host, jar);
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
    return res;
  }

  /** Follows redirects (GET) until a non-redirect answer; returns it and the URLs visited. */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; visited: string[] }> {
    const visited: string[] = [];
    let res = await this.fetch(url, init);
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, url).toString();
      visited.push(next);
      url = next;
      res = await this.fetch(next);
    }
    return { res, visited };
  }
}

describe.each(['2.0', '3.0'])('interop: cas-authentication (CAS %s) against this server', (casVersion) => {
  let t: TestApp;
  let client: Server;
  let casUrl: string;
  let appUrl: string;

  beforeAll(async () => {
    const casPort = await freePort();
    casUrl = `http://127.0.0.1:${casPort}/cas`;
    t = await startTestApp({ env: { CAS_SERVER_PREFIX: casUrl } });
    await t.app.listen({ port: casPort, host: '127.0.0.1' });

    const appPort = await freePort();
    appUrl = `http://127.0.0.1:${appPort}`;
    const cas = new CASAuthentication({ cas_url: casUrl, service_url: appUrl, cas_version: casVersion, session_info: 'cas_attributes' });
    // cas-authentication 0.0.8 ignores the port of cas_url (always 80/443); aim it at our listener.
    cas.cas_port = casPort;
    const app = express();
    app.use(session({ secret: 'interop-test', resave: false, saveUninitialized: true }));
    app.get('/app', cas.bounce, (req, res) => {
      const s = req.session as unknown as { cas_user: string; cas_attributes: unknown };
      res.json({ user: s.cas_user, attributes: s.cas_attributes });
    });
    await new Promise<void>((resolve) => {
      client = app.listen(appPort, '127.0.0.1', () => resolve());
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => client.close(resolve));
    await t.close();
  });

  it('logs the user in: the application sees the user and the released attributes', async () => {
    const browser = new FetchBrowser();
    const { res: form, visited } = await browser.follow(`${appUrl}/app`);
    // cas-authentication adds renew=false, which must mean "no renew".
    expect(visited[0]).toBe(`${casUrl}/login?service=${encodeURIComponent(`${appUrl}/app`)}&renew=false`);
    const html = await form.text();
    const execution = /name="execution" value="([^"]+)"/.exec(html)![1];

    const submitted = await browser.fetch(`${casUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution, _eventId: 'submit' }).toString(),
    });
    expect(submitted.status).toBe(302);
    const back = submitted.headers.get('location')!;
    expect(back).toMatch(new RegExp(`^${appUrl}/app\\?ticket=ST-[A-Za-z0-9]{32}$`));

    // The middleware validates the ticket with its own HTTP request to /serviceValidate or /p3/serviceValidate.
    const { res: page } = await browser.follow(back);
    expect(page.status).toBe(200);
    const body = await page.json();
    expect(body.user).toBe('casuser');
    expect(body.attributes.mail).toBe('casuser@example.org');
    expect(body.attributes.memberof).toEqual(['staff', 'faculty']);
    expect(body.attributes.isfromnewlogin).toBe('true');

    // The ticket was consumed by that validation.
    const replay = await fetch(`${casUrl}/p3/serviceValidate?service=${encodeURIComponent(`${appUrl}/app`)}&ticket=${new URL(back).searchParams.get('ticket')}`);
    expect(await replay.text()).toContain('code="INVALID_TICKET"');
  });

  it('single sign-on: a second application session gets in without the form', async () => {
    const browser = new FetchBrowser();
    const { res: form } = await browser.follow(`${appUrl}/app`);
    const execution = /name="execution" value="([^"]+)"/.exec(await form.text())![1];
    await browser.fetch(`${casUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution }).toString(),
    });
    // A new application session (cookie dropped) bounces through CAS and comes back logged in.
    const fresh = new FetchBrowser();
    (fresh as unknown as { jars: Map<string, Map<string, string>> }).jars.set(
      new URL(casUrl).host,
      (browser as unknown as { jars: Map<string, Map<string, string>> }).jars.get(new URL(casUrl).host)!,
    );
    const { res, visited } = await fresh.follow(`${appUrl}/app`);
    expect(visited.some((u) => u.includes('ticket=ST-'))).toBe(true);
    expect((await res.json()).user).toBe('casuser');
  });

  it('refuses a forged ticket', async () => {
    const res = await new FetchBrowser().fetch(`${appUrl}/app?ticket=ST-forgedforgedforgedforgedforged12`);
    expect(res.status).toBe(401);
  });
});

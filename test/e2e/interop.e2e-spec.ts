// Interoperability: independently written CAS client libraries from npm log a user in through
// this server over real HTTP, exactly as deployed applications would: redirect to /cas/login,
// the form, the ticket back on the service URL, and the library's own back-channel validation
// request; the application then sees the user and the released attributes.
//
// - cas-authentication (Express middleware; CAS 2.0 -> /serviceValidate, 3.0 -> /p3/serviceValidate)
// - http-cas-client (plain Node http handler; CAS 2.0 and 3.0, principal with attributes)
import express from 'express';
import session from 'express-session';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import httpCasClient = require('http-cas-client');
import { executionOf } from '../helpers/browser';
import { FIXTURE_PASSWORDS, startSlapd, type Slapd } from '../helpers/slapd';
import { startTestApp, TestApp } from '../helpers/test-app';
import { freePort } from '../../src/database/embedded-postgres';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CASAuthentication = require('cas-authentication');

/**
 * A minimal browser over fetch: one cookie jar per host:port (the CAS server and the apps listen
 * on different ports of 127.0.0.1; keeping them apart is enough here), redirects by hand.
 */
class FetchBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const jar = this.jar(new URL(url).host);
    const headers = new Headers(init.headers);
    if (!headers.has('user-agent')) headers.set('user-agent', 'interop-browser/1.0');
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value === '' || attrs.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  get(url: string): Promise<Response> {
    return this.fetch(url);
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
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

  cookie(hostOrUrl: string, name: string): string | undefined {
    return this.jars.get(hostOf(hostOrUrl))?.get(name);
  }

  /** The same browser with another application session: only the cookies of `host` are kept. */
  withCookiesOf(hostOrUrl: string): FetchBrowser {
    const other = new FetchBrowser();
    const host = hostOf(hostOrUrl);
    other.jars.set(host, new Map(this.jar(host)));
    return other;
  }

  private jar(host: string): Map<string, string> {
    const jar = this.jars.get(host) ?? new Map<string, string>();
    this.jars.set(host, jar);
    return jar;
  }
}

function hostOf(hostOrUrl: string): string {
  return hostOrUrl.includes('://') ? new URL(hostOrUrl).host : hostOrUrl;
}

function locationOf(res: Response): URL {
  const loc = res.headers.get('location');
  if (res.status !== 302 || !loc) throw new Error(`expected a 302 redirect, got ${res.status}`);
  return new URL(loc, res.url);
}

/** Starts the CAS server on a real port, its prefix naming that port (absolute URLs come from it). */
async function startListeningCas(env: Record<string, string> = {}): Promise<{ t: TestApp; casUrl: string; casPort: number }> {
  const casPort = await freePort();
  const casUrl = `http://127.0.0.1:${casPort}/cas`;
  const t = await startTestApp({ env: { CAS_SERVER_PREFIX: casUrl, ...env } });
  await t.app.listen({ port: casPort, host: '127.0.0.1' });
  expect((t.app.getHttpServer().address() as AddressInfo).port).toBe(casPort);
  return { t, casUrl, casPort };
}

/** What the Express app protected by cas-authentication answers with (its session). */
interface ExpressPage {
  user: string;
  attributes: Record<string, string | string[]>;
}

describe.each(['2.0', '3.0'])('interop: cas-authentication (CAS %s) against this server', (casVersion) => {
  let t: TestApp;
  let client: Server;
  let casUrl: string;
  let appUrl: string;

  beforeAll(async () => {
    let casPort: number;
    ({ t, casUrl, casPort } = await startListeningCas());

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
    client?.closeAllConnections();
    await new Promise((resolve) => (client ? client.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  it('logs the user in: the application sees the user and the released attributes', async () => {
    const browser = new FetchBrowser();
    const { res: form, visited } = await browser.follow(`${appUrl}/app`);
    // cas-authentication adds renew=false, which must mean "no renew".
    expect(visited[0]).toBe(`${casUrl}/login?service=${encodeURIComponent(`${appUrl}/app`)}&renew=false`);
    expect(form.status).toBe(200);
    const execution = executionOf(await form.text());

    const submitted = await browser.post(`${casUrl}/login`, { username: 'casuser', password: 'Mellon', execution, _eventId: 'submit' });
    expect(submitted.status).toBe(302);
    const back = submitted.headers.get('location')!;
    expect(back).toMatch(new RegExp(`^${appUrl}/app\\?ticket=ST-[A-Za-z0-9]{32}$`));

    // The middleware validates the ticket with its own HTTP request to /serviceValidate or /p3/serviceValidate.
    const { res: page } = await browser.follow(back);
    expect(page.status).toBe(200);
    const body = (await page.json()) as ExpressPage;
    expect(body.user).toBe('casuser');
    // xml2js's normalize processor lower-cases the element names.
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
    const execution = executionOf(await form.text());
    expect((await browser.post(`${casUrl}/login`, { username: 'casuser', password: 'Mellon', execution })).status).toBe(302);
    // A new application session (its cookie dropped, the CAS cookies kept) bounces through CAS
    // and comes back logged in.
    const fresh = browser.withCookiesOf(casUrl);
    const { res, visited } = await fresh.follow(`${appUrl}/app`);
    // app -> CAS /login (answers with a redirect, not the form) -> app?ticket -> app.
    expect(visited).toHaveLength(3);
    expect(visited[0].startsWith(`${casUrl}/login?`)).toBe(true);
    expect(visited[1]).toMatch(new RegExp(`^${appUrl}/app\\?ticket=ST-`));
    expect(visited[2]).toBe(`${appUrl}/app`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ExpressPage).user).toBe('casuser');
  });

  it('refuses a forged ticket', async () => {
    // The middleware console.logs why it refused: the code CAS answered with.
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const res = await new FetchBrowser().fetch(`${appUrl}/app?ticket=ST-forgedforgedforgedforgedforged12`);
      expect(res.status).toBe(401);
      expect(log.mock.calls.map((c) => String(c[0]))).toContain('Error: CAS authentication failed (INVALID_TICKET).');
    } finally {
      log.mockRestore();
    }
  });
});

/** What the protected page of the http-cas-client app answers with. */
interface PageBody {
  path?: string;
  principal?: { user: string; attributes?: Record<string, string | string[]> };
  error?: string;
}

interface ClientApp {
  origin: string;
  close(): Promise<void>;
}

/**
 * A plain http application whose every page is protected by http-cas-client. The library
 * either answers itself (redirects, its `st` session cookie) or lets the request through with
 * `req.principal`; a validation the library refuses surfaces as a rejected promise -> 401.
 */
async function startHttpCasClientApp(casServerUrlPrefix: string, cas: 2 | 3): Promise<ClientApp> {
  let handler: ReturnType<typeof httpCasClient> | undefined;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        if (!handler) throw new Error('client app not ready');
        if (!(await handler(req, res, {}))) {
          res.end();
          return;
        }
        const principal = (req as IncomingMessage & { principal?: PageBody['principal'] }).principal;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ path: req.url, principal } satisfies PageBody));
      } catch (e) {
        if (!res.headersSent) {
          res.statusCode = 401;
          res.removeHeader('location');
          res.setHeader('content-type', 'application/json');
        }
        res.end(JSON.stringify({ error: (e as Error).message } satisfies PageBody));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Each client starts a 10 s setInterval (PGTIOU cleanup) that it never stops: capture it so
  // close() can clear it and jest can exit. (mockRestore also forgets the results: read them first.)
  const intervals = jest.spyOn(global, 'setInterval');
  let timers: NodeJS.Timeout[];
  try {
    handler = httpCasClient({ cas, casServerUrlPrefix, serverName: origin });
  } finally {
    timers = intervals.mock.results.map((r) => r.value as NodeJS.Timeout);
    intervals.mockRestore();
  }
  expect(timers).toHaveLength(1);
  return {
    origin,
    async close() {
      timers.forEach((timer) => clearInterval(timer));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** GET the protected page, be sent to CAS, fill in the form, come back with a ticket. */
async function loginThroughCas(b: FetchBrowser, casUrl: string, app: ClientApp, path: string, username: string, password: string): Promise<URL> {
  const toCas = locationOf(await b.get(`${app.origin}${path}`));
  expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
  expect(toCas.searchParams.get('service')).toBe(`${app.origin}${path}`);
  const form = await b.get(toCas.href);
  expect(form.status).toBe(200);
  const html = await form.text();
  expect(b.cookie(casUrl, 'CASLOGIN')).toBeDefined();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action).toBeDefined();
  const posted = await b.post(new URL(action!, toCas).href, {
    username,
    password,
    execution: executionOf(html),
    _eventId: 'submit',
  });
  const back = locationOf(posted);
  expect(`${back.origin}${back.pathname}`).toBe(`${app.origin}${path}`);
  expect(back.searchParams.get('ticket')).toMatch(/^ST-[A-Za-z0-9-]+$/);
  return back;
}

describe('interop: http-cas-client (CAS 2.0 and 3.0) against this server', () => {
  let t: TestApp;
  let casUrl: string;
  let cas3App: ClientApp;
  let cas2App: ClientApp;

  beforeAll(async () => {
    ({ t, casUrl } = await startListeningCas());
    cas3App = await startHttpCasClientApp(casUrl, 3);
    cas2App = await startHttpCasClientApp(casUrl, 2);
  });

  afterAll(async () => {
    await cas3App?.close();
    await cas2App?.close();
    await t?.close();
  });

  /** loginThroughCas as casuser, the static user of the test app. */
  async function loginThrough(b: FetchBrowser, app: ClientApp, path: string): Promise<URL> {
    return loginThroughCas(b, casUrl, app, path, 'casuser', 'Mellon');
  }

  it('CAS 3.0: login -> ticket -> /p3/serviceValidate -> the app sees casuser and the released attributes', async () => {
    const b = new FetchBrowser();
    const back = await loginThrough(b, cas3App, '/protected');

    // The library validates the ticket against the CAS server, keeps the principal under its
    // own `st` cookie and redirects to the URL without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(`${cas3App.origin}/protected`);
    expect(b.cookie(cas3App.origin, 'st')).toBe(back.searchParams.get('ticket'));

    const page = await b.get(`${cas3App.origin}/protected`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as PageBody;
    expect(body.principal?.user).toBe('casuser');
    // Test service 5 releases everything: the demo attributes plus the CAS 3.0 protocol ones.
    expect(body.principal?.attributes).toMatchObject({
      mail: 'casuser@example.org',
      displayName: 'CAS Demo User',
      memberOf: ['staff', 'faculty'],
      isFromNewLogin: 'true',
      longTermAuthenticationRequestTokenUsed: 'false',
    });
    expect(new Date(String(body.principal?.attributes?.authenticationDate)).getTime()).not.toBeNaN();
  });

  it('SSO: a second (CAS 2.0, /serviceValidate) client gets a ticket from the session without a form', async () => {
    const b = new FetchBrowser();
    const first = await loginThrough(b, cas3App, '/first');
    expect((await b.get(first.href)).status).toBe(302);

    const toCas = locationOf(await b.get(`${cas2App.origin}/second?x=1`));
    expect(toCas.searchParams.get('service')).toBe(`${cas2App.origin}/second?x=1`);
    const back = locationOf(await b.get(toCas.href)); // straight back with a ticket: no login form
    expect(`${back.origin}${back.pathname}`).toBe(`${cas2App.origin}/second`);
    expect(back.searchParams.get('x')).toBe('1');
    expect(back.searchParams.get('ticket')).toMatch(/^ST-/);

    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(`${cas2App.origin}/second?x=1`);
    const page = await b.get(`${cas2App.origin}/second?x=1`);
    expect(page.status).toBe(200);
    // In CAS 2.0 mode the library reads the user only.
    expect(((await page.json()) as PageBody).principal).toEqual({ user: 'casuser' });
  });

  it('CAS 3.0 reached through SSO: isFromNewLogin=false', async () => {
    const b = new FetchBrowser();
    const first = await loginThrough(b, cas2App, '/start');
    expect((await b.get(first.href)).status).toBe(302);

    const toCas = locationOf(await b.get(`${cas3App.origin}/later`));
    const back = locationOf(await b.get(toCas.href));
    expect((await b.get(back.href)).status).toBe(302);
    const body = (await (await b.get(`${cas3App.origin}/later`)).json()) as PageBody;
    expect(body.principal?.user).toBe('casuser');
    expect(body.principal?.attributes).toMatchObject({ isFromNewLogin: 'false', mail: 'casuser@example.org' });
  });

  it('a forged ticket is refused by the library (CAS answered with a failure) and grants no session', async () => {
    const b = new FetchBrowser();
    const res = await b.get(`${cas3App.origin}/protected?ticket=ST-1-forgedforgedforgedforged-node`);
    expect(res.status).toBe(401);
    // The library's error for a validation answer without authenticationSuccess: the CAS server
    // was reached and refused (a network failure would read differently).
    expect(((await res.json()) as PageBody).error).toBe('Ticket error authentication failed.');
    expect(b.cookie(cas3App.origin, 'st')).toBeUndefined();
    const again = locationOf(await b.get(`${cas3App.origin}/protected`));
    expect(`${again.origin}${again.pathname}`).toBe(`${casUrl}/login`);
  });

  it('a ticket replayed after the library used it is refused (single use)', async () => {
    const victim = new FetchBrowser();
    const back = await loginThrough(victim, cas3App, '/replay');
    expect((await victim.get(back.href)).status).toBe(302);

    const attacker = new FetchBrowser();
    expect((await attacker.get(back.href)).status).toBe(401);
    expect(attacker.cookie(cas3App.origin, 'st')).toBeUndefined();
  });

  it('a ticket issued for one application is refused by another, and is burnt', async () => {
    const b = new FetchBrowser();
    const back = await loginThrough(b, cas3App, '/mine');
    const stolen = new URL(`${cas2App.origin}/mine`);
    stolen.searchParams.set('ticket', back.searchParams.get('ticket')!);
    expect((await new FetchBrowser().get(stolen.href)).status).toBe(401);
    // INVALID_SERVICE consumes the ticket: the rightful application cannot use it afterwards either.
    expect((await b.get(back.href)).status).toBe(401);
  });
});

describe('interop: a directory user through http-cas-client (CAS 3.0)', () => {
  let slapd: Slapd;
  let t: TestApp;
  let casUrl: string;
  let app: ClientApp;

  beforeAll(async () => {
    slapd = await startSlapd();
    ({ t, casUrl } = await startListeningCas({
      CAS_AUTHN_LDAP_0_TYPE: 'AUTHENTICATED',
      CAS_AUTHN_LDAP_0_LDAP_URL: slapd.url,
      CAS_AUTHN_LDAP_0_BASE_DN: `ou=people,${slapd.baseDn}`,
      CAS_AUTHN_LDAP_0_SEARCH_FILTER: 'uid={user}',
      CAS_AUTHN_LDAP_0_BIND_DN: slapd.serviceDn,
      CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_ID: 'uid',
      CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: 'cn,mail,memberOf:groups',
    }));
    app = await startHttpCasClientApp(casUrl, 3);
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
    await slapd?.stop();
  });

  it("logs alice in with her directory password; the application sees the directory's attributes", async () => {
    const b = new FetchBrowser();
    const back = await loginThroughCas(b, casUrl, app, '/staff', 'alice', FIXTURE_PASSWORDS.alice);
    expect((await b.get(back.href)).status).toBe(302);
    const page = await b.get(`${app.origin}/staff`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as PageBody;
    expect(body.principal?.user).toBe('alice');
    expect(body.principal?.attributes).toMatchObject({
      cn: 'Alice Liddell',
      mail: 'alice@example.org',
      authenticationMethod: 'LdapAuthenticationHandler',
      isFromNewLogin: 'true',
    });
    expect([body.principal?.attributes?.groups].flat().sort()).toEqual([`cn=faculty,ou=groups,${slapd.baseDn}`, `cn=staff,ou=groups,${slapd.baseDn}`]);
  });
});

// Interoperability with multi-factor login: the npm CAS client libraries of interop.e2e-spec.ts,
// unchanged, in front of a server that asks every login for a TOTP code (the global trigger
// cas.authn.mfa.triggers.global.global-provider-id=mfa-gauth). The libraries know nothing of MFA:
// they redirect to /cas/login and validate the ticket that comes back. What this proves is that
// the ticket arrives only after the code, and that its validation answer, read by the library's
// own parser, carries authnContextClass=mfa-gauth to the application.
//
// - http-cas-client (CAS 3.0, principal with attributes): a user enrolling on the way in.
// - cas-authentication (Express middleware, CAS 3.0): a user with a device already.
import express from 'express';
import session from 'express-session';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { authenticator } from 'otplib';
import httpCasClient = require('http-cas-client');
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { freePort } from '../../src/database/embedded-postgres';
import { executionOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CASAuthentication = require('cas-authentication');

const MFA_ENV = {
  CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID: 'mfa-gauth',
  CAS_AUTHN_ACCEPT_USERS: ['alice', 'bob', 'carol'].map((u) => `${u}::Secret1`).join(','),
};

/** The code an authenticator app shows for `secret` at the clock's time. */
function codeAt(clock: MutableClock, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
}

/** A six-digit code that is not `right`. */
function wrong(right: string): string {
  return String((Number(right) + 1) % 1_000_000).padStart(6, '0');
}

/**
 * A minimal browser over fetch (as in interop.e2e-spec.ts): one cookie jar per host:port, redirects
 * by hand so each hop can be asserted.
 */
class FetchBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const jar = this.jar(new URL(url).host);
    const headers = new Headers(init.headers);
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

  cookie(url: string, name: string): string | undefined {
    return this.jars.get(new URL(url).host)?.get(name);
  }

  private jar(host: string): Map<string, string> {
    const jar = this.jars.get(host) ?? new Map<string, string>();
    this.jars.set(host, jar);
    return jar;
  }
}

function locationOf(res: Response): URL {
  const loc = res.headers.get('location');
  if (res.status !== 302 || !loc) throw new Error(`expected a 302 redirect, got ${res.status}`);
  return new URL(loc, res.url);
}

const isCodePage = (html: string) => html.includes('name="token"') && !html.includes('name="password"');

/** What the protected page of the http-cas-client app answers with. */
interface PageBody {
  principal?: { user: string; attributes?: Record<string, string | string[]> };
  error?: string;
}

/** A plain http application protected by http-cas-client (CAS 3.0), as in interop.e2e-spec.ts. */
async function startHttpCasClientApp(casServerUrlPrefix: string): Promise<{ origin: string; close(): Promise<void> }> {
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
        res.end(JSON.stringify({ principal } satisfies PageBody));
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
  // The client starts a PGTIOU cleanup interval it never stops: capture it so jest can exit.
  const intervals = jest.spyOn(global, 'setInterval');
  let timers: NodeJS.Timeout[];
  try {
    handler = httpCasClient({ cas: 3, casServerUrlPrefix, serverName: origin });
  } finally {
    timers = intervals.mock.results.map((r) => r.value as NodeJS.Timeout);
    intervals.mockRestore();
  }
  return {
    origin,
    async close() {
      timers.forEach((timer) => clearInterval(timer));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

describe('interop: CAS clients through an MFA-protected login (global trigger mfa-gauth, TOTP)', () => {
  let t: TestApp;
  let casUrl: string;
  let httpApp: { origin: string; close(): Promise<void> };
  let expressApp: Server;
  let expressUrl: string;

  beforeAll(async () => {
    const casPort = await freePort();
    casUrl = `http://127.0.0.1:${casPort}/cas`;
    t = await startTestApp({ env: { CAS_SERVER_PREFIX: casUrl, ...MFA_ENV } });
    // Codes are computed at the app's clock: frozen, it moves only when a test says so.
    t.clock.freeze();
    await t.app.listen({ port: casPort, host: '127.0.0.1' });

    httpApp = await startHttpCasClientApp(casUrl);

    const appPort = await freePort();
    expressUrl = `http://127.0.0.1:${appPort}`;
    const cas = new CASAuthentication({ cas_url: casUrl, service_url: expressUrl, cas_version: '3.0', session_info: 'cas_attributes' });
    // cas-authentication 0.0.8 ignores the port of cas_url (always 80/443); aim it at our listener.
    cas.cas_port = casPort;
    const app = express();
    app.use(session({ secret: 'interop-mfa-test', resave: false, saveUninitialized: true }));
    app.get('/payroll', cas.bounce, (req, res) => {
      const s = req.session as unknown as { cas_user: string; cas_attributes: unknown };
      res.json({ user: s.cas_user, attributes: s.cas_attributes });
    });
    await new Promise<void>((resolve) => {
      expressApp = app.listen(appPort, '127.0.0.1', () => resolve());
    });
  });

  afterAll(async () => {
    await httpApp?.close();
    expressApp?.closeAllConnections();
    await new Promise((resolve) => (expressApp ? expressApp.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  /** From the application to the CAS form, then the password: the answer to the password POST. */
  async function passwordStep(b: FetchBrowser, appPage: string, username: string): Promise<Response> {
    const toCas = locationOf(await b.get(appPage));
    expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
    expect(toCas.searchParams.get('service')).toBe(appPage);
    const form = await b.get(toCas.href);
    expect(form.status).toBe(200);
    return b.post(`${casUrl}/login`, { username, password: 'Secret1', execution: executionOf(await form.text()), _eventId: 'submit' });
  }

  const submitCode = (b: FetchBrowser, html: string, token: string) => b.post(`${casUrl}/login`, { execution: executionOf(html), token, _eventId: 'mfa' });

  it('http-cas-client: password, enrolment (the key read from the page), the first code -> back to the app, which sees the user and authnContextClass=mfa-gauth', async () => {
    const b = new FetchBrowser();
    const page = `${httpApp.origin}/protected`;
    const enrolment = await passwordStep(b, page, 'alice');
    // The password alone does not go back to the application: it shows the enrolment page.
    expect(enrolment.status).toBe(200);
    expect(enrolment.headers.get('location')).toBeNull();
    const html = await enrolment.text();
    expect(html).toContain('Set up two-step verification');
    const secret = /<textarea id="secret" readonly[^>]*>([A-Z2-7]+)<\/textarea>/.exec(html)![1];
    expect(b.cookie(casUrl, 'TGC')).toBeUndefined();

    const back = locationOf(await submitCode(b, html, codeAt(t.clock, secret)));
    expect(`${back.origin}${back.pathname}`).toBe(page);
    expect(back.searchParams.get('ticket')).toMatch(/^ST-[A-Za-z0-9-]+$/);
    expect(b.cookie(casUrl, 'TGC')).toBeDefined();

    // The library validates the ticket (/p3/serviceValidate), keeps the principal under its `st`
    // cookie and redirects to the URL without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(page);
    const body = (await (await b.get(page)).json()) as PageBody;
    expect(body.principal?.user).toBe('alice');
    expect(body.principal?.attributes).toMatchObject({
      authnContextClass: 'mfa-gauth',
      successfulAuthenticationHandlers: 'AcceptUsersAuthenticationHandler',
      isFromNewLogin: 'true',
    });
  });

  it('cas-authentication: an enrolled user gets the code page after the password; the code -> the Express app sees the user and authnContextClass=mfa-gauth', async () => {
    const creds = t.app.get(GauthCredentials);
    const e = await creds.enrol('bob', 'phone');
    expect((await creds.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    // The confirming code's time step is spent; the login uses the next one.
    t.clock.advance(30);

    const b = new FetchBrowser();
    const page = `${expressUrl}/payroll`;
    const codePage = await passwordStep(b, page, 'bob');
    expect(codePage.status).toBe(200);
    const html = await codePage.text();
    expect(isCodePage(html)).toBe(true);
    expect(html).not.toContain('id="secret"');

    const back = locationOf(await submitCode(b, html, codeAt(t.clock, e.secret)));
    expect(`${back.origin}${back.pathname}`).toBe(page);
    expect(back.searchParams.get('ticket')).toMatch(/^ST-/);
    // The middleware validates the ticket with its own request to /p3/serviceValidate, then
    // redirects to the page without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    const res = await b.get(new URL(landed.headers.get('location')!, page).href);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: string; attributes: Record<string, unknown> };
    expect(body.user).toBe('bob');
    // xml2js's normalize processor lower-cases the element names.
    expect(body.attributes.authncontextclass).toBe('mfa-gauth');
  });

  it('a wrong code does not reach the application: the code page again (401), no ticket, no CAS session, and the app still sends the user to CAS', async () => {
    const creds = t.app.get(GauthCredentials);
    const e = await creds.enrol('carol', 'phone');
    expect((await creds.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);

    const b = new FetchBrowser();
    const page = `${httpApp.origin}/protected`;
    const codePage = await passwordStep(b, page, 'carol');
    expect(codePage.status).toBe(200);
    const refused = await submitCode(b, await codePage.text(), wrong(codeAt(t.clock, e.secret)));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('location')).toBeNull();
    const html = await refused.text();
    expect(isCodePage(html)).toBe(true);
    expect(html).toContain('Invalid verification code');
    expect(b.cookie(casUrl, 'TGC')).toBeUndefined();
    expect((await t.sql.query(`SELECT type FROM tickets WHERE principal = 'carol'`)).rows).toEqual([]);

    // The application has no session for this browser: it sends it back to CAS, which shows the
    // password form (nothing was established by the password alone).
    const toCas = locationOf(await b.get(page));
    expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
    expect(b.cookie(httpApp.origin, 'st')).toBeUndefined();
    const form = await b.get(toCas.href);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="password"');
  });
});

// Applications protected by unmodified CAS client libraries from npm, listening on 127.0.0.1, for
// the interop tests: they redirect to the server's /cas/login and validate the ticket with their
// own back-channel request, as deployed applications would.
//
// - http-cas-client (plain Node http handler; CAS 2.0 and 3.0, principal with attributes)
// - cas-authentication (Express middleware; CAS 2.0 -> /serviceValidate, 3.0 -> /p3/serviceValidate)
import express from 'express';
import session from 'express-session';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import httpCasClient = require('http-cas-client');
import { freePort } from '../../src/database/embedded-postgres';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CASAuthentication = require('cas-authentication');

export interface ClientApp {
  origin: string;
  close(): Promise<void>;
}

/** What the protected page of the http-cas-client app answers with. */
export interface PageBody {
  path?: string;
  principal?: { user: string; attributes?: Record<string, string | string[]> };
  error?: string;
}

/**
 * A plain http application whose every page is protected by http-cas-client. The library
 * either answers itself (redirects, its `st` session cookie) or lets the request through with
 * `req.principal`; a validation the library refuses surfaces as a rejected promise -> 401.
 */
export async function startHttpCasClientApp(casServerUrlPrefix: string, cas: 2 | 3): Promise<ClientApp> {
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

/** What the Express app protected by cas-authentication answers with (its session). */
export interface ExpressPage {
  user: string;
  attributes: Record<string, string | string[]>;
}

/**
 * An Express application whose page `path` is behind cas-authentication's `bounce` and answers
 * with the session's user and attributes (ExpressPage). `casPort` is needed because
 * cas-authentication 0.0.8 ignores the port of cas_url (always 80/443).
 */
export async function startCasAuthenticationApp(casUrl: string, casPort: number, casVersion: '2.0' | '3.0', path: string): Promise<ClientApp> {
  const appPort = await freePort();
  const origin = `http://127.0.0.1:${appPort}`;
  const cas = new CASAuthentication({ cas_url: casUrl, service_url: origin, cas_version: casVersion, session_info: 'cas_attributes' });
  cas.cas_port = casPort;
  const app = express();
  app.use(session({ secret: 'interop-test', resave: false, saveUninitialized: true }));
  app.get(path, cas.bounce, (req, res) => {
    const s = req.session as unknown as { cas_user: string; cas_attributes: unknown };
    res.json({ user: s.cas_user, attributes: s.cas_attributes });
  });
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = app.listen(appPort, '127.0.0.1', () => resolve(listening));
  });
  return {
    origin,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

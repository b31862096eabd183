import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import type { Issued } from './certificates';

export interface CallbackServer {
  /** `https://<host>:<port>` (or http for a plain server). */
  origin: string;
  port: number;
  /** Request URLs (path and query) received, in order. */
  received: string[];
  /** Resolves when the next request for a path starting with `prefix` arrives; `closed` then resolves when the connection ends. */
  nextRequest(prefix: string): Promise<{ closed: Promise<void> }>;
  close(): Promise<void>;
}

/**
 * A pgtUrl callback over real TLS (or plain http to prove it is never called). Paths:
 * /ok → 200, /notfound → 404, /error → 500, /redirect → 302 to /ok, /stall → no answer until the
 * client gives up (or the server closes).
 */
export async function startCallbackServer(opts: { tls?: Issued; host?: string }): Promise<CallbackServer> {
  const received: string[] = [];
  const stalled = new Set<ServerResponse>();
  let awaited: { prefix: string; arrived: (r: { closed: Promise<void> }) => void }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    received.push(req.url ?? '');
    const path = (req.url ?? '').split('?')[0];
    const closed = new Promise<void>((r) => res.on('close', () => r()));
    const matching = awaited.filter((a) => path.startsWith(a.prefix));
    awaited = awaited.filter((a) => !matching.includes(a));
    matching.forEach((a) => a.arrived({ closed }));
    if (path.startsWith('/ok')) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    else if (path.startsWith('/notfound')) res.writeHead(404).end();
    else if (path.startsWith('/error')) res.writeHead(500).end();
    else if (path.startsWith('/redirect')) res.writeHead(302, { location: '/ok' }).end();
    else if (path.startsWith('/stall')) {
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
    } else res.writeHead(404).end();
  };
  const server: HttpServer | HttpsServer = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    received,
    nextRequest: (prefix) => new Promise((arrived) => awaited.push({ prefix, arrived })),
    close: () =>
      new Promise<void>((r) => {
        stalled.forEach((res) => res.destroy());
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

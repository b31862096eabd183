import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** One POST as the receiver saw it. */
export interface ReceivedSet {
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body: a compact JWS (the SET) when the server behaves. */
  token: string;
  /** What the receiver answered. */
  status: number;
}

export interface SetReceiver {
  port: number;
  received: ReceivedSet[];
  /** Answers to give, each to the next POST under its path, before going back to 202 (RFC 8935's acknowledgement). */
  answers: { path: string; status: number }[];
  /** Resolves with the first POST received (now or later) that `matches`; the jest timeout bounds it. */
  next(matches: (r: ReceivedSet) => boolean): Promise<ReceivedSet>;
  close(): Promise<void>;
}

/** A loopback RFC 8935 push receiver that records every SET POSTed to it, on any path. */
export async function setReceiver(): Promise<SetReceiver> {
  const received: ReceivedSet[] = [];
  const answers: { path: string; status: number }[] = [];
  let waiters: { matches: (r: ReceivedSet) => boolean; resolve: (r: ReceivedSet) => void }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const i = answers.findIndex((a) => req.url?.startsWith(a.path));
      const status = i < 0 ? 202 : answers.splice(i, 1)[0].status;
      const r: ReceivedSet = { path: req.url ?? '', headers: req.headers, token: body, status };
      received.push(r);
      res.writeHead(status).end();
      const done = waiters.filter((w) => w.matches(r));
      waiters = waiters.filter((w) => !done.includes(w));
      done.forEach((w) => w.resolve(r));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    answers,
    next: (matches) => {
      const already = received.find(matches);
      return already ? Promise.resolve(already) : new Promise((resolve) => waiters.push({ matches, resolve }));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

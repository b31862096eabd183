import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface LogoutReceiver {
  port: number;
  /** SessionIndex of every back-channel LogoutRequest received, in arrival order. */
  received: string[];
  /** Resolves once every one of `sessionIndexes` has been received (the jest timeout bounds it). */
  receivedAll(sessionIndexes: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A loopback application that counts the back-channel logout requests it receives, by SessionIndex. */
export async function logoutReceiver(): Promise<LogoutReceiver> {
  const received: string[] = [];
  let waiters: { wanted: string[]; resolve: () => void }[] = [];
  const has = (wanted: string[]) => wanted.every((x) => received.includes(x));
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const xml = new URLSearchParams(body).get('logoutRequest') ?? '';
      received.push(/<samlp:SessionIndex>([^<]+)</.exec(xml)?.[1] ?? '');
      res.writeHead(200).end();
      const done = waiters.filter((w) => has(w.wanted));
      waiters = waiters.filter((w) => !done.includes(w));
      done.forEach((w) => w.resolve());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    receivedAll: (wanted) => (has(wanted) ? Promise.resolve() : new Promise((resolve) => waiters.push({ wanted, resolve }))),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

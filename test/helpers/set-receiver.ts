import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** One POST as the receiver saw it. */
export interface ReceivedSet {
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body: a compact JWS (the SET) when the server behaves. */
  token: string;
  /** What the receiver answered: 401 for a wrong Bearer secret, 400 for a SET that does not verify. */
  status: number;
  /** The verified claims, when the SET verified. */
  payload?: JWTPayload;
  /** Why the receiver refused it (401, 400). */
  refusal?: string;
}

/** What the receiver trusts, asked for when a SET arrives (the sender may start after the receiver). */
export interface ReceiverTrust {
  /** The sender's published key set (GET /cas/sse/jwks), fetched for each SET. */
  jwks(): Promise<JSONWebKeySet>;
  /** The sender's `iss`. */
  issuer: string;
  /** The Bearer secret expected with pushes under each path prefix (`/a/`). */
  secrets: Record<string, string>;
}

export interface SetReceiver {
  port: number;
  received: ReceivedSet[];
  /** Answers to give, each to the next verified POST under its path, before going back to 202 (RFC 8935's acknowledgement). */
  answers: { path: string; status: number }[];
  /** Resolves with the first POST received (now or later) that `matches`; the jest timeout bounds it. */
  next(matches: (r: ReceivedSet) => boolean): Promise<ReceivedSet>;
  close(): Promise<void>;
}

/**
 * A loopback RFC 8935 push receiver that records every SET POSTed to it, on any path, and checks
 * it as a real one would: the `Authorization: Bearer` secret of its path (else 401), then the
 * JWS with the sender's key set, `typ` secevent+jwt, ES256, `iss`, and `aud` = its own URL (else
 * 400, RFC 8935 §2.3, with a JSON error).
 */
export async function setReceiver(trust: () => ReceiverTrust): Promise<SetReceiver> {
  const received: ReceivedSet[] = [];
  const answers: { path: string; status: number }[] = [];
  let waiters: { matches: (r: ReceivedSet) => boolean; resolve: (r: ReceivedSet) => void }[] = [];
  let port = 0;
  const check = async (path: string, headers: IncomingHttpHeaders, token: string): Promise<Pick<ReceivedSet, 'status' | 'payload' | 'refusal'>> => {
    const { jwks, issuer, secrets } = trust();
    const prefix = Object.keys(secrets).find((p) => path.startsWith(p));
    if (!prefix || headers.authorization !== `Bearer ${secrets[prefix]}`) return { status: 401, refusal: 'wrong or missing Bearer secret' };
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
        issuer,
        audience: `http://127.0.0.1:${port}${path}`,
        typ: 'secevent+jwt',
        algorithms: ['ES256'],
      });
      return { status: 202, payload };
    } catch (e) {
      return { status: 400, refusal: (e as Error).message };
    }
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      void (async () => {
        const path = req.url ?? '';
        const r: ReceivedSet = { path, headers: req.headers, token: body, ...(await check(path, req.headers, body)) };
        if (r.status === 202) {
          const i = answers.findIndex((a) => path.startsWith(a.path));
          if (i >= 0) r.status = answers.splice(i, 1)[0].status;
        }
        received.push(r);
        if (r.status === 400) res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ err: 'invalid_request', description: r.refusal }));
        else res.writeHead(r.status).end();
        const done = waiters.filter((w) => w.matches(r));
        waiters = waiters.filter((w) => !done.includes(w));
        done.forEach((w) => w.resolve(r));
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    received,
    answers,
    next: (matches) => {
      const already = received.find(matches);
      return already ? Promise.resolve(already) : new Promise((resolve) => waiters.push({ matches, resolve }));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

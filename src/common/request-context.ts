import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** What the code running for one request may know of it without being handed the request. */
export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The id of the request being served, or undefined outside a request (boot, scheduled jobs). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `next` (the rest of Fastify's hook chain) with the request's id in the async context. */
export function runWithRequestId(requestId: string, next: () => void): void {
  storage.run({ requestId }, next);
}

/** Printable ASCII only, at most 128 characters: it goes into log lines, a header and a row. */
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Fastify's `genReqId`: the `X-Request-Id` a trusted proxy sent (TRUSTED_PROXIES, the same peers
 * whose X-Forwarded-For is believed), when it is printable and short; otherwise a new UUID. A
 * client that is not a trusted proxy cannot choose the id its requests are logged and audited under.
 */
export function requestIdGenerator(trustedProxies: string[]): (req: IncomingMessage) => string {
  const trusted = proxyList(trustedProxies);
  return (req) => {
    const given = req.headers['x-request-id'];
    const peer = req.socket?.remoteAddress;
    if (typeof given === 'string' && ACCEPTABLE_ID.test(given) && peer && isTrusted(trusted, peer)) return given;
    return randomUUID();
  };
}

function proxyList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

function isTrusted(list: BlockList, peer: string): boolean {
  // An IPv4 peer on a dual-stack socket is written ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)?.[1];
  const address = mapped ?? peer;
  return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { get, RequestOptions } from 'node:https';
import * as tls from 'node:tls';
import { isAdminApiUrl, OUTBOUND_HEADERS } from '../../common/outbound-requests';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';

/** Spec 2.5.4 leaves the timeout open; ours keeps a validation answer under 6 s whatever the callback does. */
export const CALLBACK_TIMEOUT_MS = 5000;

export type CallbackOutcome = { ok: true } | { ok: false; reason: string };

/**
 * The pgtUrl handshake (spec 2.5.4): a GET of the callback with `pgtId` and `pgtIou` appended to
 * its own query, over https whose certificate passes verification (chain to a trusted CA, validity,
 * host name), answered by a final 200 within 5 s. Redirects are not followed: a redirect target
 * was never checked against the service's proxy policy, so following it would let an allowed URL
 * send CAS (and the PGT) anywhere.
 */
@Injectable()
export class ProxyCallback {
  private readonly logger = new Logger(ProxyCallback.name);
  private readonly trust: tls.SecureContext;
  private readonly contextPath: string;

  constructor(@Inject(CAS_CONFIG) config: CasConfig) {
    this.contextPath = config.server.contextPath;
    // An explicit CA list replaces Node's default store, NODE_EXTRA_CA_CERTS included (Node 20), so
    // the list is rebuilt in full: Node's defaults (newer Node: getCACertificates, which already
    // holds the extra certificates), NODE_EXTRA_CA_CERTS on older ones, then PROXY_CALLBACK_CA_FILE.
    const withDefaults = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
    const defaults = withDefaults ? withDefaults('default') : [...tls.rootCertificates];
    this.trust = tls.createSecureContext({ ca: [...new Set([...defaults, ...config.proxyCallback.extraCaCertificates])] });
  }

  /** Calls the callback; resolves (never rejects) with whether it accepted the PGT. */
  deliver(pgtUrl: string, pgtId: string, pgtIou: string): Promise<CallbackOutcome> {
    const url = callbackUrl(pgtUrl, pgtId, pgtIou);
    if (url === null) return Promise.resolve({ ok: false, reason: 'not an https URL' });
    // A callback under this server's admin API is never called (see outbound-requests.ts).
    if (isAdminApiUrl(new URL(url), this.contextPath)) {
      this.logger.warn(`proxy callback ${originOf(pgtUrl)} refused: the URL is under this server's admin API`);
      return Promise.resolve({ ok: false, reason: "the URL is under this server's admin API" });
    }
    return new Promise<CallbackOutcome>((resolve) => {
      // secureContext reaches tls.connect (the typings of https.get omit it); agent: false, a fresh
      // connection each time: nothing pooled outlives the 5 s.
      // The outbound mark: the admin guard refuses whatever carries it.
      const options = { agent: false, headers: { ...OUTBOUND_HEADERS }, secureContext: this.trust, signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS) } as RequestOptions;
      const req = get(url, options, (res) => {
        // Only the status matters; the connection is closed without reading the body.
        res.destroy();
        req.destroy();
        resolve(res.statusCode === 200 ? { ok: true } : { ok: false, reason: `HTTP ${res.statusCode}` });
      });
      req.on('error', (e: Error & { code?: string }) => {
        resolve({ ok: false, reason: e.name === 'AbortError' || e.code === 'ABORT_ERR' ? `no answer within ${CALLBACK_TIMEOUT_MS / 1000} s` : (e.code ?? e.message) });
      });
    }).then((outcome) => {
      // The origin only: the URL now carries the PGT.
      if (!outcome.ok) this.logger.warn(`proxy callback ${originOf(pgtUrl)} refused: ${outcome.reason}`);
      return outcome;
    });
  }
}

/**
 * The URL CAS calls: the callback's own query kept as it was written, `pgtId` and `pgtIou` added
 * (both are of the ticket alphabet, nothing to encode), the fragment dropped. Null unless https
 * without user info.
 */
export function callbackUrl(pgtUrl: string, pgtId: string, pgtIou: string): string | null {
  const u = parseCallback(pgtUrl);
  if (!u) return null;
  const hash = u.href.indexOf('#');
  const base = hash >= 0 ? u.href.slice(0, hash) : u.href;
  const sep = !base.includes('?') ? '?' : base.endsWith('&') || base.endsWith('?') ? '' : '&';
  return `${base}${sep}pgtId=${pgtId}&pgtIou=${pgtIou}`;
}

/** The callback as the URL parser reads it, or null unless https without user info. */
export function parseCallback(pgtUrl: string): URL | null {
  let u: URL;
  try {
    u = new URL(pgtUrl);
  } catch {
    return null;
  }
  return u.protocol === 'https:' && !u.username && !u.password ? u : null;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

import type { FastifyInstance } from 'fastify';

/** On every answer: no MIME sniffing, no framing, no Referer to the next site. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** A page may set its own value of one of them (the console's `Referrer-Policy: same-origin`): it is kept. */
export function addSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
    return payload;
  });
}

/**
 * The Content-Security-Policy of a server-rendered page: nothing loads, nothing frames it, no
 * <base>; styles inline, or only the one with `styleNonce`.
 */
export function pagePolicy(styleNonce?: string): string {
  const style = styleNonce ? `style-src 'nonce-${styleNonce}'` : `style-src 'unsafe-inline'`;
  return `default-src 'none'; ${style}; frame-ancestors 'none'; base-uri 'none'`;
}

/**
 * pagePolicy for a page with forms: they post to this server only, unless `extra` names the
 * form-action (the auto-submitted POST to a service); `extra` also says what else the page loads.
 */
export function formPagePolicy(extra = '', styleNonce?: string): string {
  const base = pagePolicy(styleNonce);
  return extra.includes('form-action') ? `${base}; ${extra}` : `${base}; form-action 'self'${extra ? `; ${extra}` : ''}`;
}

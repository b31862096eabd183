import type { FastifyReply } from 'fastify';
import { CasError } from '../../common/cas-error';
import { param, type RawParams } from '../../common/params';
import { buildXml, isXmlName, xmlText, XmlNode } from '../../common/xml';
import type { Attributes } from '../../common/attributes';

const CAS_NS = 'http://www.yale.edu/tp/cas';

export type ResponseFormat = 'XML' | 'JSON';

/**
 * How an endpoint answers a CasError: `cas1` is `/validate`'s `no`, `serviceResponse` the
 * authenticationFailure of the CAS 2.0/3.0 validation endpoints (XML or JSON by `format`),
 * `proxy` the proxyFailure of `/proxy` (XML only).
 */
export type FailureShape = 'cas1' | 'serviceResponse' | 'proxy';

export interface ValidationSuccess {
  user: string;
  /** Present when the endpoint releases attributes (CAS 3.0, or 2.0 with v3 forward compatibility). */
  attributes?: {
    authenticationDate: Date;
    longTermAuthenticationRequestTokenUsed: boolean;
    isFromNewLogin: boolean;
    /**
     * The handler that authenticated the user, released as CAS 7 does: `successfulAuthenticationHandlers`
     * and `authenticationMethod` both carry its name. Null (nothing released) for a session older
     * than the record.
     */
    authenticationHandler: string | null;
    /**
     * The multi-factor providers the session satisfied, released as CAS's `authnContextClass`
     * (its default attribute name), one value each; nothing for a password-only session.
     */
    authnContextClass: string[];
    /** The handlers of the satisfied providers (GoogleAuthenticatorAuthenticationHandler…), after the password's in successfulAuthenticationHandlers. */
    mfaHandlers: string[];
    released: Attributes;
  };
  /** The PGTIOU of the PGT minted for `pgtUrl` (never the PGT: that went to the callback only). */
  proxyGrantingTicket?: string;
  /** PT: the proxies' callback URLs, most recent first. */
  proxies?: string[];
}

export interface Rendered {
  contentType: string;
  body: string;
}

const XML_TYPE = 'application/xml; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

export function renderSuccess(s: ValidationSuccess, format: ResponseFormat): Rendered {
  if (format === 'JSON') {
    const success: Record<string, unknown> = { user: s.user };
    if (s.proxyGrantingTicket) success.proxyGrantingTicket = s.proxyGrantingTicket;
    if (s.proxies?.length) success.proxies = s.proxies.map(xmlText);
    if (s.attributes) success.attributes = jsonAttributes(s.attributes);
    return { contentType: JSON_TYPE, body: JSON.stringify({ serviceResponse: { authenticationSuccess: success } }) };
  }
  const success: XmlNode = { 'cas:user': xmlText(s.user) };
  // Element order is the XSD's: user, attributes, proxyGrantingTicket, proxies.
  if (s.attributes) success['cas:attributes'] = xmlAttributes(s.attributes);
  if (s.proxyGrantingTicket) success['cas:proxyGrantingTicket'] = s.proxyGrantingTicket;
  if (s.proxies?.length) success['cas:proxies'] = { 'cas:proxy': s.proxies.map(xmlText) };
  return {
    contentType: XML_TYPE,
    body: buildXml({ 'cas:serviceResponse': { '@_xmlns:cas': CAS_NS, 'cas:authenticationSuccess': success } }),
  };
}

/** `format` is XML (default) or JSON; any other value is an invalid request answered in XML. */
export function responseFormat(q: RawParams): ResponseFormat {
  const f = param(q, 'format');
  if (f === undefined) return 'XML';
  const upper = f.toUpperCase();
  if (upper === 'XML' || upper === 'JSON') return upper;
  throw new CasError('INVALID_REQUEST', 'Unsupported format; use XML or JSON');
}

/** The one renderer of protocol failures: `e` in the endpoint's shape, given the request's query. */
export function renderCasError(e: CasError, shape: FailureShape, q: RawParams): Rendered {
  if (shape === 'cas1') return renderCas1(null);
  if (shape === 'proxy') return renderProxyFailure(e);
  let format: ResponseFormat = 'XML';
  try {
    format = responseFormat(q);
  } catch {
    // The refusal of the format itself (unsupported or repeated) is answered in XML, the default.
  }
  return renderFailure(e, format);
}

/** Puts a rendered answer's headers on the reply; returns its body, for Nest or the filter to send. */
export function answer(reply: FastifyReply, r: Rendered): string {
  reply.header('content-type', r.contentType);
  reply.header('cache-control', 'no-store');
  return r.body;
}

function renderFailure(e: CasError, format: ResponseFormat): Rendered {
  if (format === 'JSON') {
    return {
      contentType: JSON_TYPE,
      body: JSON.stringify({ serviceResponse: { authenticationFailure: { code: e.code, description: e.message } } }),
    };
  }
  return {
    contentType: XML_TYPE,
    body: buildXml({
      'cas:serviceResponse': {
        '@_xmlns:cas': CAS_NS,
        'cas:authenticationFailure': { '@_code': e.code, '#text': xmlText(e.message) },
      },
    }),
  };
}

/** `/proxy` success (spec 2.7.2). XML only, as CAS answers it. */
export function renderProxySuccess(proxyTicket: string): Rendered {
  return {
    contentType: XML_TYPE,
    body: buildXml({ 'cas:serviceResponse': { '@_xmlns:cas': CAS_NS, 'cas:proxySuccess': { 'cas:proxyTicket': proxyTicket } } }),
  };
}

function renderProxyFailure(e: CasError): Rendered {
  return {
    contentType: XML_TYPE,
    body: buildXml({
      'cas:serviceResponse': { '@_xmlns:cas': CAS_NS, 'cas:proxyFailure': { '@_code': e.code, '#text': xmlText(e.message) } },
    }),
  };
}

/** CAS 1.0 `/validate`: `yes\n<user>\n` or `no\n\n`. */
export function renderCas1(user: string | null): Rendered {
  return { contentType: 'text/plain; charset=utf-8', body: user === null ? 'no\n\n' : `yes\n${user.replace(/[\r\n]/g, '')}\n` };
}

function xmlAttributes(a: NonNullable<ValidationSuccess['attributes']>): XmlNode {
  const node: XmlNode = {
    'cas:authenticationDate': a.authenticationDate.toISOString(),
    'cas:longTermAuthenticationRequestTokenUsed': String(a.longTermAuthenticationRequestTokenUsed),
    'cas:isFromNewLogin': String(a.isFromNewLogin),
  };
  const handlers = successfulHandlers(a);
  if (handlers.length) node['cas:successfulAuthenticationHandlers'] = handlers.length === 1 ? xmlText(handlers[0]) : handlers.map(xmlText);
  if (a.authenticationHandler !== null) node['cas:authenticationMethod'] = xmlText(a.authenticationHandler);
  if (a.authnContextClass.length) node['cas:authnContextClass'] = a.authnContextClass.map(xmlText);
  // Names that are not valid XML element names are skipped rather than emitted raw (T4).
  for (const [name, values] of Object.entries(a.released)) {
    if (!isXmlName(name) || `cas:${name}` in node) continue;
    node[`cas:${name}`] = values.map(xmlText);
  }
  return node;
}

/** JSON attribute values are always arrays, as CAS emits them (apereo/cas#2654). */
function jsonAttributes(a: NonNullable<ValidationSuccess['attributes']>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {
    authenticationDate: [a.authenticationDate.toISOString()],
    longTermAuthenticationRequestTokenUsed: [a.longTermAuthenticationRequestTokenUsed],
    isFromNewLogin: [a.isFromNewLogin],
  };
  const handlers = successfulHandlers(a);
  if (handlers.length) out.successfulAuthenticationHandlers = handlers.map(xmlText);
  if (a.authenticationHandler !== null) out.authenticationMethod = [xmlText(a.authenticationHandler)];
  if (a.authnContextClass.length) out.authnContextClass = a.authnContextClass.map(xmlText);
  for (const [name, values] of Object.entries(a.released)) {
    if (!isXmlName(name) || name in out) continue;
    out[name] = values.map(xmlText);
  }
  return out;
}

/**
 * The password's handler, then each satisfied provider's, once each: CAS keeps them in a set, so a
 * passkey login (WebAuthnAuthenticationHandler as the first factor and as mfa-webauthn) names it once.
 */
function successfulHandlers(a: { authenticationHandler: string | null; mfaHandlers: string[] }): string[] {
  return [...new Set([...(a.authenticationHandler === null ? [] : [a.authenticationHandler]), ...a.mfaHandlers])];
}

import { CasError } from '../../common/cas-error';
import { parseServiceDefinition, RegisteredService } from '../../services/registered-service';
import {
  acceptedTicket,
  checkProxyCallback,
  checkProxyGrantingTicketForm,
  checkProxyTargetAccess,
  proxyTarget,
  ServiceLookup,
  ticketTypeRefusal,
  validatedTicketType,
} from './validation-rules';

const ST = `ST-${'a'.repeat(32)}`;
const PT = `PT-${'b'.repeat(32)}`;
const PGT = `PGT-${'c'.repeat(32)}`;
const TGT = `TGT-${'d'.repeat(32)}`;
const APP = 'https://app.example.org/path?x=1';

const definition = (id: number, host: string, extra: Record<string, unknown> = {}): RegisteredService =>
  parseServiceDefinition({ '@class': 'org.apereo.cas.services.CasRegisteredService', id, name: host, serviceId: `^https://${host.replace(/\./g, '\\.')}/.*`, ...extra });
const callbacks = (pattern: string) => ({ proxyPolicy: { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern } });
const APP_SERVICE = definition(1, 'app.example.org');

/** The registry's answer for exactly these URLs, and null for any other: what the rules ask, and with which URL, is visible. */
const lookup = (known: Record<string, RegisteredService>): ServiceLookup & { asked: string[] } => {
  const asked: string[] = [];
  return { asked, authorized: (url) => (asked.push(url), known[url] ?? null) };
};

/** The CasError `f` throws, as the client would see it (code and description). */
const refusal = (f: () => unknown): { code: string; message: string } => {
  try {
    f();
  } catch (e) {
    if (e instanceof CasError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a CasError, nothing was thrown');
};

describe('validatedTicketType: which values may cost a query', () => {
  it.each([
    ['case=service ticket', ST, 'ST'],
    ['case=proxy ticket', PT, 'PT'],
  ])('%s is validated as its type', (_case, ticket, type) => {
    expect(validatedTicketType(ticket)).toBe(type);
  });

  it.each([
    ['case=ticket-granting ticket', TGT],
    ['case=proxy-granting ticket', PGT],
    ['case=unknown prefix', `XT-${'a'.repeat(32)}`],
    ['case=too short', 'ST-abc'],
    ['case=outside the ticket alphabet', `ST-${'a'.repeat(30)}<>`],
  ])('%s is INVALID_TICKET "not recognized"', (_case, ticket) => {
    expect(refusal(() => validatedTicketType(ticket))).toEqual({ code: 'INVALID_TICKET', message: `Ticket '${ticket}' not recognized` });
  });

  it('case=long value: the description echoes 64 characters of it, never the whole', () => {
    const ticket = `ST-${'a'.repeat(300)}`;
    expect(refusal(() => validatedTicketType(ticket)).message).toBe(`Ticket '${ticket.slice(0, 64)}…' not recognized`);
  });
});

describe('ticketTypeRefusal: the ticket types each endpoint accepts', () => {
  it('case=ST at an ST-only endpoint (/validate, /serviceValidate) is accepted', () => {
    expect(ticketTypeRefusal(ST, 'ST', ['ST'])).toBeNull();
  });

  it('case=PT at an ST-only endpoint is refused as a proxy ticket', () => {
    const e = ticketTypeRefusal(PT, 'PT', ['ST']);
    expect({ code: e?.code, message: e?.message }).toEqual({ code: 'INVALID_TICKET', message: `Ticket '${PT}' not recognized (a proxy ticket is not accepted here)` });
  });

  it('case=ST and PT at /proxyValidate are both accepted', () => {
    expect(ticketTypeRefusal(ST, 'ST', ['ST', 'PT'])).toBeNull();
    expect(ticketTypeRefusal(PT, 'PT', ['ST', 'PT'])).toBeNull();
  });
});

describe('acceptedTicket: service match, registration, renew — in that order', () => {
  const issued = { service: APP, fromNewLogin: true };
  const request = (service: string, renew = false) => ({ ticket: ST, service, renew });

  it.each([
    ['case=same URL', APP],
    ['case=other letter case', 'HTTPS://APP.example.org/PATH?X=1'],
    ['case=percent-encoded', 'https://app.example.org/pa%74h?x=1'],
    ['case=with a fragment', `${APP}#section`],
  ])('%s matches after normalisation, and the registration of the issued-for URL is what counts', (_case, presented) => {
    const services = lookup({ [APP]: APP_SERVICE });
    expect(acceptedTicket(issued, request(presented), services)).toBe(APP_SERVICE);
    expect(services.asked).toEqual([APP]);
  });

  it.each([
    ['case=trailing slash', 'https://app.example.org/path/?x=1'],
    ['case=other host', 'https://other.example.org/path?x=1'],
    ['case=other query', 'https://app.example.org/path?x=2'],
  ])('%s is INVALID_SERVICE naming both URLs, before the registry is asked', (_case, presented) => {
    const services = lookup({ [APP]: APP_SERVICE });
    expect(refusal(() => acceptedTicket(issued, request(presented), services))).toEqual({
      code: 'INVALID_SERVICE',
      message: `Ticket '${ST}' does not match supplied service. The original service was '${APP}' and the supplied service was '${presented}'.`,
    });
    expect(services.asked).toEqual([]);
  });

  it('case=issued-for service no longer registered or disabled is UNAUTHORIZED_SERVICE, even with renew unmet', () => {
    expect(refusal(() => acceptedTicket({ service: APP, fromNewLogin: false }, request(APP, true), lookup({})))).toEqual({
      code: 'UNAUTHORIZED_SERVICE',
      message: `Service '${APP}' is not authorized to use CAS`,
    });
  });

  it('case=renew with an SSO ticket is INVALID_TICKET', () => {
    expect(refusal(() => acceptedTicket({ service: APP, fromNewLogin: false }, request(APP, true), lookup({ [APP]: APP_SERVICE })))).toEqual({
      code: 'INVALID_TICKET',
      message: `Ticket '${ST}' was not issued from a credential login as renew requires`,
    });
  });

  it('case=renew with a ticket from a credential login, or no renew with an SSO ticket, is accepted', () => {
    expect(acceptedTicket({ service: APP, fromNewLogin: true }, request(APP, true), lookup({ [APP]: APP_SERVICE }))).toBe(APP_SERVICE);
    expect(acceptedTicket({ service: APP, fromNewLogin: false }, request(APP, false), lookup({ [APP]: APP_SERVICE }))).toBe(APP_SERVICE);
  });
});

describe('checkProxyCallback: may this service send a PGT to this pgtUrl', () => {
  const proxying = definition(2, 'front.example.org', callbacks('^https://cb\\.example\\.org/ok/.*'));
  const check = (s: RegisteredService, pgtUrl: string) => refusal(() => checkProxyCallback('https://front.example.org/', s.proxyPolicy, pgtUrl));
  const unauthorized = { code: 'UNAUTHORIZED_SERVICE_PROXY', message: "The supplied service 'https://front.example.org/' is not authorized to use CAS proxy authentication." };
  const unauthenticated = (pgtUrl: string) => ({ code: 'INVALID_PROXY_CALLBACK', message: `The supplied proxy callback url '${pgtUrl}' could not be authenticated.` });

  it('case=allowed https callback passes', () => {
    expect(() => checkProxyCallback('https://front.example.org/', proxying.proxyPolicy, 'https://cb.example.org/ok/pgt')).not.toThrow();
  });

  it('case=service without a proxy policy (CAS default: refuse) is UNAUTHORIZED_SERVICE_PROXY, whatever the URL', () => {
    expect(check(APP_SERVICE, 'https://cb.example.org/ok/pgt')).toEqual(unauthorized);
    expect(check(APP_SERVICE, 'http://cb.example.org/ok/pgt')).toEqual(unauthorized);
  });

  it.each([
    ['case=plain http', 'http://cb.example.org/ok/pgt'],
    ['case=user info', 'https://user:pw@cb.example.org/ok/pgt'],
    ['case=no URL at all', 'not a url'],
  ])('%s is INVALID_PROXY_CALLBACK before the pattern is consulted', (_case, pgtUrl) => {
    expect(check(proxying, pgtUrl)).toEqual(unauthenticated(pgtUrl));
  });

  it.each([
    ['case=outside the pattern', 'https://evil.example.org/ok/pgt'],
    ['case=matches as written, not as the request would go', 'https://cb.example.org/ok/../admin'],
  ])('%s is UNAUTHORIZED_SERVICE_PROXY', (_case, pgtUrl) => {
    expect(check(proxying, pgtUrl)).toEqual(unauthorized);
  });
});

describe('/proxy rules: the PGT form, the target service and its access rules', () => {
  const BACKEND = 'https://backend.example.org/api';
  const backend = definition(3, 'backend.example.org', {
    accessStrategy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
      requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['staff']] },
    },
  });
  const noSso = definition(4, 'nosso.example.org', { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', ssoEnabled: false } });
  const denied = (target: string) => ({ code: 'UNAUTHORIZED_SERVICE', message: `Service '${target}' is not authorized to use CAS proxy tickets` });

  it('case=PGT form passes; an ST, PT or TGT is INVALID_TICKET without a query', () => {
    expect(() => checkProxyGrantingTicketForm(PGT)).not.toThrow();
    for (const ticket of [ST, PT, TGT, 'PGT-short']) {
      expect(refusal(() => checkProxyGrantingTicketForm(ticket))).toEqual({ code: 'INVALID_TICKET', message: 'Proxy-granting ticket not recognized' });
    }
  });

  it('case=registered target in SSO is the service the PT is issued for', () => {
    expect(proxyTarget(BACKEND, lookup({ [BACKEND]: backend }))).toBe(backend);
  });

  it('case=unregistered or disabled target is UNAUTHORIZED_SERVICE', () => {
    expect(refusal(() => proxyTarget(BACKEND, lookup({})))).toEqual(denied(BACKEND));
  });

  it('case=target out of SSO is UNAUTHORIZED_SERVICE', () => {
    const url = 'https://nosso.example.org/';
    expect(refusal(() => proxyTarget(url, lookup({ [url]: noSso })))).toEqual(denied(url));
  });

  it('case=target that is no usable URL is UNAUTHORIZED_SERVICE without asking the registry', () => {
    const services = lookup({});
    for (const url of ['javascript:alert(1)', 'https://[x]/', `${BACKEND}\r\nX: y`]) {
      expect(refusal(() => proxyTarget(url, services))).toEqual(denied(url));
    }
    expect(services.asked).toEqual([]);
  });

  it("case=target's access rules decide on the session's attributes", () => {
    expect(() => checkProxyTargetAccess(BACKEND, backend, { memberOf: ['staff'] })).not.toThrow();
    expect(refusal(() => checkProxyTargetAccess(BACKEND, backend, { memberOf: ['students'] }))).toEqual(denied(BACKEND));
    expect(refusal(() => checkProxyTargetAccess(BACKEND, backend, {}))).toEqual(denied(BACKEND));
  });
});

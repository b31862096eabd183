import { CasError, echo } from '../../common/cas-error';
import type { Attributes } from '../../common/attributes';
import { MFA_PROVIDER_IDS, type MfaTriggerConfig } from '../../config/mfa-config';
import { attributesAllowed } from '../../services/access-strategy';
import { requiredMultifactor, satisfiedBy } from '../../services/multifactor-policy';
import { proxyCallbackAllowed, type ProxyPolicy, type RegisteredService } from '../../services/registered-service';
import { sameService } from '../../services/service-matching';
import { isUsableServiceUrl } from '../../services/service-url';
import { parseTicketId, type TicketType } from '../ticket-ids';
import { parseCallback } from './proxy-callback';

/**
 * The decisions of ticket validation and `/proxy` (CAS protocol 2.5–2.7), without I/O: each
 * returns what the next step needs or throws the CasError CAS answers. TicketValidationService
 * calls them in CAS's order, around the steps that touch the registry or a callback.
 */

/** The registry lookup the rules need (ServiceRegistry's): the registered, enabled service for a URL, or null. */
export interface ServiceLookup {
  authorized(url: string): RegisteredService | null;
}

export function ticketNotRecognized(ticket: string): CasError {
  return new CasError('INVALID_TICKET', `Ticket '${echo(ticket)}' not recognized`);
}

/** The type of a presented ticket, from its form: anything but an ST or a PT (a TGT, a PGT) is refused without a query. */
export function validatedTicketType(ticket: string): 'ST' | 'PT' {
  const type = parseTicketId(ticket);
  if (type !== 'ST' && type !== 'PT') throw ticketNotRecognized(ticket);
  return type;
}

/** Why an endpoint refuses a ticket type it does not accept (a PT at /validate or /serviceValidate), or null. */
export function ticketTypeRefusal(ticket: string, type: TicketType, accept: TicketType[]): CasError | null {
  return accept.includes(type) ? null : new CasError('INVALID_TICKET', `Ticket '${echo(ticket)}' not recognized (a proxy ticket is not accepted here)`);
}

/**
 * A live ticket the request consumed, checked in CAS's order: the presented service matches the
 * one it was issued for (service-matching.ts), that service is still registered and enabled (the
 * presented URL only has to match it, e.g. in letter case, which a registry pattern may not
 * allow), and renew needs a ticket from a credential login. Returns the registered service.
 */
export function acceptedTicket(
  t: { service: string; fromNewLogin: boolean },
  r: { ticket: string; service: string; renew: boolean },
  services: ServiceLookup,
): RegisteredService {
  if (!sameService(t.service, r.service)) {
    throw new CasError(
      'INVALID_SERVICE',
      `Ticket '${echo(r.ticket)}' does not match supplied service. The original service was '${echo(t.service)}' and the supplied service was '${echo(r.service)}'.`,
    );
  }
  const registered = services.authorized(t.service);
  if (!registered) throw new CasError('UNAUTHORIZED_SERVICE', `Service '${echo(t.service)}' is not authorized to use CAS`);
  if (r.renew && !t.fromNewLogin) {
    throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' was not issued from a credential login as renew requires`);
  }
  return registered;
}

/**
 * The session behind a ticket (or a PGT asking `/proxy`) must satisfy the multi-factor providers
 * the service needs, as /login decided them (services/multifactor-policy.ts, without the request's
 * authn_method, which only /login sees): else INVALID_AUTHENTICATION_CONTEXT, CAS's code
 * (UnsatisfiedAuthenticationContextTicketValidationException). It catches what /login cannot: a
 * policy added to the service after the ticket was granted, a PT for a target that needs a factor
 * the root session lacks. A bypass (the service's rules, on the session's attributes) passes; so
 * does failure mode OPEN, which by definition lets a login through without the factor when the
 * provider cannot run (PHANTOM recorded its provider in the session, so it passes as satisfied).
 * forceExecution is /login's business: the session has the factor, which is what a ticket needs.
 */
export function checkAuthenticationContext(
  session: { attributes: Attributes; factors: Record<string, unknown> },
  service: string,
  registered: RegisteredService,
  triggers: MfaTriggerConfig,
): void {
  const requirement = requiredMultifactor({ triggers, knownProviders: MFA_PROVIDER_IDS, policy: registered.multifactorPolicy, attributes: session.attributes });
  if (!requirement || satisfiedBy(requirement, session.factors) || requirement.failureMode === 'OPEN') return;
  throw new CasError(
    'INVALID_AUTHENTICATION_CONTEXT',
    `Service '${echo(service)}' requires multi-factor authentication (${requirement.providers.join(' or ')}) that the session did not satisfy`,
  );
}

export function proxyCallbackNotAuthenticated(pgtUrl: string): CasError {
  return new CasError('INVALID_PROXY_CALLBACK', `The supplied proxy callback url '${echo(pgtUrl)}' could not be authenticated.`);
}

/**
 * Whether `service` may send a PGT to `pgtUrl`, before any request: the service may proxy at all
 * (else UNAUTHORIZED_SERVICE_PROXY), the callback is https without user info (else
 * INVALID_PROXY_CALLBACK), and the policy's pattern allows it as written and as the URL parser,
 * hence the request, reads it (else UNAUTHORIZED_SERVICE_PROXY).
 */
export function checkProxyCallback(service: string, policy: ProxyPolicy, pgtUrl: string): void {
  const refused = () => new CasError('UNAUTHORIZED_SERVICE_PROXY', `The supplied service '${echo(service)}' is not authorized to use CAS proxy authentication.`);
  if (policy.kind === 'refuse') throw refused();
  const parsed = parseCallback(pgtUrl);
  if (!parsed) throw proxyCallbackNotAuthenticated(pgtUrl);
  if (!proxyCallbackAllowed(policy, pgtUrl) || !proxyCallbackAllowed(policy, parsed.href)) throw refused();
}

/** INVALID_TICKET for an unknown, expired or logged-out PGT (CAS's code; the CAS 2.0 spec's BAD_PGT is not in 3.0). */
export function proxyGrantingTicketNotRecognized(): CasError {
  return new CasError('INVALID_TICKET', 'Proxy-granting ticket not recognized');
}

/** A `/proxy` pgt must have a PGT's form before it costs a query. */
export function checkProxyGrantingTicketForm(pgt: string): void {
  if (parseTicketId(pgt) !== 'PGT') throw proxyGrantingTicketNotRecognized();
}

/**
 * The registered service a PT may be issued for: a usable URL (else refused like an unregistered
 * one, as /login refuses it), registered, enabled and in SSO. UNAUTHORIZED_SERVICE is the spec's
 * code, where CAS says UNAUTHORIZED_SERVICE_PROXY.
 */
export function proxyTarget(targetService: string, services: ServiceLookup): RegisteredService {
  const target = isUsableServiceUrl(targetService) ? services.authorized(targetService) : null;
  if (!target || !target.ssoEnabled) throw proxyTargetDenied(targetService);
  return target;
}

/** The target's access rules must admit the session's principal attributes. */
export function checkProxyTargetAccess(targetService: string, target: RegisteredService, attributes: Attributes): void {
  if (!attributesAllowed(target.access, attributes)) throw proxyTargetDenied(targetService);
}

function proxyTargetDenied(targetService: string): CasError {
  return new CasError('UNAUTHORIZED_SERVICE', `Service '${echo(targetService)}' is not authorized to use CAS proxy tickets`);
}

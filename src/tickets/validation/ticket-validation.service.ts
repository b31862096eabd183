import { Inject, Injectable } from '@nestjs/common';
import { CasError, echo } from '../../common/cas-error';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { attributesAllowed } from '../../services/access-strategy';
import { releaseAttributes } from '../../services/attribute-release';
import { proxyCallbackAllowed, RegisteredService } from '../../services/registered-service';
import { ServiceRegistry } from '../../services/service-registry';
import { sameService } from '../../services/service-matching';
import { isUsableServiceUrl } from '../../services/service-url';
import { POLICY_DEFAULTS, type PolicyDefaults, resolveProxyTicketPolicy } from '../../services/ticket-policy';
import { SessionTerminator } from '../session-terminator';
import { newProxyGrantingTicketIou, newTicketId, parseTicketId, TicketType } from '../ticket-ids';
import { ConsumedTicket, TicketRegistry } from '../ticket-registry';
import { parseCallback, ProxyCallback } from './proxy-callback';
import type { ValidationSuccess } from './validation-response';

export interface ValidationRequest {
  service: string;
  ticket: string;
  renew: boolean;
  pgtUrl?: string;
  /** Ticket types the endpoint accepts: ST only, or ST and PT for the proxyValidate endpoints. */
  accept: TicketType[];
  releaseAttributes: boolean;
}

/** Ticket validation rules of CAS protocol 2.5–2.7 (validation, PGT callback, `/proxy`), in CAS's order of checks. */
@Injectable()
export class TicketValidationService {
  constructor(
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    private readonly callback: ProxyCallback,
    private readonly terminator: SessionTerminator,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    @Inject(POLICY_DEFAULTS) private readonly defaults: PolicyDefaults,
  ) {}

  async validate(r: ValidationRequest): Promise<ValidationSuccess> {
    const type = parseTicketId(r.ticket);
    // A value that cannot be a ticket we issued, or a TGT/PGT, costs no query.
    if (type !== 'ST' && type !== 'PT') throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' not recognized`);
    if (!r.accept.includes(type)) {
      // A PT at /validate or /serviceValidate is a validation attempt like any (spec 3.2.1): spent, then refused.
      await this.tickets.consumeServiceTicket(r.ticket, [type]);
      throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' not recognized (a proxy ticket is not accepted here)`);
    }
    // Consumed before any other check: a failed validation burns the ticket too (spec 2.5.3).
    const t = await this.tickets.consumeServiceTicket(r.ticket, r.accept);
    if (t && !t.live) {
      // The ticket or its session had expired. A session found expired during a request is ended
      // as the cleaner would end it (single logout, once); a live session is left alone.
      await this.terminator.endIfExpired(t.sessionId);
    }
    if (!t || !t.live) throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' not recognized`);
    if (!sameService(t.service, r.service)) {
      throw new CasError(
        'INVALID_SERVICE',
        `Ticket '${echo(r.ticket)}' does not match supplied service. The original service was '${echo(t.service)}' and the supplied service was '${echo(r.service)}'.`,
      );
    }
    // The service the ticket was issued for must still be registered and enabled (the presented
    // URL only has to match it, e.g. in letter case, which a registry pattern may not allow).
    const registered = this.services.authorized(t.service);
    if (!registered) throw new CasError('UNAUTHORIZED_SERVICE', `Service '${echo(t.service)}' is not authorized to use CAS`);
    if (r.renew && !t.fromNewLogin) {
      throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' was not issued from a credential login as renew requires`);
    }
    const proxyGrantingTicket = r.pgtUrl === undefined ? undefined : await this.mintProxyGrantingTicket(t, registered, r.pgtUrl);
    return {
      user: t.principal,
      attributes: r.releaseAttributes
        ? {
            authenticationDate: t.authenticatedAt,
            longTermAuthenticationRequestTokenUsed: t.rememberMe,
            isFromNewLogin: t.fromNewLogin,
            released: releaseAttributes(registered.attributeRelease, t.attributes),
          }
        : undefined,
      proxyGrantingTicket,
      proxies: t.proxies,
    };
  }

  /**
   * The pgtUrl handshake for a ticket that passed validation; returns the PGTIOU. Checks, in this
   * order: the service may proxy at all (else UNAUTHORIZED_SERVICE_PROXY), the callback is an
   * https URL (else INVALID_PROXY_CALLBACK, without any request), the policy's pattern allows it
   * (else UNAUTHORIZED_SERVICE_PROXY), then the callback accepts the PGT (else
   * INVALID_PROXY_CALLBACK). The PGT is stored only after that 200, so a failure leaves none.
   */
  private async mintProxyGrantingTicket(t: ConsumedTicket, registered: RegisteredService, pgtUrl: string): Promise<string> {
    const refused = new CasError('UNAUTHORIZED_SERVICE_PROXY', `The supplied service '${echo(t.service)}' is not authorized to use CAS proxy authentication.`);
    const unauthenticated = new CasError('INVALID_PROXY_CALLBACK', `The supplied proxy callback url '${echo(pgtUrl)}' could not be authenticated.`);
    if (registered.proxyPolicy.kind === 'refuse') throw refused;
    const parsed = parseCallback(pgtUrl);
    if (!parsed) throw unauthenticated;
    // The pattern must hold for the URL as written and as the URL parser (hence the request) reads it.
    if (!proxyCallbackAllowed(registered.proxyPolicy, pgtUrl) || !proxyCallbackAllowed(registered.proxyPolicy, parsed.href)) throw refused;
    const pgtId = newTicketId('PGT');
    const iou = newProxyGrantingTicketIou();
    if (!(await this.callback.deliver(pgtUrl, pgtId, iou)).ok) throw unauthenticated;
    if (!(await this.tickets.grantProxyGrantingTicket(t, pgtId, pgtUrl))) {
      throw new CasError('INVALID_TICKET', `Ticket '${echo(t.id)}' cannot grant a proxy-granting ticket: its session ended, or it granted one already`);
    }
    return iou;
  }

  /**
   * `/proxy` (spec 2.7): a PT for `targetService` from a live PGT. Codes: INVALID_TICKET for an
   * unknown, expired or logged-out PGT (CAS's code; the CAS 2.0 spec's BAD_PGT is not in 3.0),
   * UNAUTHORIZED_SERVICE for a target that is not registered, disabled, out of SSO or closed to
   * the user (the spec's code, where CAS says UNAUTHORIZED_SERVICE_PROXY).
   */
  async grantProxyTicket(pgt: string, targetService: string): Promise<string> {
    const unknown = new CasError('INVALID_TICKET', 'Proxy-granting ticket not recognized');
    if (parseTicketId(pgt) !== 'PGT') throw unknown;
    // A target that is no usable URL is refused like an unregistered one, as /login refuses it.
    const target = isUsableServiceUrl(targetService) ? this.services.authorized(targetService) : null;
    const denied = new CasError('UNAUTHORIZED_SERVICE', `Service '${echo(targetService)}' is not authorized to use CAS proxy tickets`);
    if (!target || !target.ssoEnabled) throw denied;
    const found = await this.tickets.findProxyGrantingTicket(pgt);
    if (!found) throw unknown;
    if (!attributesAllowed(target.access, found.attributes)) throw denied;
    const pt = await this.tickets.grantProxyTicket(pgt, {
      service: targetService,
      registeredServiceId: target.id,
      policy: resolveProxyTicketPolicy(this.defaults, target),
    });
    if (!pt) throw unknown;
    return pt;
  }

  /** CAS 2.0 `/serviceValidate` answers with attributes only with v3 forward compatibility (CAS 7 default: on). */
  get cas2ReleasesAttributes(): boolean {
    return this.config.view.cas2V3ForwardCompatible;
  }
}

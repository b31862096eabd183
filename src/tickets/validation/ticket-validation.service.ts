import { Inject, Injectable } from '@nestjs/common';
import { CasError, echo } from '../../common/cas-error';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { releaseAttributes } from '../../services/attribute-release';
import { RegisteredService } from '../../services/registered-service';
import { ServiceRegistry } from '../../services/service-registry';
import { POLICY_DEFAULTS, type PolicyDefaults, resolveProxyTicketPolicy } from '../../services/ticket-policy';
import { SessionTerminator } from '../logout/session-terminator';
import { newProxyGrantingTicketIou, newTicketId, TicketType } from '../ticket-ids';
import { ConsumedTicket, TicketRegistry } from '../ticket-registry';
import { ProxyCallback } from './proxy-callback';
import type { ValidationSuccess } from './validation-response';
import {
  acceptedTicket,
  checkAuthenticationContext,
  checkProxyCallback,
  checkProxyGrantingTicketForm,
  checkProxyTargetAccess,
  proxyCallbackNotAuthenticated,
  proxyGrantingTicketNotRecognized,
  proxyTarget,
  ticketNotRecognized,
  ticketTypeRefusal,
  validatedTicketType,
} from './validation-rules';

export interface ValidationRequest {
  service: string;
  ticket: string;
  renew: boolean;
  pgtUrl?: string;
  /** Ticket types the endpoint accepts: ST only, or ST and PT for the proxyValidate endpoints. */
  accept: TicketType[];
  releaseAttributes: boolean;
}

/**
 * Ticket validation of CAS protocol 2.5–2.7 (validation, PGT callback, `/proxy`): the rules of
 * validation-rules.ts in CAS's order of checks, around the registry and the callback.
 */
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
    const type = validatedTicketType(r.ticket);
    const refusal = ticketTypeRefusal(r.ticket, type, r.accept);
    if (refusal) {
      // A PT at /validate or /serviceValidate is a validation attempt like any (spec 3.2.1): spent, then refused.
      await this.tickets.consumeServiceTicket(r.ticket, [type]);
      throw refusal;
    }
    // Consumed before any other check: a failed validation burns the ticket too (spec 2.5.3).
    const t = await this.tickets.consumeServiceTicket(r.ticket, r.accept);
    if (t && !t.live) {
      // The ticket or its session had expired. A session found expired during a request is ended
      // as the cleaner would end it (single logout, once); a live session is left alone.
      await this.terminator.endIfExpired(t.sessionId);
    }
    if (!t || !t.live) throw ticketNotRecognized(r.ticket);
    const registered = acceptedTicket(t, r, this.services);
    checkAuthenticationContext(t, t.service, registered, this.config.mfa.triggers);
    const proxyGrantingTicket = r.pgtUrl === undefined ? undefined : await this.mintProxyGrantingTicket(t, registered, r.pgtUrl);
    return {
      user: t.principal,
      attributes: r.releaseAttributes
        ? {
            authenticationDate: t.authenticatedAt,
            longTermAuthenticationRequestTokenUsed: t.rememberMe,
            isFromNewLogin: t.fromNewLogin,
            authenticationHandler: t.authenticationHandler,
            authnContextClass: Object.keys(t.factors).sort(),
            mfaHandlers: mfaHandlerNames(t.factors),
            released: releaseAttributes(registered.attributeRelease, t.attributes),
          }
        : undefined,
      proxyGrantingTicket,
      proxies: t.proxies,
    };
  }

  /**
   * The pgtUrl handshake for a ticket that passed validation; returns the PGTIOU. The callback is
   * checked first (checkProxyCallback, without any request), then must accept the PGT (else
   * INVALID_PROXY_CALLBACK). The PGT is stored only after that 200, so a failure leaves none.
   */
  private async mintProxyGrantingTicket(t: ConsumedTicket, registered: RegisteredService, pgtUrl: string): Promise<string> {
    checkProxyCallback(t.service, registered.proxyPolicy, pgtUrl);
    const pgtId = newTicketId('PGT');
    const iou = newProxyGrantingTicketIou();
    if (!(await this.callback.deliver(pgtUrl, pgtId, iou)).ok) throw proxyCallbackNotAuthenticated(pgtUrl);
    if (!(await this.tickets.grantProxyGrantingTicket(t, pgtId, pgtUrl))) {
      throw new CasError('INVALID_TICKET', `Ticket '${echo(t.id)}' cannot grant a proxy-granting ticket: its session ended, or it granted one already`);
    }
    return iou;
  }

  /**
   * `/proxy` (spec 2.7): a PT for `targetService` from a live PGT. Codes: INVALID_TICKET for an
   * unknown, expired or logged-out PGT, UNAUTHORIZED_SERVICE for a target that is not registered,
   * disabled, out of SSO or closed to the user (validation-rules.ts).
   */
  async grantProxyTicket(pgt: string, targetService: string): Promise<string> {
    checkProxyGrantingTicketForm(pgt);
    const target = proxyTarget(targetService, this.services);
    const found = await this.tickets.findProxyGrantingTicket(pgt);
    if (!found) throw proxyGrantingTicketNotRecognized();
    checkProxyTargetAccess(targetService, target, found.attributes);
    checkAuthenticationContext(found, targetService, target, this.config.mfa.triggers);
    const pt = await this.tickets.grantProxyTicket(pgt, {
      service: targetService,
      registeredServiceId: target.id,
      policy: resolveProxyTicketPolicy(this.defaults, target),
    });
    if (!pt) throw proxyGrantingTicketNotRecognized();
    return pt;
  }

  /** CAS 2.0 `/serviceValidate` answers with attributes only with v3 forward compatibility (CAS 7 default: on). */
  get cas2ReleasesAttributes(): boolean {
    return this.config.view.cas2V3ForwardCompatible;
  }
}

/**
 * The authentication handler of each satisfied provider, by CAS's names, released beside the
 * password's in `successfulAuthenticationHandlers` as CAS does after MFA.
 */
const MFA_HANDLERS: Record<string, string> = {
  'mfa-gauth': 'GoogleAuthenticatorAuthenticationHandler',
  'mfa-webauthn': 'WebAuthnAuthenticationHandler',
};

function mfaHandlerNames(factors: Record<string, unknown>): string[] {
  return Object.keys(factors).sort().map((p) => MFA_HANDLERS[p] ?? p);
}

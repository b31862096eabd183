import { Inject, Injectable } from '@nestjs/common';
import { CasError, echo } from '../common/cas-error';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { releaseAttributes } from '../services/attribute-release';
import { ServiceRegistry } from '../services/service-registry';
import { sameService } from '../services/service-matching';
import { parseTicketId, TicketType } from './ticket-ids';
import { TicketRegistry } from './ticket-registry';
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

/** Ticket validation rules of CAS protocol 2.5–2.6, in CAS's order of checks. */
@Injectable()
export class TicketValidationService {
  constructor(
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  async validate(r: ValidationRequest): Promise<ValidationSuccess> {
    const type = parseTicketId(r.ticket);
    // A value that cannot be a ticket we issued, or a type this endpoint refuses, costs no query.
    if (type === null || !r.accept.includes(type)) {
      const why = type === 'PT' ? ' (a proxy ticket is not accepted here)' : '';
      throw new CasError('INVALID_TICKET', `Ticket '${echo(r.ticket)}' not recognized${why}`);
    }
    // Consumed before any other check: a failed validation burns the ticket too (spec 2.5.3).
    const t = await this.tickets.consumeServiceTicket(r.ticket, r.accept);
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
    if (r.pgtUrl !== undefined) {
      // Proxy policies are not supported yet, so every service has CAS's default RefuseRegisteredServiceProxyPolicy.
      throw new CasError('UNAUTHORIZED_SERVICE_PROXY', `Service '${echo(r.service)}' is not authorized to use CAS proxy authentication`);
    }
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
    };
  }

  /** CAS 2.0 `/serviceValidate` answers with attributes only with v3 forward compatibility (CAS 7 default: on). */
  get cas2ReleasesAttributes(): boolean {
    return this.config.view.cas2V3ForwardCompatible;
  }
}

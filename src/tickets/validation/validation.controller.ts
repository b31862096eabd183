import { Controller, Query, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CasError } from '../../common/cas-error';
import { flag, param, type RawParams } from '../../common/params';
import { CasMetrics } from '../../metrics/cas-metrics';
import { TicketType } from '../ticket-ids';
import { CasErrorFilter, countValidation, ProtocolGet } from './cas-error.filter';
import { TicketValidationService } from './ticket-validation.service';
import { answer, renderCas1, renderProxySuccess, renderSuccess, responseFormat } from './validation-response';

const ST_ONLY: TicketType[] = ['ST'];
const ST_OR_PT: TicketType[] = ['ST', 'PT'];

/**
 * CAS validation endpoints. Every answer is HTTP 200 with a protocol body: handlers render
 * success; every CasError they (or the parameter parsers) raise is rendered by CasErrorFilter in
 * the shape the route names. Anything else is the global filter's 500, never a stack trace.
 */
@Controller()
@UseFilters(CasErrorFilter)
export class ValidationController {
  constructor(
    private readonly validation: TicketValidationService,
    private readonly metrics: CasMetrics,
  ) {}

  @ProtocolGet('validate', 'cas1')
  async validateCas1(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { user } = await this.validation.validate({ ...ticketParams(q), accept: ST_ONLY, releaseAttributes: false });
    countValidation(this.metrics, reply.request, 'SUCCESS');
    return answer(reply, renderCas1(user));
  }

  @ProtocolGet('serviceValidate', 'serviceResponse')
  serviceValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_ONLY, this.validation.cas2ReleasesAttributes);
  }

  @ProtocolGet('proxyValidate', 'serviceResponse')
  proxyValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_OR_PT, this.validation.cas2ReleasesAttributes);
  }

  @ProtocolGet('p3/serviceValidate', 'serviceResponse')
  p3ServiceValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_ONLY, true);
  }

  @ProtocolGet('p3/proxyValidate', 'serviceResponse')
  p3ProxyValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_OR_PT, true);
  }

  /** `/proxy`: a proxy ticket for `targetService` from a PGT; always XML, as CAS answers it. */
  @ProtocolGet('proxy', 'proxy')
  async proxy(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { pgt, targetService } = proxyParams(q);
    return answer(reply, renderProxySuccess(await this.validation.grantProxyTicket(pgt, targetService)));
  }

  private async respond(q: RawParams, reply: FastifyReply, accept: TicketType[], releaseAttributes: boolean): Promise<string> {
    // The format first: an unsupported one is refused before the ticket is looked at (and spent).
    const format = responseFormat(q);
    const success = await this.validation.validate({ ...ticketParams(q), pgtUrl: pgtUrlParam(q), accept, releaseAttributes });
    countValidation(this.metrics, reply.request, 'SUCCESS');
    return answer(reply, renderSuccess(success, format));
  }
}

function ticketParams(q: RawParams): { service: string; ticket: string; renew: boolean } {
  const service = param(q, 'service');
  const ticket = param(q, 'ticket');
  const renew = flag(q, 'renew');
  if (!service || !ticket) throw new CasError('INVALID_REQUEST', "'service' and 'ticket' parameters are both required");
  return { service, ticket, renew };
}

/** A blank pgtUrl is no pgtUrl, as in CAS. */
function pgtUrlParam(q: RawParams): string | undefined {
  const pgtUrl = param(q, 'pgtUrl');
  return pgtUrl?.trim() ? pgtUrl : undefined;
}

function proxyParams(q: RawParams): { pgt: string; targetService: string } {
  const pgt = param(q, 'pgt');
  const targetService = param(q, 'targetService');
  if (!pgt || !targetService) throw new CasError('INVALID_REQUEST', "'pgt' and 'targetService' parameters are both required");
  return { pgt, targetService };
}

import { Controller, Get, HttpCode, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CasError } from '../../common/cas-error';
import { flag, param, type RawParams } from '../../common/params';
import { TicketType } from '../ticket-ids';
import { TicketValidationService } from './ticket-validation.service';
import { Rendered, renderCas1, renderFailure, renderProxyFailure, renderProxySuccess, renderSuccess, ResponseFormat } from './validation-response';

const ST_ONLY: TicketType[] = ['ST'];
const ST_OR_PT: TicketType[] = ['ST', 'PT'];

/**
 * CAS validation endpoints. Every answer is HTTP 200 with a protocol body, success or failure;
 * anything unexpected becomes INTERNAL_ERROR in the same shape, never a stack trace.
 */
@Controller()
export class ValidationController {
  constructor(private readonly validation: TicketValidationService) {}

  @Get('validate')
  @HttpCode(200)
  async validateCas1(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    let user: string | null = null;
    try {
      const { service, ticket, renew } = this.required(q);
      user = (await this.validation.validate({ service, ticket, renew, accept: ST_ONLY, releaseAttributes: false })).user;
    } catch (e) {
      if (!(e instanceof CasError)) throw e;
    }
    return send(reply, renderCas1(user));
  }

  @Get('serviceValidate')
  @HttpCode(200)
  serviceValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_ONLY, this.validation.cas2ReleasesAttributes);
  }

  @Get('proxyValidate')
  @HttpCode(200)
  proxyValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_OR_PT, this.validation.cas2ReleasesAttributes);
  }

  @Get('p3/serviceValidate')
  @HttpCode(200)
  p3ServiceValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_ONLY, true);
  }

  @Get('p3/proxyValidate')
  @HttpCode(200)
  p3ProxyValidate(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.respond(q, reply, ST_OR_PT, true);
  }

  /** `/proxy`: a proxy ticket for `targetService` from a PGT; always XML, as CAS answers it. */
  @Get('proxy')
  @HttpCode(200)
  async proxy(@Query() q: RawParams, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    try {
      const pgt = param(q, 'pgt');
      const targetService = param(q, 'targetService');
      if (!pgt || !targetService) throw new CasError('INVALID_REQUEST', "'pgt' and 'targetService' parameters are both required");
      return send(reply, renderProxySuccess(await this.validation.grantProxyTicket(pgt, targetService)));
    } catch (e) {
      if (!(e instanceof CasError)) throw e;
      return send(reply, renderProxyFailure(e));
    }
  }

  private async respond(q: RawParams, reply: FastifyReply, accept: TicketType[], attributes: boolean): Promise<string> {
    let format: ResponseFormat = 'XML';
    try {
      format = responseFormat(q);
      const { service, ticket, renew } = this.required(q);
      // A blank pgtUrl is no pgtUrl, as in CAS.
      const pgtUrl = param(q, 'pgtUrl')?.trim() ? param(q, 'pgtUrl') : undefined;
      const success = await this.validation.validate({ service, ticket, renew, pgtUrl, accept, releaseAttributes: attributes });
      return send(reply, renderSuccess(success, format));
    } catch (e) {
      if (!(e instanceof CasError)) throw e;
      return send(reply, renderFailure(e, format));
    }
  }

  private required(q: RawParams): { service: string; ticket: string; renew: boolean } {
    const service = param(q, 'service');
    const ticket = param(q, 'ticket');
    const renew = flag(q, 'renew');
    if (!service || !ticket) throw new CasError('INVALID_REQUEST', "'service' and 'ticket' parameters are both required");
    return { service, ticket, renew };
  }
}

/** `format` is XML (default) or JSON; any other value is an invalid request answered in XML. */
function responseFormat(q: RawParams): ResponseFormat {
  const f = param(q, 'format');
  if (f === undefined) return 'XML';
  const upper = f.toUpperCase();
  if (upper === 'XML' || upper === 'JSON') return upper;
  throw new CasError('INVALID_REQUEST', 'Unsupported format; use XML or JSON');
}

function send(reply: FastifyReply, r: Rendered): string {
  reply.header('content-type', r.contentType);
  reply.header('cache-control', 'no-store');
  return r.body;
}

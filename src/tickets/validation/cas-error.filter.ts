import { applyDecorators, ArgumentsHost, Catch, ExceptionFilter, Get, HttpCode } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CasError } from '../../common/cas-error';
import type { RawParams } from '../../common/params';
import { CasMetrics } from '../../metrics/cas-metrics';
import { answer, FailureShape, renderCasError } from './validation-response';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set by ProtocolGet: how CasErrorFilter renders this route's protocol failures. */
    casFailures?: FailureShape;
    /** Set by ProtocolGet: the endpoint's path under the context path, the metrics' `endpoint` label. */
    casEndpoint?: string;
  }
}

/**
 * A CAS protocol endpoint: GET, answered 200 whether it succeeds or fails, its CasErrors rendered
 * as `failures` by CasErrorFilter. The shape rides on the Fastify route's config because a Nest
 * exception filter is not told which handler threw.
 */
export function ProtocolGet(path: string, failures: FailureShape): MethodDecorator {
  return applyDecorators(Get(path), HttpCode(200), RouteConfig({ casFailures: failures, casEndpoint: path }));
}

/**
 * Counts a validation's result (SUCCESS or the CAS error code) under its endpoint. `/proxy` grants
 * a ticket and validates none: its result is counted as a PT granted, not here.
 */
export function countValidation(metrics: CasMetrics, req: FastifyRequest, code: string): void {
  const { casEndpoint, casFailures } = req.routeOptions.config;
  if (casEndpoint && casFailures !== 'proxy') metrics.validated(casEndpoint, code);
}

/**
 * Renders every CasError a protocol endpoint raises, in the shape its ProtocolGet names, so that
 * handlers render success only. Anything that is not a CasError goes on to the global filter.
 */
@Catch(CasError)
export class CasErrorFilter implements ExceptionFilter<CasError> {
  constructor(private readonly metrics: CasMetrics) {}

  catch(e: CasError, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    countValidation(this.metrics, req, e.code);
    // A route without ProtocolGet gets the CAS 2.0/3.0 shape, the one most endpoints have.
    const shape = req.routeOptions.config.casFailures ?? 'serviceResponse';
    void reply.status(200).send(answer(reply, renderCasError(e, shape, req.query as RawParams)));
  }
}

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Last line: HTTP exceptions keep their status with a short JSON message; anything else is logged
 * once (without request data) and answered 500 without stack, SQL or paths. CAS validation
 * endpoints never get here for protocol failures: those are answered in protocol form.
 */
@Catch()
export class UnexpectedErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const body = error.getResponse();
      // Nest's default body ({statusCode, message, error}) becomes {status, message}; a body a
      // handler built itself (e.g. {status, ticketGrantingTicket, message}) is kept as it is.
      const payload =
        typeof body === 'string'
          ? { status, message: body }
          : 'statusCode' in body
            ? { status, message: (body as { message?: unknown }).message ?? error.message }
            : { status, ...body };
      void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(payload);
      return;
    }
    const e = error as { code?: string; statusCode?: number; message?: string };
    // Fastify's own client errors (body too large, bad content type, malformed body).
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      void reply.status(e.statusCode).header('content-type', 'application/json; charset=utf-8').send({ status: e.statusCode, message: e.message });
      return;
    }
    // The request id (also the X-Request-Id the client got) ties the line to the request in text logs too.
    this.logger.error(`${req.method} ${req.routeOptions?.url ?? 'unknown route'} failed (request ${req.id}): ${e.code ?? ''} ${e.message ?? String(error)}`);
    void reply.status(500).header('content-type', 'application/json; charset=utf-8').send({ status: 500, message: 'Internal error' });
  }
}

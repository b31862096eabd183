import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { AdminRequest } from '../common/admin.guard';
import { AuditLog } from './audit-log';

/**
 * Records every answered request under /actuator (health excepted), refused ones included. A
 * Fastify onSend hook sees the final status whatever produced it (guard, handler, filter), and
 * runs before the answer leaves: once a client has its response, the entry is in the table (an
 * onResponse hook would race with the client's next request, and a crash could lose the entry).
 */
@Injectable()
export class AuditHook implements OnModuleInit {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly audit: AuditLog,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  onModuleInit(): void {
    // Commands (npm run users) run the modules without an HTTP server: nothing to audit there.
    if (!this.adapter.httpAdapter) return;
    const prefix = `${this.config.server.contextPath}/actuator/`;
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', async (req, reply, payload) => {
      if (!req.url.startsWith(prefix) || req.url.startsWith(`${prefix}health`)) return payload;
      try {
        await this.audit.record({
          actor: (req as AdminRequest).adminActor ?? 'anonymous',
          clientIp: req.ip,
          action: req.method,
          target: req.url.slice(this.config.server.contextPath.length),
          status: reply.statusCode,
        });
      } catch (e) {
        this.logger.error(`audit record failed: ${(e as Error).message}`);
      }
      return payload;
    });
  }
}

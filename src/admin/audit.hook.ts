import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { AdminRequest } from '../common/admin.guard';
import { AuditLog } from './audit-log';

/**
 * Records every answered request under /actuator (health excepted), refused ones included: a
 * Fastify onResponse hook sees the final status whatever produced it (guard, handler, filter).
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
    fastify.addHook('onResponse', async (req, reply) => {
      if (!req.url.startsWith(prefix) || req.url.startsWith(`${prefix}health`)) return;
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
    });
  }
}

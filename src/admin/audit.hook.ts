import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { AdminRequest } from '../common/admin.guard';
import { lenientPath } from '../common/outbound-requests';
import { AuditLog } from './audit-log';

/** Query parameters whose values are credentials or session handles: never stored as given. */
const SECRET_PARAMETERS = new Set(['tgc', 'access_token', 'token', 'password', 'ticket']);

/**
 * Records every answered admin request (/actuator, health excepted, and the /admin console), refused ones included. A
 * Fastify onSend hook sees the final status whatever produced it (guard, handler, filter), and
 * runs before the answer leaves: once a client has its response, the entry is in the table (an
 * onResponse hook would race with the client's next request, and a crash could lose the entry).
 *
 * What is an admin request is decided on the route the router chose (its pattern), not on the URL
 * as written: `/cas/%61ctuator/sso` reaches the same handler as `/cas/actuator/sso` and is
 * recorded the same. A request no route matched is judged on its path read leniently (decoded,
 * slashes collapsed, case folded), so probes of the admin API spelled any way are recorded too.
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
    const contextPath = this.config.server.contextPath;
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', async (req, reply, payload) => {
      if (!isAdminRequest(req, contextPath) || isAnsweredScrape(req, reply.statusCode, contextPath)) return payload;
      try {
        await this.audit.record({
          actor: (req as AdminRequest).adminActor ?? 'anonymous',
          clientIp: req.ip,
          action: req.method,
          target: auditTarget(req.url, contextPath),
          status: reply.statusCode,
          requestId: req.id,
        });
      } catch (e) {
        this.logger.error(`audit record failed: ${(e as Error).message}`);
      }
      return payload;
    });
  }
}

/**
 * Whether the request is for the admin API (health excepted) or the admin console (its stylesheet
 * excepted), by its route or, unrouted, its path.
 */
export function isAdminRequest(req: FastifyRequest, contextPath: string): boolean {
  const admin = `${contextPath}/actuator/`;
  const console = `${contextPath}/admin`;
  const route = req.routeOptions?.url;
  if (route !== undefined) {
    if (route === console || route.startsWith(`${console}/`)) return !route.startsWith(`${console}/assets/`);
    return route.startsWith(admin) && route !== `${admin}health`;
  }
  const path = lenientPath(req.url.split('?')[0]);
  if (path === console.toLowerCase() || path.startsWith(`${console}/`.toLowerCase())) return true;
  return path.startsWith(admin.toLowerCase()) && !path.startsWith(`${admin}health`.toLowerCase());
}

/**
 * A Prometheus scrape that was answered: counters without a name, address or ticket in them, read
 * every 15 s by every Prometheus. Recording each would bury the people's actions in the audit log
 * (5,760 rows a node a day) and add a write to every scrape; a refused scrape is still recorded.
 */
function isAnsweredScrape(req: FastifyRequest, status: number, contextPath: string): boolean {
  return status === 200 && req.method === 'GET' && req.routeOptions?.url === `${contextPath}/actuator/prometheus`;
}

/**
 * The URL as the client wrote it (less the context path), so an odd spelling stays visible, with
 * the values of secret query parameters replaced: a password by `***`, a token or ticket by the
 * first 8 hex digits of its SHA-256, enough to tell which one was used and useless to replay.
 */
export function auditTarget(url: string, contextPath: string): string {
  const relative = contextPath && url.startsWith(contextPath) ? url.slice(contextPath.length) : url;
  const q = relative.indexOf('?');
  if (q < 0) return relative;
  const query = relative
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const key = decoded(pair.slice(0, eq)).trim().toLowerCase();
      if (!SECRET_PARAMETERS.has(key)) return pair;
      const value = decoded(pair.slice(eq + 1));
      return `${pair.slice(0, eq)}=${key === 'password' ? '***' : `sha256:${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8)}`}`;
    });
  return `${relative.slice(0, q)}?${query.join('&')}`;
}

/** A query component as a query parser reads it ('+' is a space), or as written if malformed. */
function decoded(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

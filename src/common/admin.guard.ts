import { CanActivate, ExecutionContext, Inject, Injectable, Logger, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export type AdminRequest = FastifyRequest & { adminActor?: string };

/**
 * /actuator/* (except health): a bearer token from CAS_ADMIN_TOKENS, compared in constant time.
 * With no token configured only loopback clients get in, so the README's curl lines work on the
 * machine itself and nowhere else. A non-cookie credential: the admin API needs no CSRF defence.
 */
@Injectable()
export class AdminGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('Admin');
  private readonly tokens: { id: string; digest: Buffer }[];

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {
    this.tokens = config.adminTokens.map((t) => ({ id: t.id, digest: digest(t.secret) }));
  }

  /** The guard is instantiated in each module that uses it; the warning is said once. */
  private static warned = false;

  onModuleInit(): void {
    if (!this.tokens.length && !AdminGuard.warned) {
      AdminGuard.warned = true;
      this.logger.warn('CAS_ADMIN_TOKENS not set: the administration API (/actuator) answers loopback clients only.');
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const actor = this.actorOf(req);
    if (!actor) throw new UnauthorizedException('A valid bearer token is required');
    req.adminActor = actor;
    return true;
  }

  /** Who is calling (token id, or `loopback`), or null when the request may not use the admin API. */
  actorOf(req: FastifyRequest): string | null {
    if (!this.tokens.length) return LOOPBACK.has(req.ip) ? 'loopback' : null;
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    if (!m) return null;
    const given = digest(m[1]);
    let found: string | null = null;
    // Compare with every token (no early exit) so timing says nothing about which one matched.
    for (const t of this.tokens) if (timingSafeEqual(t.digest, given)) found = t.id;
    return found;
  }
}

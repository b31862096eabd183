import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, Logger, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { OUTBOUND_HEADER } from './outbound-requests';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** Host names a request made on the machine itself uses (any port). */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
/** A Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;
/** Headers a relaying proxy adds: the client is not the peer we see. */
const FORWARDING = ['x-forwarded-for', 'forwarded', 'x-real-ip'];
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export type AdminRequest = FastifyRequest & { adminActor?: string };

type Verdict = { actor: string } | { status: 401 | 403; message: string };

/**
 * /actuator/* (except health): a bearer token from CAS_ADMIN_TOKENS, compared in constant time.
 * With no token configured only loopback clients get in, so the curl lines of docs/administration.md work on the
 * machine itself and nowhere else. A non-cookie credential: the admin API needs no CSRF defence.
 *
 * Loopback trust holds only for a request that is evidently a program on this machine talking to
 * this server directly: a browser on the machine can be made to send requests too (a rebound DNS
 * name, a cross-site form or fetch), a reverse proxy on the machine relays everyone, and this
 * server's own outbound requests come from loopback too. Each of those is refused with 403.
 */
@Injectable()
export class AdminAccess implements OnModuleInit {
  private readonly logger = new Logger('Admin');
  private readonly tokens: { id: string; digest: Buffer }[];
  private readonly hosts: Set<string>;
  private readonly origin: string;

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {
    this.tokens = config.adminTokens.map((t) => ({ id: t.id, digest: digest(t.secret) }));
    const prefix = new URL(config.server.prefix);
    this.hosts = new Set([...LOOPBACK_HOSTS, prefix.hostname.toLowerCase()]);
    this.origin = prefix.origin;
  }

  /** A relaying proxy sends every request forwarded: that is said once a process, not once a request. */
  private static warnedForwarded = false;

  onModuleInit(): void {
    // Said once: CoreModule provides the one instance.
    if (!this.tokens.length) this.logger.warn('CAS_ADMIN_TOKENS not set: the administration API (/actuator) and the console (/admin, "Sign in from this machine") answer loopback clients only.');
  }

  /** Who is calling (token id, or `loopback`), or why the request may not use the admin API. */
  verdictOn(req: FastifyRequest): Verdict {
    // This server's own requests (single logout, proxy callbacks) are never admin requests,
    // whatever URL the registry gave them and whatever relayed them here.
    if (req.headers[OUTBOUND_HEADER] !== undefined) return { status: 403, message: "A request sent by this CAS server itself is not an admin request" };
    if (this.tokens.length) {
      const actor = this.tokenActor(req);
      return actor ? { actor } : { status: 401, message: 'A valid bearer token is required' };
    }
    if (!LOOPBACK.has(req.ip)) return { status: 401, message: 'A valid bearer token is required' };
    const refusal = this.loopbackRefusal(req);
    return refusal ? { status: 403, message: refusal } : { actor: 'loopback' };
  }

  /** Why a request from loopback is not a program on this machine calling directly, or null. */
  private loopbackRefusal(req: FastifyRequest): string | null {
    const h = req.headers;
    if (FORWARDING.some((name) => h[name] !== undefined)) {
      if (!this.config.trustedProxies.length && !AdminAccess.warnedForwarded) {
        AdminAccess.warnedForwarded = true;
        this.logger.warn(
          'An admin request from loopback carried X-Forwarded-For/Forwarded/X-Real-IP: a reverse proxy on this machine is relaying ' +
            'other clients, so loopback is not trusted for it (refused with 403). Set TRUSTED_PROXIES to the proxy address ' +
            '(e.g. 127.0.0.1) so clients are told apart, and CAS_ADMIN_TOKENS to use the admin API through the proxy.',
        );
      }
      return 'A forwarded request is not a loopback client: use a bearer token from CAS_ADMIN_TOKENS';
    }
    const host = typeof h.host === 'string' ? HOST_HEADER.exec(h.host) : null;
    // DNS rebinding: a browser sends the attacker's name as Host while reaching 127.0.0.1.
    if (!host || !this.hosts.has(host[1].toLowerCase())) return 'The Host header does not name this server';
    // A browser on this machine driven by another site: fetch/XHR and forms send Origin.
    if (h.origin !== undefined && h.origin !== this.origin) return 'A cross-origin browser request is not an admin request';
    // Only `none` (typed in the address bar, a bookmark) and `same-origin` pass. Same-site is
    // refused too: localhost on another port, or a sibling subdomain, is the same site but not
    // this server.
    const site = h['sec-fetch-site'];
    if (site !== undefined && site !== 'none' && site !== 'same-origin') return 'A cross-site browser request is not an admin request';
    // A page, even this server's own (front-channel logout images), can embed a URL; only a
    // document the user opened or a script's fetch is a request to the admin API.
    const dest = h['sec-fetch-dest'];
    if (dest !== undefined && dest !== 'document' && dest !== 'empty') return 'An embedded resource request is not an admin request';
    return null;
  }

  /** Whether CAS_ADMIN_TOKENS names any token (without one, only loopback clients get in). */
  tokensConfigured(): boolean {
    return this.tokens.length > 0;
  }

  /** The id of the token whose secret is `secret` (the console's sign-in form), or null. */
  actorForSecret(secret: string): string | null {
    return /^[\x21-\x7e]{1,512}$/.test(secret) ? this.matchingToken(secret) : null;
  }

  /**
   * A short fingerprint of the secret of token `id` ('' for loopback or an unknown id): a session
   * that remembers it ends when the token's secret is changed under the same id.
   */
  fingerprintOf(id: string): string {
    return this.tokens.find((t) => t.id === id)?.digest.subarray(0, 8).toString('hex') ?? '';
  }

  private tokenActor(req: FastifyRequest): string | null {
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    return m ? this.matchingToken(m[1]) : null;
  }

  private matchingToken(secret: string): string | null {
    const given = digest(secret);
    let found: string | null = null;
    // Compare with every token (no early exit) so timing says nothing about which one matched.
    for (const t of this.tokens) if (timingSafeEqual(t.digest, given)) found = t.id;
    return found;
  }
}

/**
 * The route guard of /actuator (through @AdminApi()). Nest builds one in every module whose
 * controllers name it, so it holds nothing and asks AdminAccess, of which there is one.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly access: AdminAccess) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const verdict = this.access.verdictOn(req);
    if ('status' in verdict) throw verdict.status === 401 ? new UnauthorizedException(verdict.message) : new ForbiddenException(verdict.message);
    req.adminActor = verdict.actor;
    return true;
  }
}

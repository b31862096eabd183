import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConsoleSignOuts } from '../admin/console-sign-outs';
import { TgcCodec } from '../auth/tgc-codec';
import { AdminAccess } from '../common/admin.guard';
import { Clock } from '../common/clock';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { ConsoleViewer } from './console-page';

/** A console session ends after this long without a page load… */
export const CONSOLE_IDLE_SECONDS = 30 * 60;
/** …and in any case this long after sign-in: a stolen cookie is worth a working day at most. */
export const CONSOLE_MAX_SECONDS = 8 * 60 * 60;
/** The cookie is re-issued (sliding the idle window) at most this often. */
const RENEW_AFTER_SECONDS = 5 * 60;
const MAX_COOKIE_LENGTH = 2048;

/** What the console cookie holds, encrypted: nothing of it is readable or forgeable by the browser. */
interface ConsoleClaims {
  /** The admin token's id, or `loopback`. */
  a: string;
  /** The token's fingerprint when the session began: a token whose secret is replaced ends its sessions. */
  f: string;
  /** A random value the session's CSRF token is derived from. */
  n: string;
  /** Signed in at / last renewed at (epoch seconds). */
  i: number;
  r: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The console's sign-in state: the admin token is exchanged once for a short-lived cookie, so the
 * token itself never sits in the browser. The cookie is a JWE (dir, A256GCM: encrypted and
 * authenticated) under a key derived from the TGC signing keys, so every node of a cluster reads
 * it and a key rotation keeps open sessions; HttpOnly, SameSite=Strict, and under https a
 * `__Host-` cookie (Secure, Path=/, no Domain: no other host or path can set or shadow it).
 * Removing a token from CAS_ADMIN_TOKENS, or changing its secret, ends its sessions at once; a
 * sign-out is recorded (admin's ConsoleSignOuts), so a copy of its cookie is refused too.
 */
@Injectable()
export class ConsoleSessions {
  readonly base: string;
  readonly cookieName: string;
  private readonly cookiePath: string;
  private readonly origin: string;

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly access: AdminAccess,
    private readonly codec: TgcCodec,
    private readonly clock: Clock,
    private readonly signOuts: ConsoleSignOuts,
  ) {
    this.base = `${config.server.contextPath}/admin`;
    this.cookieName = config.server.secure ? '__Host-cas-admin' : 'cas-admin';
    this.cookiePath = config.server.secure ? '/' : this.base;
    this.origin = new URL(config.server.prefix).origin;
  }

  /** The actor a sign-in form's token or loopback request stands for, or null. */
  signInActor(req: FastifyRequest, token: unknown, fromThisMachine: boolean): string | null {
    if (fromThisMachine) {
      if (this.access.tokensConfigured()) return null;
      const verdict = this.access.verdictOn(req);
      return 'actor' in verdict ? verdict.actor : null;
    }
    return typeof token === 'string' ? this.access.actorForSecret(token.trim()) : null;
  }

  /** Whether the sign-in page may offer "sign in from this machine" (no tokens, a loopback browser). */
  loopbackOffered(req: FastifyRequest): boolean {
    return !this.access.tokensConfigured() && 'actor' in this.access.verdictOn(req);
  }

  async begin(reply: FastifyReply, actor: string): Promise<void> {
    const now = this.seconds();
    await this.setCookie(reply, { a: actor, f: this.access.fingerprintOf(actor), n: randomBytes(16).toString('base64url'), i: now, r: now });
  }

  /**
   * Sign-out: the browser's cookie is cleared, and the session's random value is recorded so that
   * a copy of the cookie is refused by every node until it would have ended anyway.
   */
  async end(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const claims = await this.read(req.cookies?.[this.cookieName]);
    if (claims) await this.signOuts.record(claims.n, new Date((claims.i + CONSOLE_MAX_SECONDS) * 1000));
    void reply.clearCookie(this.cookieName, this.cookieOptions());
  }

  /** The signed-in viewer of this request, renewing the cookie when due; null when not signed in. */
  async viewerOf(req: FastifyRequest, reply: FastifyReply): Promise<ConsoleViewer | null> {
    const claims = await this.read(req.cookies?.[this.cookieName]);
    if (!claims) return null;
    const now = this.seconds();
    if (now - claims.r > CONSOLE_IDLE_SECONDS || now - claims.i > CONSOLE_MAX_SECONDS || now < claims.i - 60) return null;
    // The token must still be configured, with the same secret; loopback only while there are no tokens.
    if (claims.a === 'loopback') {
      if (this.access.tokensConfigured() || !('actor' in this.access.verdictOn(req))) return null;
    } else if (this.access.fingerprintOf(claims.a) !== claims.f) return null;
    if (await this.signOuts.isSignedOut(claims.n)) return null;
    if (now - claims.r >= RENEW_AFTER_SECONDS) await this.setCookie(reply, { ...claims, r: now });
    return { actor: claims.a, csrf: this.csrfOf(claims.n, 0), base: this.base };
  }

  /** Whether a posted `_csrf` is the viewer's (under any configured key). */
  validCsrf(viewer: ConsoleViewer, given: unknown): boolean {
    if (typeof given !== 'string' || given.length !== viewer.csrf.length) return false;
    return timingSafeEqual(Buffer.from(given), Buffer.from(viewer.csrf));
  }

  /**
   * Whether a state-changing request comes from this server's own pages: a browser sends Origin
   * on a POST (it must be ours) and Sec-Fetch-Site (it must be same-origin). With SameSite=Strict
   * and the CSRF field, this is the third lock on the door.
   */
  sameOrigin(req: FastifyRequest): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.origin) return false;
    const site = req.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin' || site === 'none';
  }

  private csrfOf(nonce: string, keyIndex: number): string {
    return createHmac('sha256', this.keys('cas-admin-console-csrf')[keyIndex]).update(nonce).digest('base64url');
  }

  private async setCookie(reply: FastifyReply, claims: ConsoleClaims): Promise<void> {
    const value = await new CompactEncrypt(encoder.encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(this.keys('cas-admin-console-cookie')[0]);
    void reply.setCookie(this.cookieName, value, { ...this.cookieOptions(), maxAge: CONSOLE_IDLE_SECONDS });
  }

  private async read(value: string | undefined): Promise<ConsoleClaims | null> {
    if (!value || value.length > MAX_COOKIE_LENGTH) return null;
    for (const key of this.keys('cas-admin-console-cookie')) {
      try {
        const { plaintext } = await compactDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
        const c = JSON.parse(decoder.decode(plaintext)) as Partial<ConsoleClaims>;
        if (typeof c.a !== 'string' || typeof c.f !== 'string' || typeof c.n !== 'string' || typeof c.i !== 'number' || typeof c.r !== 'number') return null;
        return c as ConsoleClaims;
      } catch {
        // an older key, or not ours
      }
    }
    return null;
  }

  private cookieOptions() {
    return { path: this.cookiePath, httpOnly: true, secure: this.config.server.secure, sameSite: 'strict' as const };
  }

  private keys(purpose: string): Uint8Array[] {
    return this.codec.derivedKeys(purpose, 32);
  }

  private seconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}

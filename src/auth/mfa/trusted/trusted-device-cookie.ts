import type { CookieSerializeOptions } from '@fastify/cookie';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { compactDecrypt, CompactEncrypt } from 'jose';
import { randomBytes } from 'node:crypto';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import { TgcCodec } from '../../tgc-codec';

/** CAS's name for the trusted-device cookie (`cas.authn.mfa.trusted.device-fingerprint.cookie.name`). */
export const TRUSTED_DEVICE_COOKIE = 'MFATRUSTED';
const KEY_PURPOSE = 'cas-mfa-trusted-device-cookie';
const MAX_COOKIE_LENGTH = 1024;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The browser's trusted-device cookie: a random 256-bit secret, the browser's identity for trust
 * records (CAS's cookie device-fingerprint component), encrypted and authenticated (JWE
 * dir/A256GCM) under a key derived from the TGC signing key, so every node opens it and one that
 * was not made here opens nowhere. One cookie per browser whoever logs in: the records say which
 * users trust it. HttpOnly, SameSite=Lax, on the context path, Secure under https, as the other
 * cookies (cookies.ts), kept as long as a record made now lives.
 */
@Injectable()
export class TrustedDeviceCookie {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly tgc: TgcCodec,
  ) {}

  read(req: FastifyRequest): string | undefined {
    return req.cookies[TRUSTED_DEVICE_COOKIE];
  }

  set(reply: FastifyReply, value: string): void {
    reply.setCookie(TRUSTED_DEVICE_COOKIE, value, { ...this.options(), maxAge: this.config.mfaTrusted.expirationSeconds });
  }

  /** A new browser secret (base64url of 32 random bytes). */
  newSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  async encode(secret: string): Promise<string> {
    const [key] = this.keys();
    return new CompactEncrypt(encoder.encode(JSON.stringify({ typ: 'mfa-trusted', s: secret })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(key);
  }

  /** The secret inside a cookie made by this server (any configured key), else undefined: forged, altered, foreign or malformed. */
  async decode(value: string | undefined): Promise<string | undefined> {
    if (!value || value.length > MAX_COOKIE_LENGTH) return undefined;
    for (const key of this.keys()) {
      try {
        const { plaintext } = await compactDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
        const p = JSON.parse(decoder.decode(plaintext)) as { typ?: unknown; s?: unknown };
        return p.typ === 'mfa-trusted' && typeof p.s === 'string' && SECRET.test(p.s) ? p.s : undefined;
      } catch {
        // try the next (older) key
      }
    }
    return undefined;
  }

  /** One key per TGC signing key, newest first: cookies made before a key rotation still open. */
  private keys(): Uint8Array[] {
    return this.tgc.derivedKeys(KEY_PURPOSE, 32);
  }

  private options(): CookieSerializeOptions {
    return { path: this.config.server.contextPath || '/', httpOnly: true, sameSite: 'lax', secure: this.config.server.secure };
  }
}

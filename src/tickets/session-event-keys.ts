import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, importJWK, type KeyLike } from 'jose';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { SessionEventSigningKey } from '../config/session-events-config';

export const SIGNING_KEY_VARIABLE = 'SESSION_EVENTS_SIGNING_KEY';
const encoder = new TextEncoder();

/** The public half of the signing key, as receivers fetch it: never `d`. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  kid: string;
  x: string;
  y: string;
  alg: 'ES256';
  use: 'sig';
}

/**
 * The server's session-event signing key (ES256): SESSION_EVENTS_SIGNING_KEY, the same on every
 * node, so a receiver trusts one key set whichever node delivers. Unset with receivers configured:
 * in development mode it is generated once into CAS_DATA_DIR like the TGC keys; outside it the
 * boot has already stopped (config/session-events-config.ts). With no receiver and no key there is
 * nothing to sign and the key set is empty.
 */
@Injectable()
export class SessionEventKeys implements OnModuleInit {
  private readonly logger = new Logger('SessionEvents');
  private signing?: { kid: string; key: KeyLike | Uint8Array };
  private publicKeys: PublicSigningJwk[] = [];

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  async onModuleInit(): Promise<void> {
    let jwk = this.config.sessionEvents.signingKey;
    if (!jwk && this.config.development.enabled && this.config.sessionEvents.receivers.length) jwk = await this.developmentKey();
    if (!jwk) return;
    this.signing = { kid: jwk.kid, key: await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d }, 'ES256') };
    this.publicKeys = [{ kty: 'EC', crv: 'P-256', kid: jwk.kid, x: jwk.x, y: jwk.y, alg: 'ES256', use: 'sig' }];
  }

  /** The key set receivers verify with (GET /sse/jwks): public parts only. */
  jwks(): { keys: PublicSigningJwk[] } {
    return { keys: this.publicKeys };
  }

  /** A SET's claims (JSON), signed: JWS ES256, `typ` secevent+jwt (RFC 8417 §2.3), `kid` naming the key. Null when there is no key. */
  async sign(claims: string): Promise<string | null> {
    if (!this.signing) return null;
    return new CompactSign(encoder.encode(claims)).setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid: this.signing.kid }).sign(this.signing.key);
  }

  /**
   * Development only: generated once and kept under CAS_DATA_DIR (0600), so receivers keep the key
   * they fetched across restarts; `wx` so that the server and a CLI starting together keep one.
   * Its kid is its RFC 7638 thumbprint.
   */
  private async developmentKey(): Promise<SessionEventSigningKey> {
    const file = join(this.config.dataDir, 'session-events-key.json');
    if (!existsSync(file)) {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const jwk = await exportJWK(privateKey);
      mkdirSync(this.config.dataDir, { recursive: true });
      try {
        writeFileSync(file, JSON.stringify({ ...jwk, kid: await calculateJwkThumbprint(jwk) }), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    this.logger.warn(`${SIGNING_KEY_VARIABLE} not set: signing session events with the development key from ${file}. Set it (the same on every node) in production.`);
    return JSON.parse(readFileSync(file, 'utf8')) as SessionEventSigningKey;
  }
}

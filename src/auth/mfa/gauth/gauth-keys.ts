import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { createHmac, createSecretKey, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import { gauthKeyBytes } from '../../../config/mfa-config';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const GAUTH_KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';

/** mfa-gauth has no key (outside development mode it is never generated): no secret is stored or read. */
export class GauthUnavailableError extends Error {
  constructor() {
    super(`mfa-gauth is unavailable: ${GAUTH_KEY_VARIABLE} is not set (a key is generated only in development mode)`);
  }
}

/** A stored secret that the configured key does not open: another key, or an altered row. Never a wrong answer. */
export class GauthSecretUnreadableError extends Error {}

/**
 * The mfa-gauth key (`cas.authn.mfa.gauth.crypto.encryption.key`): encrypts the TOTP secrets at
 * rest (JWE dir/A256GCM, as the TGC) and keys the scratch codes' HMAC (HKDF of the same key).
 * Unset: in development mode it is generated once into CAS_DATA_DIR like the TGC keys; otherwise
 * there is none, and every use of a secret throws GauthUnavailableError.
 */
@Injectable()
export class GauthKeys implements OnModuleInit {
  private readonly logger = new Logger('mfa-gauth');
  /** A KeyObject made once: given bytes, jose makes one at every decrypt (see TgcCodec.signingKeyObjects). */
  private encryptionKey?: KeyObject;
  private scratchKey?: Uint8Array;

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  onModuleInit(): void {
    let key = this.config.mfa.gauth.encryptionKey;
    if (key === undefined && this.config.development.enabled) key = this.developmentKey();
    if (key === undefined) {
      // Not a warning: with no trigger asking for mfa-gauth, a server without TOTP is a valid
      // setup, and an operator should not learn to ignore warnings. The global trigger without the
      // key stops the boot (config/cas-config.ts); a request's authn_method=mfa-gauth ends on the
      // "unavailable" page. The per-service and principal-attribute triggers (still to come) must
      // refuse the boot the same way.
      this.logger.log(
        `mfa-gauth (TOTP) is unavailable: ${GAUTH_KEY_VARIABLE} is not set, and outside development mode no key is generated. ` +
          'Set it (the same on every node) to enrol and check TOTP devices.',
      );
      return;
    }
    const bytes = gauthKeyBytes(key);
    this.encryptionKey = createSecretKey(new Uint8Array(bytes.subarray(0, 32)));
    this.scratchKey = new Uint8Array(hkdfSync('sha256', bytes, new Uint8Array(0), 'cas-gauth-scratch-codes', 32));
  }

  /** Throws GauthUnavailableError when there is no key: before any work that would need one. */
  assertAvailable(): void {
    this.key();
  }

  /** The secret as a compact JWE whose protected header names the credential: a secret copied to another row does not open there. */
  async encrypt(credentialId: string, secret: string): Promise<string> {
    return new CompactEncrypt(encoder.encode(secret))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cid: credentialId })
      .encrypt(this.key());
  }

  async decrypt(credentialId: string, jwe: string): Promise<string> {
    const key = this.key();
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(jwe, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      if (protectedHeader.cid !== credentialId) throw new Error('bound to another credential');
      return decoder.decode(plaintext);
    } catch {
      throw new GauthSecretUnreadableError(
        `the TOTP secret of device ${credentialId} does not decrypt: ${GAUTH_KEY_VARIABLE} is not the key it was stored with, or the row was altered`,
      );
    }
  }

  /** The stored form of a scratch code: HMAC-SHA-256, so a copy of the table reveals no code. */
  scratchHash(normalisedCode: string): Buffer {
    this.key();
    return createHmac('sha256', this.scratchKey!).update(normalisedCode, 'utf8').digest();
  }

  private key(): KeyObject {
    if (!this.encryptionKey) throw new GauthUnavailableError();
    return this.encryptionKey;
  }

  /** Development only: generated once and kept under CAS_DATA_DIR, so devices survive restarts. */
  private developmentKey(): string {
    const file = join(this.config.dataDir, 'gauth-key.json');
    if (!existsSync(file)) {
      mkdirSync(this.config.dataDir, { recursive: true });
      writeFileSync(file, JSON.stringify({ encryption: randomBytes(32).toString('base64url') }), { mode: 0o600 });
    }
    this.logger.warn(`${GAUTH_KEY_VARIABLE} not set: using the development key from ${file}. Set it (the same on every node) in production.`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { encryption: string }).encryption;
  }
}

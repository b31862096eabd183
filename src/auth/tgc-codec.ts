import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CompactEncrypt, compactDecrypt, CompactSign, compactVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { parseTicketId } from '../tickets/ticket-ids';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_COOKIE_LENGTH = 4096;

/**
 * The TGC value: the TGT id encrypted (JWE dir/A256GCM) and then signed (JWS HS512), as CAS's
 * ENCRYPT_AND_SIGN strategy does. The compact JWS is hex-encoded so the cookie stays within the
 * protocol's ticket alphabet. Anything that fails to verify or decrypt is "no session".
 */
@Injectable()
export class TgcCodec implements OnModuleInit {
  private readonly logger = new Logger('TGC');
  private encryptionKey: Uint8Array;
  private signingKey: Uint8Array;

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  onModuleInit(): void {
    const { encryptionKey, signingKey } = this.config.tgc;
    if (encryptionKey && signingKey) {
      this.encryptionKey = Buffer.from(encryptionKey, 'base64url').subarray(0, 32);
      this.signingKey = Buffer.from(signingKey, 'base64url');
      return;
    }
    const keys = this.developmentKeys();
    this.encryptionKey = Buffer.from(encryptionKey ?? keys.encryption, 'base64url').subarray(0, 32);
    this.signingKey = Buffer.from(signingKey ?? keys.signing, 'base64url');
  }

  async encode(tgtId: string): Promise<string> {
    const jwe = await new CompactEncrypt(encoder.encode(tgtId))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(this.encryptionKey);
    const jws = await new CompactSign(encoder.encode(jwe)).setProtectedHeader({ alg: 'HS512' }).sign(this.signingKey);
    return Buffer.from(jws, 'utf8').toString('hex');
  }

  /** The TGT id inside a cookie value, or null for anything tampered, truncated, foreign or malformed. */
  async decode(value: string | undefined): Promise<string | null> {
    if (!value || value.length > MAX_COOKIE_LENGTH || value.length % 2 !== 0 || !/^[0-9a-f]+$/.test(value)) return null;
    try {
      const jws = Buffer.from(value, 'hex').toString('utf8');
      const { payload } = await compactVerify(jws, this.signingKey, { algorithms: ['HS512'] });
      const { plaintext } = await compactDecrypt(decoder.decode(payload), this.encryptionKey, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      const tgtId = decoder.decode(plaintext);
      return parseTicketId(tgtId) === 'TGT' ? tgtId : null;
    } catch {
      this.logger.debug('TGC rejected: signature or encryption check failed');
      return null;
    }
  }

  /**
   * Development only: keys generated once and kept under CAS_DATA_DIR, so SSO survives restarts.
   * Every node of a cluster must be given the same keys through configuration instead.
   */
  private developmentKeys(): { encryption: string; signing: string } {
    const file = join(this.config.dataDir, 'tgc-keys.json');
    if (!existsSync(file)) {
      mkdirSync(this.config.dataDir, { recursive: true });
      const keys = { encryption: randomBytes(32).toString('base64url'), signing: randomBytes(64).toString('base64url') };
      writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
    }
    this.logger.warn(
      `CAS_TGC_CRYPTO_ENCRYPTION_KEY / CAS_TGC_CRYPTO_SIGNING_KEY not set: using development keys from ${file}. ` +
        'Set both (the same on every node) in production.',
    );
    return JSON.parse(readFileSync(file, 'utf8'));
  }
}

import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CompactEncrypt, compactDecrypt, CompactSign, compactVerify } from 'jose';
import { createHash, createSecretKey, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { parseTicketId } from '../tickets/ticket-ids';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_COOKIE_LENGTH = 4096;

/** Who the browser is, as far as pinning is concerned. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}

interface TgcPayload {
  /** TGT id */
  t: string;
  ip?: string;
  ua?: string;
}

/**
 * The TGC value: the TGT id (with the client's IP and User-Agent when pinning is on) encrypted
 * (JWE dir/A256GCM) and then signed (JWS HS512), as CAS's ENCRYPT_AND_SIGN strategy does. The
 * compact JWS is hex-encoded so the cookie stays within the protocol's ticket alphabet. Anything
 * that fails to verify, decrypt or match its pinned client is "no session".
 */
@Injectable()
export class TgcCodec implements OnModuleInit {
  private readonly logger = new Logger('TGC');
  private encryptionKeys: KeyObject[];
  private signingKeys: Uint8Array[];
  /**
   * The signing keys as KeyObjects, for jose: given bytes, jose makes a KeyObject of them at
   * every call (createSecretKey was 12-14 % of a TGC's or a device cookie's signing, 4-7 µs of
   * each sign, encrypt or decrypt on this box).
   */
  private signingKeyObjects: KeyObject[];
  private deviceKey?: KeyObject;
  private readonly derived = new Map<string, Uint8Array[]>();
  private readonly derivedObjects = new Map<string, KeyObject[]>();

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  onModuleInit(): void {
    let { encryptionKeys, signingKeys } = this.config.tgc;
    if (!encryptionKeys.length || !signingKeys.length) {
      const dev = this.developmentKeys();
      if (!encryptionKeys.length) encryptionKeys = [dev.encryption];
      if (!signingKeys.length) signingKeys = [dev.signing];
    }
    this.encryptionKeys = encryptionKeys.map((k) => createSecretKey(Buffer.from(k, 'base64url').subarray(0, 32)));
    this.signingKeys = signingKeys.map((k) => Buffer.from(k, 'base64url'));
    this.signingKeyObjects = this.signingKeys.map((k) => createSecretKey(k));
  }

  async encode(tgtId: string, client: ClientInfo): Promise<string> {
    const payload: TgcPayload = this.config.tgc.pinToSession ? { t: tgtId, ip: client.ip, ua: client.userAgent } : { t: tgtId };
    const jwe = await new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(this.encryptionKeys[0]);
    const jws = await new CompactSign(encoder.encode(jwe)).setProtectedHeader({ alg: 'HS512' }).sign(this.signingKeyObjects[0]);
    return Buffer.from(jws, 'utf8').toString('hex');
  }

  /** The TGT id inside a cookie value, or null for anything tampered, truncated, foreign, malformed or replayed elsewhere. */
  async decode(value: string | undefined, client: ClientInfo): Promise<string | null> {
    if (!value || value.length > MAX_COOKIE_LENGTH || value.length % 2 !== 0 || !/^[0-9a-f]+$/.test(value)) return null;
    const jws = Buffer.from(value, 'hex').toString('utf8');
    // The HMAC covers the header and payload text, but not the unused low bits of the signature's
    // last base64url character: accept only its canonical encoding, so no altered cookie passes.
    const signature = jws.slice(jws.lastIndexOf('.') + 1);
    const canonical = Buffer.from(signature, 'base64url').toString('base64url') === signature;
    const payload = canonical ? await this.open(jws) : null;
    if (!payload || typeof payload.t !== 'string' || parseTicketId(payload.t) !== 'TGT') {
      if (value) this.logger.warn(`TGC rejected: not issued by this server or altered (cookie ${fingerprint(value)})`);
      return null;
    }
    if (this.config.tgc.pinToSession) {
      const ipOk = payload.ip === client.ip || (this.config.tgc.allowedIpAddressesPattern?.test(client.ip) ?? false);
      if (!ipOk || payload.ua !== client.userAgent) {
        this.logger.warn(`TGC rejected: presented by another ${ipOk ? 'User-Agent' : 'IP address'} than it was issued to (cookie ${fingerprint(value)})`);
        return null;
      }
    }
    return payload.t;
  }

  /** A key for device cookies, derived from the newest TGC signing key so one secret serves the cluster. */
  deviceSigningKey(): KeyObject {
    this.deviceKey ??= createSecretKey(new Uint8Array(hkdfSync('sha512', this.signingKeys[0], new Uint8Array(0), 'cas-device-cookie', 64)));
    return this.deviceKey;
  }

  /**
   * Keys for another purpose (HKDF `info`), one per configured TGC signing key, newest first:
   * every node derives the same ones, and values made before a key rotation still verify.
   */
  derivedKeys(purpose: string, length: number): Uint8Array[] {
    const id = `${purpose}/${length}`;
    let keys = this.derived.get(id);
    if (!keys) {
      keys = this.signingKeys.map((k) => new Uint8Array(hkdfSync('sha512', k, new Uint8Array(0), purpose, length)));
      this.derived.set(id, keys);
    }
    return keys;
  }

  /** derivedKeys as KeyObjects, for jose (see signingKeyObjects). */
  derivedSecretKeys(purpose: string, length: number): KeyObject[] {
    const id = `${purpose}/${length}`;
    let keys = this.derivedObjects.get(id);
    if (!keys) {
      keys = this.derivedKeys(purpose, length).map((k) => createSecretKey(k));
      this.derivedObjects.set(id, keys);
    }
    return keys;
  }

  private async open(jws: string): Promise<TgcPayload | null> {
    for (const signingKey of this.signingKeyObjects) {
      let jwe: string;
      try {
        jwe = decoder.decode((await compactVerify(jws, signingKey, { algorithms: ['HS512'] })).payload);
      } catch {
        continue;
      }
      for (const encryptionKey of this.encryptionKeys) {
        try {
          const { plaintext } = await compactDecrypt(jwe, encryptionKey, {
            keyManagementAlgorithms: ['dir'],
            contentEncryptionAlgorithms: ['A256GCM'],
          });
          return JSON.parse(decoder.decode(plaintext)) as TgcPayload;
        } catch {
          // try the next (older) key
        }
      }
      return null;
    }
    return null;
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

/** Logs identify a cookie without revealing it: the first 12 hex characters of its SHA-256. */
function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

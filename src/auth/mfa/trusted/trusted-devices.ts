import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import type { Attributes } from '../../../common/attributes';
import { Clock } from '../../../common/clock';
import { usernameKey } from '../../../common/username';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import type { MfaProviderId } from '../../../config/mfa-config';
import { Sql } from '../../../database/sql';
import { TrustedDeviceCookie } from './trusted-device-cookie';

/** A trust record as the admin endpoint shows it: never the fingerprint. */
export interface TrustedDeviceRecord {
  id: string;
  username: string;
  provider: string;
  name: string;
  recordedAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

/** What the code page's "remember this browser" needs to decide and to record. */
export interface TrustRequest {
  username: string;
  provider: MfaProviderId;
  /** A public-workstation login is never remembered, and is not offered the box. */
  publicWorkstation: boolean;
  /**
   * CAS's per-service `multifactorPolicy.bypassTrustedDeviceEnabled`: the service wants its code
   * every time, so trust is neither used nor recorded for it (LoginService.trustRequest).
   */
  bypassTrustedDevice?: boolean;
}

/** What the login knows of the browser when a factor is required: its cookie, and for a new session its TGC and device cookie. */
export interface TrustedBrowser {
  /** The MFATRUSTED cookie as the browser sent it. */
  cookie?: string;
  tgtId?: string | null;
  /** The login throttle's device id (device-cookie.ts), when the browser had one for the user. */
  deviceId?: string;
}

interface RecordRow {
  id: string;
  username: string;
  provider: string;
  name: string;
  recorded_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Trusted devices (CAS `cas.authn.mfa.trusted.*`): the only code that touches
 * `mfa_trusted_devices`. A record says that a user, after a right code of a provider, trusted the
 * browser holding a given MFATRUSTED secret, until a time; while it lives, that user's logins in
 * that browser skip that provider's code. Another user in the same browser has no record and is
 * asked. Times are the injected Clock's.
 */
@Injectable()
export class TrustedDevices {
  private readonly logger = new Logger('TrustedDevices');

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly sql: Sql,
    private readonly cookie: TrustedDeviceCookie,
    private readonly clock: Clock,
  ) {}

  /** The period the code page's checkbox offers ("30 days"), or null when it shows none. */
  offered(r: TrustRequest): string | null {
    const { deviceRegistrationEnabled, expirationLabel } = this.config.mfaTrusted;
    return deviceRegistrationEnabled && this.applies(r) ? expirationLabel : null;
  }

  /**
   * Whether this browser (its MFATRUSTED cookie) is trusted by this user for this provider now;
   * a match records its use. A missing, forged or foreign cookie, another user's browser, an
   * expired or revoked record: false, and the code is asked.
   */
  async trusts(r: TrustRequest, cookie: string | undefined): Promise<boolean> {
    if (!this.config.mfaTrusted.providers.includes(r.provider) || r.bypassTrustedDevice) return false;
    const secret = await this.cookie.decode(cookie);
    if (!secret) return false;
    const used = await this.sql.one<{ id: string }>(
      `UPDATE mfa_trusted_devices SET last_used_at = $4
        WHERE username_key = $1 AND device_fingerprint = $2 AND provider = $3 AND expires_at > $4
       RETURNING id`,
      [usernameKey(r.username), fingerprint(secret), r.provider, this.clock.now()],
    );
    if (used) this.logger.log(`trusted device ${used.id}: ${r.provider} skipped`);
    return !!used;
  }

  /**
   * After a right code: when the user ticked the box (or registration is automatic, CAS's
   * device-registration-enabled=false), the browser is trusted for the configured period. Returns
   * the cookie to give the browser, or undefined when nothing was recorded. A browser that already
   * has a valid cookie keeps its secret (other users' records of it stay valid); ticking again
   * renews the record.
   */
  async remember(r: TrustRequest, ticked: boolean, cookie: string | undefined, userAgent: string): Promise<string | undefined> {
    if (!this.applies(r) || !(ticked || !this.config.mfaTrusted.deviceRegistrationEnabled)) return undefined;
    const secret = (await this.cookie.decode(cookie)) ?? this.cookie.newSecret();
    const now = this.clock.now();
    const expires = new Date(now.getTime() + this.config.mfaTrusted.expirationSeconds * 1000);
    const { id } = (await this.sql.one<{ id: string }>(
      `INSERT INTO mfa_trusted_devices (id, username_key, username, provider, device_fingerprint, name, recorded_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (username_key, device_fingerprint, provider)
       DO UPDATE SET username = EXCLUDED.username, name = EXCLUDED.name, recorded_at = EXCLUDED.recorded_at, expires_at = EXCLUDED.expires_at
       RETURNING id`,
      [randomUUID(), usernameKey(r.username), r.username, r.provider, fingerprint(secret), deviceName(userAgent), now, expires],
    ))!;
    this.logger.log(`trusted device ${id} recorded for ${r.provider} until ${expires.toISOString()}`);
    return this.cookie.encode(secret);
  }

  /**
   * The attributes of a session whose factor a trusted browser satisfied, with CAS's marker
   * (`core.authentication-context-attribute`, `isFromTrustedMultifactorAuthentication`: ["true"]),
   * released as the service's attribute policy allows and visible in sso_sessions.
   */
  markTrusted(attributes: Attributes): Attributes {
    return { ...attributes, [this.config.mfaTrusted.authenticationContextAttribute]: ['true'] };
  }

  /** The user's records, expired ones included until the housekeeping deletes them. */
  async list(username: string): Promise<TrustedDeviceRecord[]> {
    const rows = await this.sql.rows<RecordRow>(
      `SELECT id, username, provider, name, recorded_at, expires_at, last_used_at FROM mfa_trusted_devices
        WHERE username_key = $1 ORDER BY recorded_at, id`,
      [usernameKey(username)],
    );
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      provider: r.provider,
      name: r.name,
      recordedAt: r.recorded_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  /** Revokes every record of the user; returns how many. */
  async removeForUser(username: string): Promise<number> {
    return this.sql.affected(`DELETE FROM mfa_trusted_devices WHERE username_key = $1`, [usernameKey(username)]);
  }

  /** Revokes one record by its key (the id the list gives); returns 0 or 1. */
  async removeRecord(id: string): Promise<number> {
    if (!UUID.test(id)) return 0;
    return this.sql.affected(`DELETE FROM mfa_trusted_devices WHERE id = $1`, [id]);
  }

  /**
   * Housekeeping (AuthHousekeeping, every node every minute): up to `limit` expired records. FOR
   * UPDATE SKIP LOCKED: nodes running it at once take different rows; the outer condition is
   * checked again on the locked row, so a record renewed at that moment is kept.
   */
  async deleteExpired(limit: number): Promise<number> {
    return this.sql.affected(
      `DELETE FROM mfa_trusted_devices WHERE expires_at <= $1 AND id IN (
         SELECT id FROM mfa_trusted_devices WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.clock.now(), limit],
    );
  }

  /** Trust is on for the provider, the service does not bypass it, and this is not a public computer. */
  private applies(r: TrustRequest): boolean {
    return this.config.mfaTrusted.providers.includes(r.provider) && !r.bypassTrustedDevice && !r.publicWorkstation;
  }
}

/** The stored form of a browser secret: its SHA-256 (32 bytes); a 256-bit random value needs no slow hash. */
function fingerprint(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|Chromium|CriOS)\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\bAndroid\b/, 'Android'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

/**
 * The record's name, as CAS names a device for the user: browser and system from the User-Agent,
 * in words of a fixed list (the header itself is the client's text and is never stored).
 */
export function deviceName(userAgent: string): string {
  const browser = BROWSERS.find(([re]) => re.test(userAgent))?.[1] ?? 'Browser';
  const system = SYSTEMS.find(([re]) => re.test(userAgent))?.[1];
  return system ? `${browser} on ${system}` : browser;
}

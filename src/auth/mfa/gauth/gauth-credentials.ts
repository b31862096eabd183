import { Inject, Injectable } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { Clock } from '../../../common/clock';
import { usernameKey } from '../../../common/username';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import { Sql, type SqlRunner } from '../../../database/sql';
import { GauthKeys } from './gauth-keys';

/** What enrolment hands the user once: nothing of it but the device id can be read back later. */
export interface GauthEnrolment {
  credentialId: string;
  /** base32, for typing into an app that cannot scan the QR code. */
  secret: string;
  otpauthUri: string;
  /** One-time recovery codes, shown once; stored only as HMACs. */
  scratchCodes: string[];
}

export type GauthVerification =
  | { ok: true; credentialId: string; scratchCode: boolean }
  /** `replayed`: a right code whose time step was already accepted; `no-device`: the user has no confirmed device. */
  | { ok: false; reason: 'invalid' | 'replayed' | 'no-device' };

/** A confirmed device as the code page's token carries it: its id and its secret as stored (a compact JWE under the mfa-gauth key). */
export interface GauthCarriedDevice {
  id: string;
  secret: string;
}

export interface GauthDevice {
  id: string;
  username: string;
  deviceName: string;
  registeredAt: Date;
  /** null: enrolled, not confirmed by a first code yet, never asked at login. */
  confirmedAt: Date | null;
  lastUsedAt: Date | null;
}

/** A request the store refuses; `reason` says which, for the page or endpoint to render. */
export class GauthError extends Error {
  constructor(
    readonly reason: 'device-already-registered' | 'not-found' | 'already-confirmed' | 'bad-device-name' | 'bad-username',
    message: string,
  ) {
    super(message);
  }
}

interface CredentialRow {
  id: string;
  username: string;
  device_name: string;
  secret_encrypted: string;
  registered_at: Date;
  confirmed_at: Date | null;
  last_used_at: Date | null;
}

const SCRATCH_CODES = 5;
/** RFC 4648 base32 without the look-alikes 0/1/8/9: 12 characters are 60 bits, out of reach of guessing. */
const SCRATCH_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SCRATCH_LENGTH = 12;
/** RFC 4226's recommended secret length: 160 bits. */
const SECRET_BYTES = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `mfa-gauth` credential store and verifier (TOTP, RFC 6238): the only code that touches
 * `gauth_credentials`, `gauth_scratch_codes` and `gauth_used_codes`. Codes are computed and
 * checked by otplib; time is the injected Clock's. A code is accepted once per device and time
 * step, on every node (the used step's primary key), and a scratch code once (deleted as used).
 */
@Injectable()
export class GauthCredentials {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly sql: Sql,
    private readonly keys: GauthKeys,
    private readonly clock: Clock,
  ) {}

  /**
   * A new pending device with its secret and scratch codes. Refused when the user already has a
   * confirmed device and multiple devices are off; an earlier pending enrolment of the user is
   * dropped (it was abandoned: its QR code is no longer on any page).
   */
  async enrol(username: string, deviceName: string): Promise<GauthEnrolment> {
    const key = this.userKey(username);
    const name = deviceName.trim();
    if (!name || name.length > 100) throw new GauthError('bad-device-name', 'a device name is 1 to 100 characters');
    const id = randomUUID();
    const secret = authenticator.generateSecret(SECRET_BYTES);
    const encrypted = await this.keys.encrypt(id, secret);
    const scratchCodes = Array.from({ length: SCRATCH_CODES }, scratchCode);
    const now = this.clock.now();
    await this.sql.transaction(async (tx) => {
      await this.lockUser(tx, key);
      if (!this.gauth.multipleDeviceRegistrationEnabled && (await this.hasConfirmed(tx, key))) {
        throw new GauthError('device-already-registered', 'a device is already registered (multiple devices are not enabled)');
      }
      await tx.affected(`DELETE FROM gauth_credentials WHERE username_key = $1 AND confirmed_at IS NULL`, [key]);
      await tx.affected(
        `INSERT INTO gauth_credentials (id, username_key, username, device_name, secret_encrypted, registered_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [id, key, username, name, encrypted, now],
      );
      await tx.affected(
        `INSERT INTO gauth_scratch_codes (credential_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h`,
        [id, scratchCodes.map((c) => this.keys.scratchHash(normaliseScratch(c)))],
      );
    });
    return { credentialId: id, secret, otpauthUri: this.otpauthUri(username, secret), scratchCodes };
  }

  /** Confirms a pending device by its first code; the code's step is then used, as at login. */
  async confirm(credentialId: string, code: string): Promise<GauthVerification> {
    if (!UUID.test(credentialId)) throw new GauthError('not-found', 'no such device');
    this.keys.assertAvailable();
    return this.sql.transaction(async (tx) => {
      const row = await tx.one<CredentialRow & { username_key: string }>(`SELECT * FROM gauth_credentials WHERE id = $1`, [credentialId]);
      if (!row) throw new GauthError('not-found', 'no such device');
      await this.lockUser(tx, row.username_key);
      const current = await tx.one<{ confirmed_at: Date | null }>(`SELECT confirmed_at FROM gauth_credentials WHERE id = $1`, [credentialId]);
      if (!current) throw new GauthError('not-found', 'no such device');
      if (current.confirmed_at) throw new GauthError('already-confirmed', 'the device is already confirmed');
      if (!this.gauth.multipleDeviceRegistrationEnabled && (await this.hasConfirmed(tx, row.username_key))) {
        throw new GauthError('device-already-registered', 'a device is already registered (multiple devices are not enabled)');
      }
      const result = await this.checkTotp(tx, row, code);
      if (result.ok) {
        await tx.affected(`UPDATE gauth_credentials SET confirmed_at = $2, last_used_at = $2 WHERE id = $1`, [credentialId, this.clock.now()]);
      }
      return result;
    });
  }

  /**
   * The user's confirmed devices with their secrets as stored (encrypted under the mfa-gauth key,
   * bound to the device id), for the code page's token to carry to the code POST: the login
   * flow's token is itself encrypted and authenticated with a server key, bound to the browser and
   * single use (login-flows.ts), so the browser holds the secret under two keys and can change
   * nothing of it.
   */
  async confirmedDevices(username: string): Promise<GauthCarriedDevice[]> {
    const rows = await this.sql.rows<{ id: string; secret_encrypted: string }>(
      `SELECT id, secret_encrypted FROM gauth_credentials WHERE username_key = $1 AND confirmed_at IS NOT NULL ORDER BY registered_at, id`,
      [this.userKey(username)],
    );
    return rows.map((r) => ({ id: r.id, secret: r.secret_encrypted }));
  }

  /**
   * Checks a code against every confirmed device of the user, then the user's scratch codes.
   * `carried`: the devices the code page's token carries (confirmedDevices, read at the password
   * step): a right code of one of them is recorded in one statement, which also checks that the
   * device is still there and confirmed, with no read of the devices first. Anything else (a wrong
   * code, a scratch code, a device removed meanwhile) goes on to the devices as they are now.
   */
  async verify(username: string, code: string, carried?: readonly GauthCarriedDevice[]): Promise<GauthVerification> {
    const key = this.userKey(username);
    this.keys.assertAvailable();
    if (carried?.length) {
      let replayed = false;
      for (const device of carried) {
        const match = await this.match(device.id, device.secret, code);
        if (!match) continue;
        // The device still confirmed, its expired used steps purged, the step recorded with the
        // device's last use: one statement. Prepared: every right code POST runs it.
        const [r] = await this.sql.prepared<{ present: number; used: number }>(
          'cas_gauth_use_carried_code',
          `WITH device AS (
             SELECT id FROM gauth_credentials WHERE id = $1 AND username_key = $5 AND confirmed_at IS NOT NULL
           ), purged AS (
             DELETE FROM gauth_used_codes u USING device d WHERE u.credential_id = d.id AND u.expires_at <= $4
           ), used AS (
             INSERT INTO gauth_used_codes (credential_id, time_step, expires_at) SELECT id, $2, $3 FROM device
             ON CONFLICT DO NOTHING RETURNING credential_id
           ), touched AS (
             UPDATE gauth_credentials c SET last_used_at = $4 FROM used WHERE c.id = used.credential_id
           )
           SELECT (SELECT count(*) FROM device)::int AS present, (SELECT count(*) FROM used)::int AS used`,
          [device.id, match.step, match.expiresAt, this.clock.now(), key],
        );
        if (r.used) return { ok: true, credentialId: device.id, scratchCode: false };
        if (r.present) replayed = true;
      }
      if (replayed) return { ok: false, reason: 'replayed' };
    }
    // The devices, and their used codes whose steps have left the window purged, in one statement.
    // Prepared, as the step's other statement: every code POST runs them.
    const rows = await this.sql.prepared<CredentialRow>(
      'cas_gauth_devices',
      `WITH devices AS (
         SELECT id, username, device_name, secret_encrypted, registered_at, confirmed_at, last_used_at
           FROM gauth_credentials WHERE username_key = $1 AND confirmed_at IS NOT NULL
       ), purged AS (
         DELETE FROM gauth_used_codes u USING devices d WHERE u.credential_id = d.id AND u.expires_at <= $2
       )
       SELECT * FROM devices ORDER BY registered_at, id`,
      [key, this.clock.now()],
    );
    if (!rows.length) return { ok: false, reason: 'no-device' };
    let replayed = false;
    for (const row of rows) {
      // A right code's step recorded and the device's last use, in one statement.
      const result = await this.checkTotp(this.sql, row, code, true);
      if (result.ok) return result;
      replayed ||= result.reason === 'replayed';
    }
    if (replayed) return { ok: false, reason: 'replayed' };
    const scratch = normaliseScratch(code);
    if (scratch.length !== SCRATCH_LENGTH) return { ok: false, reason: 'invalid' };
    const used = await this.sql.one<{ credential_id: string }>(
      `DELETE FROM gauth_scratch_codes s USING gauth_credentials c
        WHERE s.credential_id = c.id AND c.username_key = $1 AND c.confirmed_at IS NOT NULL AND s.code_hash = $2
       RETURNING s.credential_id`,
      [key, this.keys.scratchHash(scratch)],
    );
    if (!used) return { ok: false, reason: 'invalid' };
    await this.sql.affected(`UPDATE gauth_credentials SET last_used_at = $2 WHERE id = $1`, [used.credential_id, this.clock.now()]);
    return { ok: true, credentialId: used.credential_id, scratchCode: true };
  }

  /** The user's devices, pending ones included; never their secrets. */
  async list(username: string): Promise<GauthDevice[]> {
    const rows = await this.sql.rows<CredentialRow>(
      `SELECT id, username, device_name, registered_at, confirmed_at, last_used_at FROM gauth_credentials
        WHERE username_key = $1 ORDER BY registered_at, id`,
      [this.userKey(username)],
    );
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      deviceName: r.device_name,
      registeredAt: r.registered_at,
      confirmedAt: r.confirmed_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  /** Removes one device of the user, or all of them; their scratch and used codes go with them. Returns how many. */
  async remove(username: string, credentialId?: string): Promise<number> {
    const key = this.userKey(username);
    if (credentialId === undefined) return this.sql.affected(`DELETE FROM gauth_credentials WHERE username_key = $1`, [key]);
    if (!UUID.test(credentialId)) return 0;
    return this.sql.affected(`DELETE FROM gauth_credentials WHERE username_key = $1 AND id = $2`, [key, credentialId]);
  }

  /**
   * Housekeeping (AuthHousekeeping, every node every minute): up to `limit` used-code rows whose
   * step has left the window. FOR UPDATE SKIP LOCKED: nodes running it at once take different rows.
   */
  async deleteExpiredUsedCodes(limit: number): Promise<number> {
    return this.sql.affected(
      `DELETE FROM gauth_used_codes WHERE (credential_id, time_step) IN (
         SELECT credential_id, time_step FROM gauth_used_codes WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.clock.now(), limit],
    );
  }

  /**
   * Housekeeping: up to `limit` pending (never confirmed) enrolments registered `maxAgeSeconds` or
   * more ago, with their scratch codes (ON DELETE CASCADE). The outer conditions are checked again
   * on the locked row, so a device confirmed at that moment is kept.
   */
  async deleteAbandonedEnrolments(maxAgeSeconds: number, limit: number): Promise<number> {
    const before = new Date(this.clock.now().getTime() - maxAgeSeconds * 1000);
    return this.sql.affected(
      `DELETE FROM gauth_credentials WHERE confirmed_at IS NULL AND registered_at <= $1 AND id IN (
         SELECT id FROM gauth_credentials WHERE confirmed_at IS NULL AND registered_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
  }

  /**
   * The code against one device within the window; a right code is accepted only when its time
   * step is not used yet for that device (INSERT … ON CONFLICT DO NOTHING: one winner across nodes).
   */
  private async checkTotp(runner: SqlRunner, row: CredentialRow, code: string, touch = false): Promise<GauthVerification> {
    const match = await this.match(row.id, row.secret_encrypted, code);
    if (!match) return { ok: false, reason: 'invalid' };
    const { step, expiresAt } = match;
    // touch (verify, autocommit): a step newly used also sets the device's last use, in the same statement.
    const inserted = touch
      ? (await this.sql.prepared(
          'cas_gauth_use_code',
          `WITH used AS (
             INSERT INTO gauth_used_codes (credential_id, time_step, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING credential_id
           ), touched AS (
             UPDATE gauth_credentials c SET last_used_at = $4 FROM used WHERE c.id = used.credential_id
           )
           SELECT credential_id FROM used`,
          [row.id, step, expiresAt, this.clock.now()],
        )).length
      : await runner.affected(
          `INSERT INTO gauth_used_codes (credential_id, time_step, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [row.id, step, expiresAt],
        );
    return inserted ? { ok: true, credentialId: row.id, scratchCode: false } : { ok: false, reason: 'replayed' };
  }

  /**
   * The time step whose code `code` is, within the window, for the device's secret as stored; null
   * for a code of another form or of no step of the window. `expiresAt`: when the step leaves the
   * window (its used row may go then).
   */
  private async match(credentialId: string, secretEncrypted: string, code: string): Promise<{ step: number; expiresAt: Date } | null> {
    const token = code.replace(/\s+/g, '');
    const { codeDigits, timeStepSize, windowSize } = this.gauth;
    if (token.length !== codeDigits || !/^\d+$/.test(token)) return null;
    const secret = await this.keys.decrypt(credentialId, secretEncrypted);
    // CAS's window-size counts the steps checked, the current one in the middle (3: -1, 0, +1).
    const past = Math.floor((windowSize - 1) / 2);
    const future = Math.floor(windowSize / 2);
    const nowMs = this.clock.now().getTime();
    const totp = authenticator.clone({ digits: codeDigits, step: timeStepSize, window: [past, future], epoch: nowMs });
    const delta = totp.checkDelta(token, secret);
    if (delta === null) return null;
    const step = Math.floor(nowMs / 1000 / timeStepSize) + delta;
    // The step stays acceptable until the current step is past it by more than the window's past part.
    return { step, expiresAt: new Date((step + past + 1) * timeStepSize * 1000) };
  }

  /** The otpauth URI of the QR code (Key Uri Format): label `label:username`, issuer, SHA1, digits and period. */
  private otpauthUri(username: string, secret: string): string {
    const { label, issuer, codeDigits, timeStepSize } = this.gauth;
    const query = new URLSearchParams({ secret, issuer, algorithm: 'SHA1', digits: String(codeDigits), period: String(timeStepSize) });
    return `otpauth://totp/${encodeURIComponent(label)}:${encodeURIComponent(username)}?${query.toString().replace(/\+/g, '%20')}`;
  }

  /** One user's enrolments and confirmations run one at a time, so "one device only" holds across nodes. */
  private async lockUser(tx: SqlRunner, key: string): Promise<void> {
    await tx.rows(`SELECT pg_advisory_xact_lock(hashtextextended('gauth:' || $1, 0))`, [key]);
  }

  private async hasConfirmed(tx: SqlRunner, key: string): Promise<boolean> {
    return !!(await tx.one(`SELECT 1 FROM gauth_credentials WHERE username_key = $1 AND confirmed_at IS NOT NULL LIMIT 1`, [key]));
  }

  private userKey(username: string): string {
    if (!username || username.length > 256) throw new GauthError('bad-username', 'a username is 1 to 256 characters');
    return usernameKey(username);
  }

  private get gauth(): CasConfig['mfa']['gauth'] {
    return this.config.mfa.gauth;
  }
}

/** XXXX-XXXX-XXXX from a CSPRNG (randomInt is unbiased). */
function scratchCode(): string {
  let code = '';
  for (let i = 0; i < SCRATCH_LENGTH; i++) code += SCRATCH_ALPHABET[randomInt(SCRATCH_ALPHABET.length)];
  return code.match(/.{4}/g)!.join('-');
}

/** As typed: case, spaces and dashes do not matter. */
function normaliseScratch(code: string): string {
  return code.toUpperCase().replace(/[\s-]+/g, '');
}

import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../../common/clock';
import { usernameKey } from '../../../common/username';
import { Sql } from '../../../database/sql';

/** A registered security key or passkey, as the store gives it back (the public key included: it is no secret). */
export interface WebAuthnCredential {
  /** Row id: the device id of the admin endpoint. */
  id: string;
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  username: string;
  publicKey: Uint8Array;
  signCount: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  aaguid: string;
  userVerified: boolean;
  name: string;
  registeredAt: Date;
  lastUsedAt: Date | null;
  /** A counter that did not grow was seen (a possible clone): refused until removed. */
  flaggedAt: Date | null;
}

export type NewWebAuthnCredential = Omit<WebAuthnCredential, 'id' | 'registeredAt' | 'lastUsedAt' | 'flaggedAt'>;

interface Row {
  id: string;
  credential_id: string;
  username: string;
  public_key: Buffer;
  sign_count: string;
  transports: string[];
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  aaguid: string;
  user_verified: boolean;
  name: string;
  registered_at: Date;
  last_used_at: Date | null;
  flagged_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A credential id is at most 1023 bytes (WebAuthn L3): 1364 base64url characters. */
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1400}$/;

/**
 * The `mfa-webauthn` credential store: the only code that touches `webauthn_credentials`.
 * Ceremonies (webauthn-ceremonies.ts) decide; this file keeps what they decided.
 */
@Injectable()
export class WebAuthnCredentials {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** The user's credentials, oldest first. */
  async list(username: string): Promise<WebAuthnCredential[]> {
    const rows = await this.sql.rows<Row>(`SELECT * FROM webauthn_credentials WHERE username_key = $1 ORDER BY registered_at, id`, [
      usernameKey(username),
    ]);
    return rows.map(toCredential);
  }

  /** The credential a browser named (a passkey login knows no user before this), or null. */
  async findByCredentialId(credentialId: string): Promise<WebAuthnCredential | null> {
    if (!CREDENTIAL_ID.test(credentialId)) return null;
    const row = await this.sql.one<Row>(`SELECT * FROM webauthn_credentials WHERE credential_id = $1`, [credentialId]);
    return row ? toCredential(row) : null;
  }

  /**
   * Stores a verified registration. False when the credential id is already registered (to this
   * user or another): an authenticator cannot be bound twice. With `single`, also false when
   * the user already has a credential (multiple-device registration off); the check and the
   * insert run under a per-user lock, so two registrations at once cannot both pass it.
   */
  async add(c: NewWebAuthnCredential, single: boolean): Promise<string | null> {
    const key = usernameKey(c.username);
    const id = randomUUID();
    return this.sql.transaction(async (tx) => {
      await tx.rows(`SELECT pg_advisory_xact_lock(hashtextextended('webauthn:' || $1, 0))`, [key]);
      if (single && (await tx.one(`SELECT 1 FROM webauthn_credentials WHERE username_key = $1 LIMIT 1`, [key]))) return null;
      const inserted = await tx.one(
        `INSERT INTO webauthn_credentials
           (id, credential_id, username_key, username, public_key, sign_count, transports, device_type, backed_up, aaguid, user_verified, name, registered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (credential_id) DO NOTHING RETURNING id`,
        [
          id, c.credentialId, key, c.username, Buffer.from(c.publicKey), c.signCount, c.transports, c.deviceType, c.backedUp, c.aaguid, c.userVerified,
          c.name.slice(0, 100), this.clock.now(),
        ],
      );
      return inserted ? id : null;
    });
  }

  /**
   * Records an accepted assertion: the new counter, the backup state, the time. With
   * `counterMustGrow`, conditional on the counter still being below the new one (or both 0, an
   * authenticator without a counter): of two assertions with one counter value, on any nodes,
   * one is recorded and the other gets false. Never for a flagged credential.
   */
  async recordUse(id: string, signCount: number, backedUp: boolean, counterMustGrow: boolean): Promise<boolean> {
    const n = await this.sql.affected(
      `UPDATE webauthn_credentials SET sign_count = $2, backed_up = $3, last_used_at = $4
        WHERE id = $1 AND flagged_at IS NULL AND (NOT $5 OR sign_count < $2 OR (sign_count = 0 AND $2 = 0))`,
      [id, signCount, backedUp, this.clock.now(), counterMustGrow],
    );
    return n === 1;
  }

  /** Marks a credential as possibly cloned: every later assertion of it is refused. */
  async flag(id: string): Promise<void> {
    await this.sql.affected(`UPDATE webauthn_credentials SET flagged_at = $2 WHERE id = $1 AND flagged_at IS NULL`, [id, this.clock.now()]);
  }

  /** Removes the user's credentials (one, with `id`); answers how many went. */
  async remove(username: string, id?: string): Promise<number> {
    const key = usernameKey(username);
    if (id === undefined) return this.sql.affected(`DELETE FROM webauthn_credentials WHERE username_key = $1`, [key]);
    if (!UUID.test(id)) return 0;
    return this.sql.affected(`DELETE FROM webauthn_credentials WHERE username_key = $1 AND id = $2`, [key, id.toLowerCase()]);
  }
}

function toCredential(r: Row): WebAuthnCredential {
  return {
    id: r.id,
    credentialId: r.credential_id,
    username: r.username,
    publicKey: new Uint8Array(r.public_key),
    signCount: Number(r.sign_count),
    transports: r.transports,
    deviceType: r.device_type,
    backedUp: r.backed_up,
    aaguid: r.aaguid,
    userVerified: r.user_verified,
    name: r.name,
    registeredAt: r.registered_at,
    lastUsedAt: r.last_used_at,
    flaggedAt: r.flagged_at,
  };
}

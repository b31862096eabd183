import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The TOTP provider `mfa-gauth` (issue 13): the users' authenticator devices, their one-time
 * recovery (scratch) codes and the codes already accepted. Owned by the auth module
 * (auth/mfa/gauth/gauth-credentials.ts); no other code touches these rows.
 *
 * - A device is pending (confirmed_at NULL) from enrolment until its first code is accepted;
 *   only confirmed devices are asked at login.
 * - The TOTP secret is stored encrypted (JWE dir/A256GCM under CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY,
 *   bound to the row's id): a copy of the table is no second factor.
 * - Scratch codes are stored as HMAC-SHA-256 under a key derived from that key: high-entropy
 *   random codes need no slow hash, and the lookup stays one indexed DELETE … RETURNING, which
 *   consumes a code once even when two nodes try at the same moment.
 * - A used code's time step is one row until it falls out of the window: the primary key makes
 *   a replayed code (INSERT … ON CONFLICT DO NOTHING inserting nothing) fail on every node.
 */
export class CreateGauthCredentials1764000015000 implements MigrationInterface {
  name = 'CreateGauthCredentials1764000015000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gauth_credentials (
        id               uuid         NOT NULL,
        username_key     text         NOT NULL,
        username         varchar(256) NOT NULL,
        device_name      varchar(100) NOT NULL,
        secret_encrypted text         NOT NULL,
        registered_at    timestamptz  NOT NULL,
        confirmed_at     timestamptz,
        last_used_at     timestamptz,
        CONSTRAINT pk_gauth_credentials PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX ix_gauth_credentials_username_key ON gauth_credentials (username_key)`);
    await q.query(`COMMENT ON TABLE gauth_credentials IS 'TOTP authenticator devices (mfa-gauth), one row per device of a user'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.id IS 'Device id (the credential id of the admin endpoints)'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.username_key IS 'Canonical key of the username (NFKC + case folding): ALICE and alice are one user'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.username IS 'Username as typed at enrolment'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.device_name IS 'Name the user gave the device'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.secret_encrypted IS 'TOTP secret, encrypted (JWE dir/A256GCM, CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY); never the base32 secret'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.registered_at IS 'When the device was enrolled'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.confirmed_at IS 'When its first code was accepted; NULL: pending, not asked at login'`);
    await q.query(`COMMENT ON COLUMN gauth_credentials.last_used_at IS 'When a code or scratch code of it was last accepted'`);

    await q.query(`
      CREATE TABLE gauth_scratch_codes (
        credential_id uuid  NOT NULL,
        code_hash     bytea NOT NULL,
        CONSTRAINT pk_gauth_scratch_codes PRIMARY KEY (credential_id, code_hash),
        CONSTRAINT fk_gauth_scratch_codes_credential FOREIGN KEY (credential_id) REFERENCES gauth_credentials (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_gauth_scratch_codes_hash ON gauth_scratch_codes (code_hash)`);
    await q.query(`COMMENT ON TABLE gauth_scratch_codes IS 'Unused one-time recovery codes of a TOTP device; a used code is deleted'`);
    await q.query(`COMMENT ON COLUMN gauth_scratch_codes.credential_id IS 'The device (gauth_credentials.id) it recovers'`);
    await q.query(`COMMENT ON COLUMN gauth_scratch_codes.code_hash IS 'HMAC-SHA-256 of the normalised code under a key derived from the encryption key'`);

    await q.query(`
      CREATE TABLE gauth_used_codes (
        credential_id uuid        NOT NULL,
        time_step     bigint      NOT NULL,
        expires_at    timestamptz NOT NULL,
        CONSTRAINT pk_gauth_used_codes PRIMARY KEY (credential_id, time_step),
        CONSTRAINT fk_gauth_used_codes_credential FOREIGN KEY (credential_id) REFERENCES gauth_credentials (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_gauth_used_codes_expires ON gauth_used_codes (expires_at)`);
    await q.query(`COMMENT ON TABLE gauth_used_codes IS 'TOTP codes already accepted, by time step: a code is accepted once (replay protection)'`);
    await q.query(`COMMENT ON COLUMN gauth_used_codes.credential_id IS 'The device (gauth_credentials.id) the code was accepted for'`);
    await q.query(`COMMENT ON COLUMN gauth_used_codes.time_step IS 'The code''s RFC 6238 time step (seconds since the epoch / time-step-size)'`);
    await q.query(`COMMENT ON COLUMN gauth_used_codes.expires_at IS 'When the step leaves the window and the row may be deleted'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gauth_used_codes`);
    await q.query(`DROP TABLE gauth_scratch_codes`);
    await q.query(`DROP TABLE gauth_credentials`);
  }
}

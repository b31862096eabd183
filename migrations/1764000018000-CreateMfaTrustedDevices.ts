import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trusted devices (issue 13, CAS `cas.authn.mfa.trusted.*`): a user's decision, at a right code,
 * to have this browser remembered so that the provider's code is not asked again until the record
 * expires or is revoked. CAS's MultifactorAuthenticationTrustRecord, one row per user, browser and
 * provider. Owned by the auth module (auth/mfa/trusted/trusted-devices.ts); no other code touches it.
 *
 * - The browser is known by a random 256-bit secret in its MFATRUSTED cookie (encrypted and
 *   authenticated with a key derived from the TGC signing key). Only the secret's SHA-256 is stored:
 *   a copy of the table recognises no browser, and nothing in it can be turned into a cookie.
 * - The login looks a record up by (username_key, device_fingerprint, provider), the unique key,
 *   and takes it only while expires_at is in the future; the housekeeping deletes expired rows
 *   through ix_mfa_trusted_devices_expires.
 */
export class CreateMfaTrustedDevices1764000018000 implements MigrationInterface {
  name = 'CreateMfaTrustedDevices1764000018000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mfa_trusted_devices (
        id                 uuid         NOT NULL,
        username_key       text         NOT NULL,
        username           varchar(256) NOT NULL,
        provider           varchar(64)  NOT NULL,
        device_fingerprint bytea        NOT NULL,
        name               varchar(100) NOT NULL,
        recorded_at        timestamptz  NOT NULL,
        expires_at         timestamptz  NOT NULL,
        last_used_at       timestamptz,
        CONSTRAINT pk_mfa_trusted_devices PRIMARY KEY (id),
        CONSTRAINT uq_mfa_trusted_devices_user_device UNIQUE (username_key, device_fingerprint, provider),
        CONSTRAINT ck_mfa_trusted_devices_fingerprint CHECK (octet_length(device_fingerprint) = 32),
        CONSTRAINT ck_mfa_trusted_devices_expiry CHECK (expires_at > recorded_at)
      )`);
    await q.query(`CREATE INDEX ix_mfa_trusted_devices_expires ON mfa_trusted_devices (expires_at)`);
    await q.query(`COMMENT ON TABLE mfa_trusted_devices IS 'Browsers a user trusted at a right MFA code (remember this browser): that provider''s code is skipped there until expires_at; one row per user, browser and provider'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.id IS 'Record key (CAS recordKey): DELETE /actuator/multifactorTrustedDevices/{id} revokes this one record'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.username_key IS 'Canonical key of the username (NFKC + case folding): ALICE and alice are one user'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.username IS 'Username as the user logged in (CAS principal)'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.provider IS 'Multi-factor provider whose code is skipped (e.g. mfa-gauth)'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.device_fingerprint IS 'SHA-256 of the random secret in the browser''s MFATRUSTED cookie; never the cookie or the secret'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.name IS 'Browser and system, from the User-Agent when trusted (e.g. Chrome on Linux), for the help desk'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.recorded_at IS 'When the user trusted the browser (a right code with the box ticked); renewed when ticked again'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.expires_at IS 'From then on the code is asked again; the housekeeping deletes the row'`);
    await q.query(`COMMENT ON COLUMN mfa_trusted_devices.last_used_at IS 'When a login last skipped the code through this record; NULL: never yet'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mfa_trusted_devices`);
  }
}

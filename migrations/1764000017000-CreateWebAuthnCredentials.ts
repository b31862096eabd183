import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The WebAuthn provider `mfa-webauthn` (issue 13): the users' security keys and passkeys. Owned
 * by the auth module (auth/mfa/webauthn/webauthn-credentials.ts); no other code touches these rows.
 *
 * - A row is written when a registration ceremony is verified; there is no pending state (the
 *   challenge lives in the login's execution token, not here).
 * - The public key is no secret: a copy of the table lets nobody sign in. It is the COSE key as
 *   the authenticator gave it.
 * - `sign_count` only grows: the UPDATE that records a use is conditional on it, so of two
 *   assertions with the same counter (a cloned key, or one replayed to two nodes) one wins.
 *   An assertion whose counter does not grow sets `flagged_at` and is refused, as is every
 *   later one of that credential until an administrator removes it.
 * - Looked up by user (the second factor, the admin endpoint) and by credential id (a passkey
 *   login names no user: the credential id finds it), hence the two indexes.
 */
export class CreateWebAuthnCredentials1764000017000 implements MigrationInterface {
  name = 'CreateWebAuthnCredentials1764000017000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webauthn_credentials (
        id              uuid         NOT NULL,
        credential_id   varchar(1400) NOT NULL,
        username_key    text         NOT NULL,
        username        varchar(256) NOT NULL,
        public_key      bytea        NOT NULL,
        sign_count      bigint       NOT NULL,
        transports      text[]       NOT NULL DEFAULT '{}',
        device_type     varchar(20)  NOT NULL,
        backed_up       boolean      NOT NULL,
        aaguid          uuid         NOT NULL,
        user_verified   boolean      NOT NULL,
        name            varchar(100) NOT NULL,
        registered_at   timestamptz  NOT NULL,
        last_used_at    timestamptz,
        flagged_at      timestamptz,
        CONSTRAINT pk_webauthn_credentials PRIMARY KEY (id),
        CONSTRAINT uq_webauthn_credentials_credential_id UNIQUE (credential_id),
        CONSTRAINT ck_webauthn_credentials_sign_count CHECK (sign_count >= 0 AND sign_count <= 4294967295),
        CONSTRAINT ck_webauthn_credentials_device_type CHECK (device_type IN ('singleDevice', 'multiDevice'))
      )`);
    await q.query(`CREATE INDEX ix_webauthn_credentials_username_key ON webauthn_credentials (username_key)`);
    await q.query(`COMMENT ON TABLE webauthn_credentials IS 'WebAuthn security keys and passkeys (mfa-webauthn), one row per registered credential of a user'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.id IS 'Row id (the device id of the admin endpoints)'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.credential_id IS 'The authenticator''s credential id, base64url, as the browser sends it back (unique: a passkey login finds its user by it)'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.username_key IS 'Canonical key of the username (NFKC + case folding): ALICE and alice are one user'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.username IS 'Principal as the login that registered it named it'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.public_key IS 'COSE public key of the credential (not a secret)'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.sign_count IS 'Signature counter of the last accepted assertion; 0 for authenticators that keep none'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.transports IS 'How the browser can reach the authenticator (usb, nfc, ble, internal, hybrid), as it reported at registration'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.device_type IS 'singleDevice (a security key) or multiDevice (a synced passkey)'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.backed_up IS 'The credential is backed up (synced) according to its last assertion'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.aaguid IS 'Authenticator model (AAGUID); all zeros when the authenticator does not say'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.user_verified IS 'The authenticator verified its user (PIN, biometrics) at registration'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.name IS 'Name shown to the user and the help desk'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.registered_at IS 'When the registration was verified'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.last_used_at IS 'When an assertion of it was last accepted'`);
    await q.query(`COMMENT ON COLUMN webauthn_credentials.flagged_at IS 'When an assertion with a counter that did not grow (a possible clone) was refused; set: refused until removed'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webauthn_credentials`);
  }
}

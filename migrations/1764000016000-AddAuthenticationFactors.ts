import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The session records which multi-factor providers it satisfied and when (issue 13), for SSO to
 * ask a missing factor only (step-up) and validation to release `authnContextClass`. A JSON
 * object, provider id → ISO 8601 time it was satisfied: a session gains factors as it steps up.
 * Nullable: a password-only session, and every session older than this column, has none.
 */
export class AddAuthenticationFactors1764000016000 implements MigrationInterface {
  name = 'AddAuthenticationFactors1764000016000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets ADD COLUMN authentication_factors jsonb`);
    await q.query(
      `COMMENT ON COLUMN tickets.authentication_factors IS 'TGT: multi-factor providers the session satisfied, provider id (e.g. mfa-gauth) -> ISO 8601 time it was satisfied; released as authnContextClass. NULL: password only, and for ST, PGT, PT'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets DROP COLUMN authentication_factors`);
  }
}

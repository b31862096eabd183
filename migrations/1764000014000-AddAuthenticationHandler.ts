import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The session records which authentication handler accepted the credentials, for /p3/serviceValidate
 * to release it as CAS does (`successfulAuthenticationHandlers`, `authenticationMethod`). Nullable:
 * sessions created before this column have none, and release none.
 */
export class AddAuthenticationHandler1764000014000 implements MigrationInterface {
  name = 'AddAuthenticationHandler1764000014000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets ADD COLUMN authentication_handler varchar(100)`);
    await q.query(
      `COMMENT ON COLUMN tickets.authentication_handler IS 'TGT: name of the authentication handler that accepted the credentials (CAS successfulAuthenticationHandlers, e.g. QueryDatabaseAuthenticationHandler); NULL for ST, PGT, PT and for sessions created before migration 1764000014000'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets DROP COLUMN authentication_handler`);
  }
}

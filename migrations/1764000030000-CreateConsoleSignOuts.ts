import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Console sessions ended by "Sign out". The console cookie carries its session in itself
 * (encrypted), so a copy of it would stay valid until its idle or absolute end; a sign-out writes
 * the session's random value here, and every node refuses a cookie whose value is listed. A row
 * is needed only until the cookie would have ended anyway (`until`), and is deleted after that.
 */
export class CreateConsoleSignOuts1764000030000 implements MigrationInterface {
  name = 'CreateConsoleSignOuts1764000030000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE console_sign_outs (
        session_nonce varchar(64) NOT NULL,
        until         timestamptz NOT NULL,
        CONSTRAINT pk_console_sign_outs PRIMARY KEY (session_nonce)
      )`);
    await q.query(`COMMENT ON TABLE console_sign_outs IS 'Admin console sessions signed out before their cookie ends: the random value of each, until the cookie would have ended (admin/console-sign-outs.ts)'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE console_sign_outs`);
  }
}

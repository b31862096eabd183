import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The login form no longer costs a row: its `execution` token carries its own state, encrypted
 * (src/auth/login-flows.ts). Every anonymous GET /login used to insert into login_flows, faster
 * than the clean-up could delete under a flood. What remains stored is single use: the id of each
 * token once it is posted, until the token has expired. Forms served before the upgrade are
 * refused once ("expired"), and the user logs in from a fresh one.
 */
export class ReplaceLoginFlowsByUsedExecutions1764000011000 implements MigrationInterface {
  name = 'ReplaceLoginFlowsByUsedExecutions1764000011000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE used_login_executions (
        id         varchar(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT pk_used_login_executions PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX ix_used_login_executions_expires ON used_login_executions (expires_at)`);
    await q.query(`COMMENT ON TABLE used_login_executions IS 'Login form tokens (the execution field) already posted: a second post of the same id is refused'`);
    await q.query(`COMMENT ON COLUMN used_login_executions.id IS 'The token''s random id (jti)'`);
    await q.query(`COMMENT ON COLUMN used_login_executions.expires_at IS 'When the token itself expires; the row is deleted some minutes after'`);
    await q.query(`DROP TABLE login_flows`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE login_flows (
        id          varchar(64)  NOT NULL,
        browser_key varchar(64)  NOT NULL,
        service     text,
        created_at  timestamptz  NOT NULL,
        expires_at  timestamptz  NOT NULL,
        CONSTRAINT pk_login_flows PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX ix_login_flows_expires ON login_flows (expires_at)`);
    await q.query(`COMMENT ON TABLE login_flows IS 'Single-use login form tokens (the execution field), bound to the browser that fetched the form'`);
    await q.query(`COMMENT ON COLUMN login_flows.browser_key IS 'SHA-256 of the CASLOGIN cookie of the browser the form was served to'`);
    await q.query(`DROP TABLE used_login_executions`);
  }
}

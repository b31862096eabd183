import { MigrationInterface, QueryRunner } from 'typeorm';

/** Users checked before the static CAS_AUTHN_ACCEPT_USERS list. Owned by the auth module. */
export class CreateUsers1764000001000 implements MigrationInterface {
  name = 'CreateUsers1764000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        username      varchar(256) NOT NULL,
        password_hash text         NOT NULL,
        attributes    jsonb        NOT NULL DEFAULT '{}'::jsonb,
        disabled      boolean      NOT NULL DEFAULT false,
        created_at    timestamptz  NOT NULL DEFAULT now(),
        updated_at    timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_users PRIMARY KEY (username)
      )`);
    // Usernames are unique ignoring case: 'Alice' and 'alice' are one account.
    await q.query(`CREATE UNIQUE INDEX ux_users_username_ci ON users (lower(username))`);
    await q.query(`COMMENT ON TABLE users IS 'Accounts that can log in with a password (checked before the static user list)'`);
    await q.query(`COMMENT ON COLUMN users.username IS 'Login name as entered at creation; unique ignoring case'`);
    await q.query(`COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string (parameters inside)'`);
    await q.query(`COMMENT ON COLUMN users.attributes IS 'Principal attributes released to services, name -> list of values'`);
    await q.query(`COMMENT ON COLUMN users.disabled IS 'A disabled account cannot log in and its sessions were ended'`);
    await q.query(`COMMENT ON COLUMN users.created_at IS 'When the account was created'`);
    await q.query(`COMMENT ON COLUMN users.updated_at IS 'Last change of password, attributes or disabled flag'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/** Failed-login counters shared by every node (throttling). Owned by the auth module. */
export class CreateLoginThrottle1764000003000 implements MigrationInterface {
  name = 'CreateLoginThrottle1764000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE login_throttle (
        key          varchar(320) NOT NULL,
        window_start timestamptz  NOT NULL,
        failures     integer      NOT NULL,
        CONSTRAINT pk_login_throttle PRIMARY KEY (key, window_start)
      )`);
    await q.query(`CREATE INDEX ix_login_throttle_window ON login_throttle (window_start)`);
    await q.query(`COMMENT ON TABLE login_throttle IS 'Password attempts per client IP, account and device in fixed time windows'`);
    await q.query(`COMMENT ON COLUMN login_throttle.key IS 'ip:<address>, account:<lower-cased username> or device:<device cookie id>'`);
    await q.query(`COMMENT ON COLUMN login_throttle.window_start IS 'Start of the fixed window (CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS long)'`);
    await q.query(`COMMENT ON COLUMN login_throttle.failures IS 'Password checks in the window that did not succeed (in-flight ones included)'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE login_throttle`);
  }
}

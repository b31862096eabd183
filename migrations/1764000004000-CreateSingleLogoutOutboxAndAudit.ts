import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single logout requests are written here in the same transaction that deletes the session, then
 * delivered by a worker on any node: a crash between the two loses nothing. Admin actions are
 * recorded in admin_audit.
 */
export class CreateSingleLogoutOutboxAndAudit1764000004000 implements MigrationInterface {
  name = 'CreateSingleLogoutOutboxAndAudit1764000004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE slo_outbox (
        id              varchar(64)  NOT NULL,
        session_id      varchar(256) NOT NULL,
        ticket_id       varchar(256) NOT NULL,
        principal       varchar(512) NOT NULL,
        service         text         NOT NULL,
        logout_url      text         NOT NULL,
        message         text         NOT NULL,
        reason          varchar(16)  NOT NULL,
        status          varchar(16)  NOT NULL DEFAULT 'PENDING',
        attempts        integer      NOT NULL DEFAULT 0,
        next_attempt_at timestamptz  NOT NULL,
        claimed_until   timestamptz,
        last_http_status integer,
        last_error      text,
        created_at      timestamptz  NOT NULL,
        completed_at    timestamptz,
        CONSTRAINT pk_slo_outbox PRIMARY KEY (id),
        CONSTRAINT ck_slo_outbox_status CHECK (status IN ('PENDING', 'SENDING', 'SUCCESS', 'FAILURE'))
      )`);
    await q.query(`CREATE INDEX ix_slo_outbox_due ON slo_outbox (next_attempt_at) WHERE status IN ('PENDING', 'SENDING')`);
    await q.query(`CREATE INDEX ix_slo_outbox_session ON slo_outbox (session_id)`);
    await q.query(`COMMENT ON TABLE slo_outbox IS 'Back-channel single logout requests (SAML LogoutRequest), one per service of an ended session, and their delivery'`);
    for (const [col, text] of [
      ['id', 'LogoutRequest ID (LR-...)'],
      ['session_id', 'TGT id of the ended session'],
      ['ticket_id', 'ST the service received: the SessionIndex of the request'],
      ['principal', 'User of the session: the NameID of the request'],
      ['service', 'Service URL as given at login'],
      ['logout_url', 'Where the request is POSTed: the registered logoutUrl or the service URL'],
      ['message', 'The SAML LogoutRequest XML'],
      ['reason', 'Why the session ended: LOGOUT, ADMIN, EXPIRED, DISABLED'],
      ['status', 'PENDING, SENDING (claimed by a node), SUCCESS or FAILURE (attempts exhausted)'],
      ['attempts', 'Delivery attempts made'],
      ['next_attempt_at', 'Earliest time of the next attempt (backoff)'],
      ['claimed_until', 'A SENDING row whose claim expired (node died) is attempted again'],
      ['last_http_status', 'HTTP status of the last attempt, if any answer came'],
      ['last_error', 'Error of the last attempt (timeout, refused, non-2xx)'],
      ['created_at', 'When the session ended'],
      ['completed_at', 'When the request reached SUCCESS or FAILURE'],
    ]) {
      await q.query(`COMMENT ON COLUMN slo_outbox.${col} IS '${text}'`);
    }

    await q.query(`
      CREATE TABLE admin_audit (
        id         bigint GENERATED ALWAYS AS IDENTITY,
        at         timestamptz  NOT NULL,
        actor      varchar(128) NOT NULL,
        client_ip  varchar(64)  NOT NULL,
        action     varchar(16)  NOT NULL,
        target     text         NOT NULL,
        status     integer      NOT NULL,
        CONSTRAINT pk_admin_audit PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX ix_admin_audit_at ON admin_audit (at)`);
    await q.query(`COMMENT ON TABLE admin_audit IS 'Every request to the administration API: who, from where, what, and the answer'`);
    await q.query(`COMMENT ON COLUMN admin_audit.actor IS 'Token id (the part before the colon in CAS_ADMIN_TOKENS), or loopback'`);
    await q.query(`COMMENT ON COLUMN admin_audit.action IS 'HTTP method'`);
    await q.query(`COMMENT ON COLUMN admin_audit.target IS 'Path and query of the request'`);
    await q.query(`COMMENT ON COLUMN admin_audit.status IS 'HTTP status answered'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_audit`);
    await q.query(`DROP TABLE slo_outbox`);
  }
}

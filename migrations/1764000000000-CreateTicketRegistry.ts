import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ticket registry, the registered services and the login flows.
 *
 * Every ticket row carries `session_id`, the id of the root TGT of its SSO session (a TGT's
 * session_id is its own id). Destroying a session is `DELETE … WHERE session_id = $1`, and a
 * later sharded Postgres can co-locate a session with its tickets by distributing on it.
 */
export class CreateTicketRegistry1764000000000 implements MigrationInterface {
  name = 'CreateTicketRegistry1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tickets (
        id                    varchar(256) NOT NULL,
        type                  varchar(8)   NOT NULL,
        session_id            varchar(256) NOT NULL,
        parent_id             varchar(256),
        principal             varchar(512) NOT NULL,
        service               text,
        registered_service_id bigint,
        created_at            timestamptz  NOT NULL,
        last_used_at          timestamptz  NOT NULL,
        expires_at            timestamptz  NOT NULL,
        hard_expires_at       timestamptz,
        idle_timeout_seconds  integer,
        use_count             integer      NOT NULL DEFAULT 0,
        from_new_login        boolean,
        remember_me           boolean      NOT NULL DEFAULT false,
        attributes            jsonb,
        CONSTRAINT pk_tickets PRIMARY KEY (id),
        CONSTRAINT ck_tickets_type CHECK (type IN ('TGT', 'ST', 'PGT', 'PT')),
        CONSTRAINT ck_tickets_tgt_is_root CHECK ((type = 'TGT') = (session_id = id)),
        CONSTRAINT fk_tickets_session FOREIGN KEY (session_id) REFERENCES tickets (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_tickets_session ON tickets (session_id)`);
    await q.query(`CREATE INDEX ix_tickets_type_principal ON tickets (type, lower(principal))`);
    await q.query(`CREATE INDEX ix_tickets_parent ON tickets (parent_id) WHERE parent_id IS NOT NULL`);
    await q.query(`CREATE INDEX ix_tickets_expires ON tickets (expires_at)`);
    await q.query(`COMMENT ON TABLE tickets IS 'CAS ticket registry: one row per live ticket (TGT = SSO session, ST, PGT, PT)'`);
    for (const [col, text] of [
      ['id', 'Ticket id as clients see it (TGT-/ST-/PGT-/PT- prefix, CSPRNG random part)'],
      ['type', 'TGT, ST, PGT or PT'],
      ['session_id', 'Id of the root TGT of the SSO session this ticket belongs to (its own id for a TGT)'],
      ['parent_id', 'Ticket this one was granted from: the TGT for an ST/PGT, the PGT for a PT'],
      ['principal', 'Authenticated username'],
      ['service', 'Service URL the ST/PT was issued for (NULL for TGT)'],
      ['registered_service_id', 'registered_services.id that matched the service'],
      ['created_at', 'When the ticket was issued'],
      ['last_used_at', 'Last time the ticket was used (TGT: last SSO use)'],
      ['expires_at', 'The ticket is dead at and after this instant; idle timeout slides it on each TGT use'],
      ['hard_expires_at', 'TGT: absolute end of the session whatever its use (max time to live)'],
      ['idle_timeout_seconds', 'TGT: idle timeout (time to kill) applied at each use'],
      ['use_count', 'TGT: number of tickets granted from it'],
      ['from_new_login', 'ST/PT: issued in the same request as a credential login (CAS isFromNewLogin)'],
      ['remember_me', 'TGT: long-term (remember-me) session'],
      ['attributes', 'TGT: principal attributes released at validation, name -> list of values'],
    ]) {
      await q.query(`COMMENT ON COLUMN tickets.${col} IS '${text}'`);
    }

    await q.query(`
      CREATE TABLE session_services (
        session_id            varchar(256) NOT NULL,
        ticket_id             varchar(256) NOT NULL,
        service               text         NOT NULL,
        registered_service_id bigint,
        issued_at             timestamptz  NOT NULL,
        CONSTRAINT pk_session_services PRIMARY KEY (session_id, ticket_id),
        CONSTRAINT fk_session_services_session FOREIGN KEY (session_id) REFERENCES tickets (id) ON DELETE CASCADE
      )`);
    await q.query(`COMMENT ON TABLE session_services IS 'Services that received a ticket in an SSO session; kept after the ST is consumed, for single logout and the admin listing'`);
    await q.query(`COMMENT ON COLUMN session_services.session_id IS 'Root TGT id of the session'`);
    await q.query(`COMMENT ON COLUMN session_services.ticket_id IS 'The ST/PT id the service received (SAML SessionIndex in single logout)'`);
    await q.query(`COMMENT ON COLUMN session_services.service IS 'Service URL as given at /login'`);
    await q.query(`COMMENT ON COLUMN session_services.issued_at IS 'When the ticket was issued'`);

    await q.query(`
      CREATE TABLE registered_services (
        id               bigint       NOT NULL,
        name             varchar(255) NOT NULL,
        service_id       text         NOT NULL,
        evaluation_order integer      NOT NULL DEFAULT 0,
        enabled          boolean      NOT NULL DEFAULT true,
        definition       jsonb        NOT NULL,
        source           varchar(16)  NOT NULL,
        created_at       timestamptz  NOT NULL DEFAULT now(),
        updated_at       timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_registered_services PRIMARY KEY (id)
      )`);
    await q.query(`COMMENT ON TABLE registered_services IS 'Applications allowed to use CAS, in Apereo CAS JSON service format'`);
    await q.query(`COMMENT ON COLUMN registered_services.service_id IS 'Regular expression that must match the whole service URL'`);
    await q.query(`COMMENT ON COLUMN registered_services.evaluation_order IS 'Lower is tried first'`);
    await q.query(`COMMENT ON COLUMN registered_services.enabled IS 'accessStrategy.enabled'`);
    await q.query(`COMMENT ON COLUMN registered_services.definition IS 'The whole CAS JSON definition'`);
    await q.query(`COMMENT ON COLUMN registered_services.source IS 'Where the definition came from: json (file import) or api'`);

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
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE login_flows`);
    await q.query(`DROP TABLE registered_services`);
    await q.query(`DROP TABLE session_services`);
    await q.query(`DROP TABLE tickets`);
  }
}

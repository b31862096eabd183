import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Session history (issue 14): every ended SSO session leaves one row, written in the transaction
 * that ends it (tickets/session-history.ts, the only SQL on the table), whatever ended it: a
 * logout, an administrator (with the admin token's id), expiry (hard limit or idle timeout, told
 * apart from the row's deadlines), a session limit, a disabled account, a password change, a new
 * login replacing it. `services` lists what the session reached and how each one's logout went:
 * a back-channel request is named by its slo_outbox id and its status follows the delivery
 * (PENDING, then SUCCESS or FAILURE, written by the statement that records the attempt), so the
 * outcome stays here after the outbox's finished rows are deleted (7 days).
 *
 * Indexes, each for a query of GET /actuator/ssoSessions/history (newest first, keyset on
 * (ended_at, id)): all of them and `since` (ix_session_history_ended, also the retention purge),
 * one user's (ix_session_history_user), one of the rare reasons (ix_session_history_reason,
 * partial); session_id for the delivery's status updates, only on rows with a back-channel request
 * (partial). Each index costs the cleaner's batch insert: a cleaner batch of 20,000 expired
 * sessions took 1.6 s for its history rows with five full indexes, 0.9 s with two. Where the session came from is
 * copied from the tickets row (migration 1764000019000): client IP, User-Agent, device, location.
 */
export class CreateSessionHistory1764000020000 implements MigrationInterface {
  name = 'CreateSessionHistory1764000020000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE session_history (
        id                     bigint       GENERATED ALWAYS AS IDENTITY,
        session_id             varchar(256) NOT NULL,
        principal              varchar(512) NOT NULL,
        principal_key          text         NOT NULL,
        created_at             timestamptz  NOT NULL,
        last_used_at           timestamptz,
        ended_at               timestamptz  NOT NULL,
        reason                 varchar(16)  NOT NULL,
        ended_by               varchar(128),
        uses                   integer      NOT NULL DEFAULT 0,
        remember_me            boolean      NOT NULL DEFAULT false,
        authentication_handler varchar(100),
        authentication_factors jsonb,
        client_ip              inet,
        user_agent             text,
        device_browser         text,
        device_os              text,
        device_type            text,
        location_country       text,
        location_city          text,
        services               jsonb        NOT NULL DEFAULT '[]'::jsonb,
        CONSTRAINT pk_session_history PRIMARY KEY (id),
        CONSTRAINT ck_session_history_reason CHECK (reason IN
          ('LOGOUT', 'ADMIN', 'EXPIRED_HARD', 'EXPIRED_IDLE', 'LIMIT', 'DISABLED', 'PASSWORD_CHANGE', 'REPLACED')),
        CONSTRAINT ck_session_history_services CHECK (jsonb_typeof(services) = 'array')
      )`);
    await q.query(`CREATE INDEX ix_session_history_ended ON session_history (ended_at, id)`);
    await q.query(`CREATE INDEX ix_session_history_user ON session_history (principal_key, ended_at, id)`);
    // The cleaner writes most rows (EXPIRED_*, often without back-channel logout) and pays for every
    // index it updates: these two leave its rows out. A page of the common reasons (LOGOUT,
    // EXPIRED_*) is found walking ix_session_history_ended; the rare ones have their own index.
    await q.query(
      `CREATE INDEX ix_session_history_reason ON session_history (reason, ended_at, id) WHERE reason IN ('ADMIN', 'LIMIT', 'DISABLED', 'PASSWORD_CHANGE', 'REPLACED')`,
    );
    await q.query(`CREATE INDEX ix_session_history_session ON session_history (session_id) WHERE services @> '[{"logout": "BACK_CHANNEL"}]'`);
    await q.query(`COMMENT ON TABLE session_history IS 'One row per ended SSO session: who, started, ended, why, the services it reached and how their logouts went; kept SESSION_HISTORY_RETENTION (90 days)'`);
    for (const [col, text] of [
      ['id', 'Row number, in the order sessions ended'],
      ['session_id', 'TGT id the session had (no longer valid); slo_outbox.session_id of its logout requests'],
      ['principal', 'Username as the session asserted it'],
      ['principal_key', "Canonical username (NFKC + full case folding): filter on it to find a user's history through the index"],
      ['created_at', 'When the user logged in'],
      ['last_used_at', 'Last SSO use: the last ticket granted from the session'],
      ['ended_at', 'When the session ended (server clock); for an expiry, the deadline that passed (the cleaner may come later)'],
      ['reason', 'LOGOUT (the user), ADMIN (ssoSessions DELETE; see ended_by), EXPIRED_HARD (max time to live), EXPIRED_IDLE (time to kill), LIMIT (session limit), DISABLED (account disabled), PASSWORD_CHANGE, REPLACED (a new login in the same browser)'],
      ['ended_by', 'ADMIN: the admin token id (the part before the colon in CAS_ADMIN_TOKENS) or loopback; NULL otherwise'],
      ['uses', 'Tickets granted from the session'],
      ['remember_me', 'Long-term (remember-me) session'],
      ['authentication_handler', 'Handler that accepted the credentials (CAS successfulAuthenticationHandlers)'],
      ['authentication_factors', 'Multi-factor providers the session satisfied, provider id -> when; NULL: password only'],
      ['client_ip', 'IP address the user logged in from (after TRUSTED_PROXIES), as tickets.client_ip; NULL when unknown'],
      ['user_agent', 'User-Agent of the login request (at most 512 characters)'],
      ['device_browser', 'Browser parsed from user_agent at login (e.g. Chrome 131)'],
      ['device_os', 'Operating system parsed from user_agent at login (e.g. Android 14)'],
      ['device_type', 'desktop, mobile, tablet, tv or bot, parsed from user_agent at login'],
      ['location_country', 'ISO 3166-1 alpha-2 country of client_ip (GEOIP_DATABASE); NULL without GeoIP or when unknown'],
      ['location_city', 'City of client_ip (GEOIP_DATABASE), in English; NULL without GeoIP or when unknown'],
      ['services', 'JSON array, one object per service URL reached: service, registered_service_id, ticket_id (latest ST, the logout SessionIndex), issued_at, tickets, logout (BACK_CHANNEL, FRONT_CHANNEL, NONE, HANDED_OVER), request_id (slo_outbox.id) and status (PENDING, SUCCESS, FAILURE) for BACK_CHANNEL'],
    ]) {
      await q.query(`COMMENT ON COLUMN session_history.${col} IS '${text.replace(/'/g, "''")}'`);
    }

    await q.query(`
      CREATE VIEW sso_session_history AS
      SELECT h.id,
             h.session_id        AS tgt_id,
             h.principal,
             h.principal_key,
             h.created_at,
             h.last_used_at,
             h.ended_at,
             h.ended_at - h.created_at AS duration,
             h.reason,
             h.ended_by,
             h.uses,
             h.remember_me,
             h.authentication_handler,
             h.client_ip,
             h.user_agent,
             h.device_browser,
             h.device_os,
             h.device_type,
             h.location_country,
             h.location_city,
             jsonb_array_length(h.services) AS services_reached,
             (SELECT count(*) FROM jsonb_array_elements(h.services) e WHERE e->>'logout' = 'BACK_CHANNEL')::int AS logouts_sent,
             (SELECT count(*) FROM jsonb_array_elements(h.services) e WHERE e->>'status' = 'PENDING')::int AS logouts_pending,
             (SELECT count(*) FROM jsonb_array_elements(h.services) e WHERE e->>'status' = 'FAILURE')::int AS logouts_failed,
             h.services
        FROM session_history h`);
    await q.query(`COMMENT ON VIEW sso_session_history IS 'One row per ended SSO session, with its duration and a summary of its single logout; read-only, for DBAs'`);
    for (const [col, text] of [
      ['id', 'session_history.id: the order sessions ended in'],
      ['tgt_id', 'TGT id the session had'],
      ['principal', 'Username as the session asserted it'],
      ['created_at', 'When the user logged in'],
      ['last_used_at', 'Last SSO use: the last ticket granted from the session'],
      ['ended_at', 'When the session ended: for an expiry, the deadline that passed'],
      ['principal_key', 'Canonical username: filter on it to use the index'],
      ['duration', 'How long the session lived'],
      ['reason', 'Why it ended (see session_history.reason)'],
      ['ended_by', 'ADMIN: the admin token id, or loopback'],
      ['uses', 'Tickets granted from the session'],
      ['remember_me', 'Long-term (remember-me) session'],
      ['authentication_handler', 'Handler that accepted the credentials'],
      ['client_ip', 'IP address the user logged in from; filter a range with client_ip <<= a CIDR such as 10.0.0.0/8'],
      ['user_agent', 'User-Agent of the login request'],
      ['device_browser', 'Browser parsed from user_agent at login'],
      ['device_os', 'Operating system parsed from user_agent at login'],
      ['device_type', 'desktop, mobile, tablet, tv or bot'],
      ['location_country', 'ISO 3166-1 alpha-2 country of client_ip (GEOIP_DATABASE)'],
      ['location_city', 'City of client_ip (GEOIP_DATABASE)'],
      ['services_reached', 'Distinct service URLs that received a ticket in the session'],
      ['logouts_sent', 'Back-channel logout requests queued for its services'],
      ['logouts_pending', 'Of those, not delivered yet (retrying)'],
      ['logouts_failed', 'Of those, given up after the last attempt'],
      ['services', 'Per service: what it received and how its logout went (see session_history.services)'],
    ]) {
      await q.query(`COMMENT ON COLUMN sso_session_history.${col} IS '${text}'`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW sso_session_history`);
    await q.query(`DROP TABLE session_history`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';
import { CreateDbaViews1764000007000 } from './1764000007000-CreateDbaViews';

/** sso_sessions as migration 1764000016000 left it; this migration appends the origin columns. */
const SSO_SESSIONS_SELECT = `
      SELECT t.id               AS tgt_id,
             t.principal,
             t.created_at,
             t.last_used_at,
             t.expires_at,
             t.hard_expires_at,
             t.use_count        AS uses,
             (SELECT count(DISTINCT s.service) FROM session_services s WHERE s.session_id = t.id)::int AS services_reached,
             t.remember_me,
             EXISTS (SELECT 1 FROM tickets p
                      WHERE p.session_id = t.id AND p.type = 'PGT' AND p.expires_at > now()) AS proxied,
             t.principal_key,
             t.authentication_factors`;

/** sso_session_services as migration 1764000007000 made it; this migration appends the grant's IP. */
const SSO_SESSION_SERVICES_SELECT = `
      SELECT s.session_id            AS tgt_id,
             t.principal,
             s.service,
             s.registered_service_id,
             r.name                  AS service_name,
             s.ticket_id,
             s.issued_at,
             EXISTS (SELECT 1 FROM tickets st WHERE st.id = s.ticket_id AND st.expires_at > now()) AS ticket_pending`;

const SSO_SESSIONS_FROM = `
        FROM tickets t
       WHERE t.type = 'TGT' AND t.expires_at > now()`;

const SSO_SESSION_SERVICES_FROM = `
        FROM session_services s
        JOIN tickets t ON t.id = s.session_id AND t.type = 'TGT' AND t.expires_at > now()
        LEFT JOIN registered_services r ON r.id = s.registered_service_id`;

/**
 * Where a session comes from (issue 14): the client IP of the login (after TRUSTED_PROXIES), its
 * User-Agent (capped by the server), the device summary parsed from it once at login, and, when
 * GEOIP_DATABASE is set, the country and city of the IP. Each service ticket grant records the IP
 * it was granted to: on the ST row while it lives, and on its session_services record, which
 * outlives the ST (the grant's time is that record's issued_at).
 *
 * All nullable: sessions older than this migration have none, and location stays NULL without a
 * GeoIP database or for an address it does not know. client_ip is inet, so an address or a CIDR
 * range (`client_ip <<= '10.0.0.0/8'`, IPv4 and IPv6) is one GiST index scan over the sessions.
 */
export class AddSessionOrigin1764000019000 implements MigrationInterface {
  name = 'AddSessionOrigin1764000019000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tickets
        ADD COLUMN client_ip        inet,
        ADD COLUMN user_agent       text,
        ADD COLUMN device_browser   text,
        ADD COLUMN device_os        text,
        ADD COLUMN device_type      text,
        ADD COLUMN location_country text,
        ADD COLUMN location_city    text`);
    await q.query(`ALTER TABLE session_services ADD COLUMN client_ip inet`);
    for (const [col, text] of [
      ['client_ip', 'TGT: IP address the user logged in from; ST: IP address the ticket was granted to (both after TRUSTED_PROXIES: X-Forwarded-For only from a trusted proxy). NULL for PGT, PT and rows older than migration 1764000019000'],
      ['user_agent', 'TGT: User-Agent header of the login request, cut to 512 characters; NULL when absent, for ST, PGT, PT and older sessions'],
      ['device_browser', 'TGT: browser name and major version parsed from user_agent at login (e.g. Firefox 133); NULL when unknown'],
      ['device_os', 'TGT: operating system name and version parsed from user_agent at login (e.g. Windows 10); NULL when unknown'],
      ['device_type', 'TGT: device type parsed from user_agent at login: desktop, mobile, tablet, tv or bot; NULL when unknown'],
      ['location_country', 'TGT: ISO 3166-1 alpha-2 country of client_ip from the GEOIP_DATABASE file at login (e.g. FR); NULL without GeoIP or when the address is not in it'],
      ['location_city', 'TGT: city of client_ip from the GEOIP_DATABASE file at login, in English; NULL without GeoIP, for a country-only database or when unknown'],
    ]) {
      await q.query(`COMMENT ON COLUMN tickets.${col} IS '${text}'`);
    }
    await q.query(
      `COMMENT ON COLUMN session_services.client_ip IS 'IP address the ticket was granted to (after TRUSTED_PROXIES); NULL for a PT and for records older than migration 1764000019000'`,
    );
    await q.query(`CREATE INDEX ix_tickets_tgt_client_ip ON tickets USING gist (client_ip inet_ops) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_client_ip IS 'Sessions (TGTs) by client IP: an address or a CIDR range (client_ip <<= $1, IPv4 and IPv6) without reading the table'`,
    );

    // A view column may only be appended in place: the new ones go last.
    await q.query(`CREATE OR REPLACE VIEW sso_sessions AS ${SSO_SESSIONS_SELECT},
             t.client_ip,
             t.user_agent,
             t.device_browser,
             t.device_os,
             t.device_type,
             t.location_country,
             t.location_city ${SSO_SESSIONS_FROM}`);
    for (const [col, text] of [
      ['client_ip', 'IP address the user logged in from (after TRUSTED_PROXIES); filter a range with client_ip <<= a CIDR such as 10.0.0.0/8 (GiST index). NULL: session older than this column'],
      ['user_agent', 'User-Agent of the login request (at most 512 characters)'],
      ['device_browser', 'Browser parsed from user_agent at login (e.g. Chrome 131)'],
      ['device_os', 'Operating system parsed from user_agent at login (e.g. Android 14)'],
      ['device_type', 'desktop, mobile, tablet, tv or bot, parsed from user_agent at login'],
      ['location_country', 'ISO 3166-1 alpha-2 country of client_ip (GEOIP_DATABASE); NULL without GeoIP or when unknown'],
      ['location_city', 'City of client_ip (GEOIP_DATABASE), in English; NULL without GeoIP or when unknown'],
    ]) {
      await q.query(`COMMENT ON COLUMN sso_sessions.${col} IS '${text}'`);
    }
    await q.query(`CREATE OR REPLACE VIEW sso_session_services AS ${SSO_SESSION_SERVICES_SELECT},
             s.client_ip ${SSO_SESSION_SERVICES_FROM}`);
    await q.query(
      `COMMENT ON COLUMN sso_session_services.client_ip IS 'IP address the ticket was granted to (after TRUSTED_PROXIES): where the user was when the service was reached'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A view cannot lose a column in place: both are recreated, then sso_sessions as 1764000016000 made it.
    const views = new CreateDbaViews1764000007000();
    await views.down(q);
    await views.up(q);
    await q.query(`CREATE OR REPLACE VIEW sso_sessions AS ${SSO_SESSIONS_SELECT} ${SSO_SESSIONS_FROM}`);
    await q.query(`COMMENT ON COLUMN sso_sessions.principal IS 'Authenticated username as the account spells it'`);
    await q.query(
      `COMMENT ON COLUMN sso_sessions.principal_key IS 'Canonical username (NFKC + full case folding; an ASCII name in lower case): filter on it to find a user''s sessions through the index'`,
    );
    await q.query(
      `COMMENT ON COLUMN sso_sessions.authentication_factors IS 'Multi-factor providers the session satisfied, provider id -> when (e.g. {"mfa-gauth": "2026-01-01T08:00:00Z"}); NULL: password only'`,
    );
    await q.query(`DROP INDEX ix_tickets_tgt_client_ip`);
    await q.query(`ALTER TABLE session_services DROP COLUMN client_ip`);
    await q.query(`
      ALTER TABLE tickets
        DROP COLUMN client_ip,
        DROP COLUMN user_agent,
        DROP COLUMN device_browser,
        DROP COLUMN device_os,
        DROP COLUMN device_type,
        DROP COLUMN location_country,
        DROP COLUMN location_city`);
  }
}

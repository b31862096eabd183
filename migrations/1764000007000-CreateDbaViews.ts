import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read-only views for DBAs (README "For DBAs"): the live SSO sessions and the services each one
 * reached, so that the usual questions need no knowledge of the ticket table's encoding.
 *
 * "Live" is computed in the view against the database's now(), so every query sees the state at
 * its own transaction start without any parameter. The server itself compares with its
 * application clock (kept NTP-synchronised); the two agree except for clock skew.
 * The views read tickets through the (type, lower(principal)), session_id and expires_at indexes,
 * so filtering them by principal or by expires_at stays an index scan.
 */
export class CreateDbaViews1764000007000 implements MigrationInterface {
  name = 'CreateDbaViews1764000007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE VIEW sso_sessions AS
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
                      WHERE p.session_id = t.id AND p.type = 'PGT' AND p.expires_at > now()) AS proxied
        FROM tickets t
       WHERE t.type = 'TGT' AND t.expires_at > now()`);
    await q.query(`COMMENT ON VIEW sso_sessions IS 'One row per live SSO session (TGT not expired at now()); read-only, for DBAs'`);
    for (const [col, text] of [
      ['tgt_id', 'TGT id: the session, also tickets.session_id of all its tickets'],
      ['principal', 'Authenticated username as entered at login (compare with lower() to ignore case)'],
      ['created_at', 'When the user logged in (CAS authentication date)'],
      ['last_used_at', 'Last SSO use: the last ticket granted from this session'],
      ['expires_at', 'When the session ends unless used again: the earlier of idle and hard limit'],
      ['hard_expires_at', 'Absolute end of the session whatever its use (max time to live)'],
      ['uses', 'Tickets granted from the session so far'],
      ['services_reached', 'Distinct service URLs that received a ticket in this session'],
      ['remember_me', 'Long-term (remember-me) session with a persistent cookie'],
      ['proxied', 'The session holds a live proxy-granting ticket (PGT)'],
    ]) {
      await q.query(`COMMENT ON COLUMN sso_sessions.${col} IS '${text}'`);
    }

    await q.query(`
      CREATE VIEW sso_session_services AS
      SELECT s.session_id            AS tgt_id,
             t.principal,
             s.service,
             s.registered_service_id,
             r.name                  AS service_name,
             s.ticket_id,
             s.issued_at,
             EXISTS (SELECT 1 FROM tickets st WHERE st.id = s.ticket_id AND st.expires_at > now()) AS ticket_pending
        FROM session_services s
        JOIN tickets t ON t.id = s.session_id AND t.type = 'TGT' AND t.expires_at > now()
        LEFT JOIN registered_services r ON r.id = s.registered_service_id`);
    await q.query(`COMMENT ON VIEW sso_session_services IS 'One row per ticket a live SSO session granted to a service (the services each session reached); read-only, for DBAs'`);
    for (const [col, text] of [
      ['tgt_id', 'TGT id of the live session (sso_sessions.tgt_id)'],
      ['principal', 'Username of the session'],
      ['service', 'Service URL as given at /login'],
      ['registered_service_id', 'registered_services.id that matched the service'],
      ['service_name', 'Name of that registered service (NULL once it is deleted)'],
      ['ticket_id', 'The ST/PT the service received: the SessionIndex of its single logout request'],
      ['issued_at', 'When the ticket was issued'],
      ['ticket_pending', 'The ticket can still be validated: not validated yet (or uses left) and not expired'],
    ]) {
      await q.query(`COMMENT ON COLUMN sso_session_services.${col} IS '${text}'`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW sso_session_services`);
    await q.query(`DROP VIEW sso_sessions`);
  }
}

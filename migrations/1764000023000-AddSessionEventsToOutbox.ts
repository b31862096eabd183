import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Session lifecycle events (tickets/session-events.ts) go through the single-logout outbox: one
 * durable pipeline, the same claim, retries, backoff, status and purge. A row's `kind` tells a
 * logout request (LOGOUT) from a Security Event Token (SET). A SET row stores its claims (JSON)
 * in `message`; it is signed at delivery with the receiver's secret, which never reaches the
 * database. Its `session_id` is the session's opaque handle, never the TGT id (a bearer
 * credential), so a session's logout-request listing and its history never see SET rows.
 */
export class AddSessionEventsToOutbox1764000023000 implements MigrationInterface {
  name = 'AddSessionEventsToOutbox1764000023000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE slo_outbox ADD COLUMN kind varchar(8) NOT NULL DEFAULT 'LOGOUT'`);
    await q.query(`ALTER TABLE slo_outbox ADD CONSTRAINT ck_slo_outbox_kind CHECK (kind IN ('LOGOUT', 'SET'))`);
    await q.query(
      `COMMENT ON TABLE slo_outbox IS 'Outbound deliveries of ended and started sessions: back-channel single logout requests (kind LOGOUT, SAML LogoutRequest, one per service of an ended session) and session events (kind SET, a Security Event Token per receiver of SESSION_EVENTS_WEBHOOKS)'`,
    );
    for (const [col, text] of [
      ['kind', 'LOGOUT: a back-channel SAML LogoutRequest; SET: a session event (RFC 8417 Security Event Token, CAEP) for a SESSION_EVENTS_WEBHOOKS receiver'],
      ['id', 'LogoutRequest ID (LR-...), or the SET jti (SET-...)'],
      ['session_id', 'LOGOUT: TGT id of the ended session; SET: the opaque session handle of its sub_id (empty for a credential change), never a TGT id'],
      ['ticket_id', 'LOGOUT: ST the service received, the SessionIndex of the request; SET: empty'],
      ['service', 'LOGOUT: service URL as given at login; SET: the CAEP event type URI'],
      ['logout_url', 'Where the request is POSTed: LOGOUT the registered logoutUrl or the service URL; SET the receiver URL'],
      ['message', 'LOGOUT: NULL, the SAML LogoutRequest is built at delivery (rows from before 1764000010000 hold the XML); SET: the claims (JSON), signed ES256 with the server session-event key at delivery (public keys at /cas/sse/jwks)'],
      ['reason', 'Why the session ended: LOGOUT, ADMIN, EXPIRED, DISABLED, LIMIT, PASSWORD_CHANGE, REPLACED; SET rows also ESTABLISHED, CREDENTIAL'],
    ]) {
      await q.query(`COMMENT ON COLUMN slo_outbox.${col} IS '${text}'`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM slo_outbox WHERE kind = 'SET'`);
    await q.query(`ALTER TABLE slo_outbox DROP COLUMN kind`);
    await q.query(`COMMENT ON TABLE slo_outbox IS 'Back-channel single logout requests (SAML LogoutRequest), one per service of an ended session, and their delivery'`);
    for (const [col, text] of [
      ['id', 'LogoutRequest ID (LR-...)'],
      ['session_id', 'TGT id of the ended session'],
      ['ticket_id', 'ST the service received: the SessionIndex of the request'],
      ['service', 'Service URL as given at login'],
      ['logout_url', 'Where the request is POSTed: the registered logoutUrl or the service URL'],
      ['message', 'NULL: the SAML LogoutRequest is built at delivery from id, principal, ticket_id and created_at; rows from before 1764000010000 hold the XML itself'],
      ['reason', 'Why the session ended: LOGOUT, ADMIN, EXPIRED, DISABLED'],
    ]) {
      await q.query(`COMMENT ON COLUMN slo_outbox.${col} IS '${text}'`);
    }
  }
}

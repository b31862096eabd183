import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The SAML LogoutRequest of a new outbox row is no longer stored: it is rebuilt at delivery from
 * the row's id (ID), principal (NameID), ticket_id (SessionIndex) and created_at (IssueInstant),
 * so every attempt sends the same bytes. Writing ≈1 KB of XML per request was a third of the
 * outbox insert and 20–37 ms of XML building per 1,000 expired sessions inside the cleaner's
 * transaction (npm run bench). Rows written before keep their stored message, which is sent as is.
 */
export class BuildLogoutMessageAtDelivery1764000010000 implements MigrationInterface {
  name = 'BuildLogoutMessageAtDelivery1764000010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE slo_outbox ALTER COLUMN message DROP NOT NULL`);
    await q.query(
      `COMMENT ON COLUMN slo_outbox.message IS 'NULL: the SAML LogoutRequest is built at delivery from id, principal, ticket_id and created_at; rows from before 1764000010000 hold the XML itself'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // The XML of rows written since cannot be rebuilt in SQL; rows still to be sent go as failed.
    await q.query(`UPDATE slo_outbox SET status = 'FAILURE', last_error = 'downgraded before delivery', completed_at = now(), message = '' WHERE message IS NULL`);
    await q.query(`ALTER TABLE slo_outbox ALTER COLUMN message SET NOT NULL`);
    await q.query(`COMMENT ON COLUMN slo_outbox.message IS 'The SAML LogoutRequest XML'`);
  }
}

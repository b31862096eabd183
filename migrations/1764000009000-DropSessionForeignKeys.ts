import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The two ON DELETE CASCADE foreign keys on `session_id` (tickets → tickets, session_services →
 * tickets) made Postgres run two trigger queries for every ticket row deleted, whether or not
 * anything referenced it: 72% of a cleaner batch's time, capping the cleaner near 10k rows/s
 * (npm run bench, EXPLAIN ANALYZE). Ending a session now deletes its rows set-wise by
 * `session_id` (ix_tickets_session, pk_session_services) in the transaction that deletes the TGT,
 * after the TGT row is locked; every insert of a session's row takes the TGT's row lock in the
 * same statement, so none can slip in between and be left behind (TicketRegistry).
 */
export class DropSessionForeignKeys1764000009000 implements MigrationInterface {
  name = 'DropSessionForeignKeys1764000009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE session_services DROP CONSTRAINT fk_session_services_session`);
    await q.query(`ALTER TABLE tickets DROP CONSTRAINT fk_tickets_session`);
    await q.query(
      `COMMENT ON COLUMN tickets.session_id IS 'Id of the root TGT of the SSO session this ticket belongs to (its own id for a TGT); ending a session deletes every row with its session_id'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM session_services s WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = s.session_id)`);
    await q.query(`DELETE FROM tickets c WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = c.session_id)`);
    await q.query(`ALTER TABLE tickets ADD CONSTRAINT fk_tickets_session FOREIGN KEY (session_id) REFERENCES tickets (id) ON DELETE CASCADE`);
    await q.query(
      `ALTER TABLE session_services ADD CONSTRAINT fk_session_services_session FOREIGN KEY (session_id) REFERENCES tickets (id) ON DELETE CASCADE`,
    );
    await q.query(`COMMENT ON COLUMN tickets.session_id IS 'Id of the root TGT of the SSO session this ticket belongs to (its own id for a TGT)'`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each logout outcome the delivery records rewrites its session's history row (the status in
 * `services`, session-history.ts RECORD_LOGOUT_OUTCOMES_SQL). That UPDATE could never be HOT:
 * ix_session_history_session's predicate read `services`, and a column an index predicate reads
 * counts as indexed, so every outcome wrote a new row version on another page and an entry in
 * each of the table's indexes (3.6 ms per outcome record during a mass expiry's delivery,
 * docs/benchmarks.md). Now the index is on session_id alone (every row: sessions without a
 * back-channel logout add an entry too), and the table's pages are filled to 85 %, leaving room
 * on the page for the row's new version: with the indexes unchanged, the update stays on its page.
 */
export class SessionHistoryHotOutcomes1764000032000 implements MigrationInterface {
  name = 'SessionHistoryHotOutcomes1764000032000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_session_history_session`);
    await q.query(`CREATE INDEX ix_session_history_session ON session_history (session_id)`);
    await q.query(`COMMENT ON INDEX ix_session_history_session IS 'A session''s history row by its old TGT id: the delivery sets its logout outcomes there (an index on session_id alone keeps that update HOT)'`);
    await q.query(`ALTER TABLE session_history SET (fillfactor = 85)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE session_history RESET (fillfactor)`);
    await q.query(`DROP INDEX ix_session_history_session`);
    await q.query(`CREATE INDEX ix_session_history_session ON session_history (session_id) WHERE services @> '[{"logout": "BACK_CHANNEL"}]'`);
  }
}

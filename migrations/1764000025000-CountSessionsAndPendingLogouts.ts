import { MigrationInterface, QueryRunner } from 'typeorm';

/** Shards of the counter: concurrent transactions of different backends rarely share one. */
const SLOTS = 64;

/**
 * The number of SSO sessions (TGT rows) without a table scan, for the live-sessions gauge of
 * `GET /actuator/prometheus`: a counter in 64 rows whose sum is count(*) of the TGT rows.
 *
 * Triggers keep it, so every insert and delete counts, a DBA's manual DELETE included (TRUNCATE
 * zeroes it). They are row-level with a WHEN on the type, so the hot paths (an ST granted at SSO,
 * consumed at validation) pay a WHEN test and nothing else; and they are DEFERRED constraint
 * triggers: the slot row is updated, and locked, only while the transaction commits, so the
 * cleaner's batch transaction does not hold a slot (and the logins of backends sharing it) for its
 * whole length. Slot = pg_backend_pid() % 64; a transaction touches one slot only, so two of them
 * cannot deadlock on the counter.
 *
 * And the age of the oldest logout request not yet delivered, also per scrape: min(created_at) of
 * the pending rows is the first entry of a partial index on them (a mass expiry queues 100,000s).
 */
export class CountSessionsAndPendingLogouts1764000025000 implements MigrationInterface {
  name = 'CountSessionsAndPendingLogouts1764000025000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sso_session_counts (
        slot     smallint NOT NULL,
        sessions bigint   NOT NULL,
        CONSTRAINT pk_sso_session_counts PRIMARY KEY (slot)
      )`);
    await q.query(`INSERT INTO sso_session_counts (slot, sessions) SELECT s, 0 FROM generate_series(0, ${SLOTS - 1}) s`);
    await q.query(
      `COMMENT ON TABLE sso_session_counts IS 'SSO sessions (TGT rows of tickets) counted by triggers, in ${SLOTS} slots: sum(sessions) = count(*) of TGT rows, expired ones the cleaner has not ended yet included'`,
    );
    await q.query(`
      CREATE FUNCTION sso_session_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE sso_session_counts SET sessions = sessions + (CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END)
         WHERE slot = pg_backend_pid() % ${SLOTS};
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION sso_session_counts_zero() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE sso_session_counts SET sessions = 0;
        RETURN NULL;
      END $$`);
    // CREATE TRIGGER locks tickets against writes until this migration commits: the count below
    // and the triggers see the same rows, none is counted twice or missed.
    await q.query(`
      CREATE CONSTRAINT TRIGGER tr_sso_session_counts_insert AFTER INSERT ON tickets
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.type = 'TGT') EXECUTE FUNCTION sso_session_counts_add()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER tr_sso_session_counts_delete AFTER DELETE ON tickets
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.type = 'TGT') EXECUTE FUNCTION sso_session_counts_add()`);
    await q.query(`CREATE TRIGGER tr_sso_session_counts_truncate AFTER TRUNCATE ON tickets FOR EACH STATEMENT EXECUTE FUNCTION sso_session_counts_zero()`);
    await q.query(`UPDATE sso_session_counts SET sessions = (SELECT count(*) FROM tickets WHERE type = 'TGT') WHERE slot = 0`);
    await q.query(`CREATE INDEX ix_slo_outbox_pending_created ON slo_outbox (created_at) WHERE status IN ('PENDING', 'SENDING')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_slo_outbox_pending_created`);
    await q.query(`DROP TRIGGER tr_sso_session_counts_truncate ON tickets`);
    await q.query(`DROP TRIGGER tr_sso_session_counts_delete ON tickets`);
    await q.query(`DROP TRIGGER tr_sso_session_counts_insert ON tickets`);
    await q.query(`DROP FUNCTION sso_session_counts_zero()`);
    await q.query(`DROP FUNCTION sso_session_counts_add()`);
    await q.query(`DROP TABLE sso_session_counts`);
  }
}

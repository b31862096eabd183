import { MigrationInterface, QueryRunner } from 'typeorm';

/** Shards of the counter: concurrent transactions of different backends rarely share one. */
const SLOTS = 64;

/** The transaction's net change in TGT rows not yet written to the counter (a transaction-local setting). */
const DELTA = 'cas.sso_session_delta';
const delta = `coalesce(nullif(current_setting('${DELTA}', true), ''), '0')::bigint`;

/**
 * The number of SSO sessions (TGT rows) without a table scan, for the live-sessions gauge of
 * `GET /actuator/prometheus`: a counter in 64 rows whose sum is count(*) of the TGT rows.
 *
 * Triggers keep it, so every insert and delete counts, a DBA's manual DELETE included (TRUNCATE
 * zeroes it). They are row-level with a WHEN on the type, so the hot paths (an ST granted at SSO,
 * consumed at validation) pay a WHEN test and nothing else. Each TGT row inserted or deleted adds
 * ±1 to a transaction-local setting (rolled back with its transaction or savepoint, as the row
 * is); a DEFERRED constraint trigger writes that net change to the counter once, at commit, and
 * the transaction's other deferred events find nothing left to write. So the cleaner's batch of
 * 1,000 sessions updates the counter row once (one UPDATE per row cost 60 µs a row: the row's
 * versions pile up within the transaction), and holds a slot only while it commits, not for its
 * whole length. Slot = pg_backend_pid() % 64; a transaction writes one slot only, so two of them
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
      CREATE FUNCTION sso_session_counts_note() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM set_config('${DELTA}', (${delta} + CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END)::text, true);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION sso_session_counts_write() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        n bigint := ${delta};
      BEGIN
        IF n <> 0 THEN
          UPDATE sso_session_counts SET sessions = sessions + n WHERE slot = pg_backend_pid() % ${SLOTS};
          PERFORM set_config('${DELTA}', '0', true);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION sso_session_counts_zero() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE sso_session_counts SET sessions = 0;
        PERFORM set_config('${DELTA}', '0', true);
        RETURN NULL;
      END $$`);
    // CREATE TRIGGER locks tickets against writes until this migration commits: the count below
    // and the triggers see the same rows, none is counted twice or missed.
    for (const [op, row] of [['INSERT', 'NEW'], ['DELETE', 'OLD']]) {
      const name = op.toLowerCase();
      await q.query(`CREATE TRIGGER tr_sso_session_counts_${name} AFTER ${op} ON tickets
        FOR EACH ROW WHEN (${row}.type = 'TGT') EXECUTE FUNCTION sso_session_counts_note()`);
      await q.query(`CREATE CONSTRAINT TRIGGER tr_sso_session_counts_${name}_write AFTER ${op} ON tickets
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (${row}.type = 'TGT') EXECUTE FUNCTION sso_session_counts_write()`);
    }
    await q.query(`CREATE TRIGGER tr_sso_session_counts_truncate AFTER TRUNCATE ON tickets FOR EACH STATEMENT EXECUTE FUNCTION sso_session_counts_zero()`);
    await q.query(`UPDATE sso_session_counts SET sessions = (SELECT count(*) FROM tickets WHERE type = 'TGT') WHERE slot = 0`);
    await q.query(`CREATE INDEX ix_slo_outbox_pending_created ON slo_outbox (created_at) WHERE status IN ('PENDING', 'SENDING')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_slo_outbox_pending_created`);
    for (const name of ['truncate', 'insert', 'insert_write', 'delete', 'delete_write']) await q.query(`DROP TRIGGER tr_sso_session_counts_${name} ON tickets`);
    for (const fn of ['zero', 'write', 'note']) await q.query(`DROP FUNCTION sso_session_counts_${fn}()`);
    await q.query(`DROP TABLE sso_session_counts`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The session search's username prefix (`GET /actuator/ssoSessions?username=ali`, `npm run
 * sessions -- list --user 'ali*'`): `principal_key COLLATE "C" ^@ $1` is a range scan of this
 * index whatever the database's collation (a prefix only orders as a range under "C"; the
 * existing (type, principal_key) index, in the database's collation, serves equality only).
 * Without it a prefix search walked every session: 312 ms p99 over 220,000 TGT rows
 * (BENCH_ONLY=session-filters, EXPLAIN ANALYZE in its output).
 *
 * Its cost: TGT rows only (partial): 4 MB for 220,000 sessions. A login writes one more index
 * entry, and so does each service ticket granted from a session with an idle timeout: the grant's
 * UPDATE of the TGT row slides expires_at, which other indexes cover, so it is not a HOT update and
 * every index of the row gets a new entry. A validation, and the ST/PT rows themselves, cost it
 * nothing.
 *
 * The other filters need no index of their own: an address or range reads ix_tickets_tgt_client_ip
 * (migration 1764000019000), the time and flag filters run on the id-ordered walk of the listing,
 * and the summaries read the live sessions from ix_tickets_tgt_expires.
 */
export class AddSessionSearchIndexes1764000022000 implements MigrationInterface {
  name = 'AddSessionSearchIndexes1764000022000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_tickets_tgt_principal_prefix ON tickets ((principal_key COLLATE "C")) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_principal_prefix IS 'Sessions (TGTs) by canonical username in byte order: a username prefix search (principal_key COLLATE "C" ^@ $1) is a range scan'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_tickets_tgt_principal_prefix`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The console's Users and Audit pages (issue 15), pages of 50 rows that must stay fast on a large
 * table:
 *
 * - `users` by canonical name in byte order: the users page's prefix search and keyset paging
 *   (`username_key COLLATE "C" ^@ $1`, `> $2`, ORDER BY it) are one range scan of this index,
 *   whatever the database's collation (ux_users_username_key, in that collation, serves equality).
 * - `admin_audit` by actor, newest first: the audit page filtered by an admin token's id walks
 *   only that actor's rows (every console page view is audited, so one token's rows can be few
 *   among millions).
 * - `admin_audit` by request id: the audit row of a request found in the logs is one lookup.
 *
 * The other audit filters (method, status, target, date range) run on the id-ordered walk of the
 * primary key, stopping at 50 matches.
 */
export class AddConsoleListingIndexes1764000029000 implements MigrationInterface {
  name = 'AddConsoleListingIndexes1764000029000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_users_username_key_c ON users ((username_key COLLATE "C"))`);
    await q.query(`COMMENT ON INDEX ix_users_username_key_c IS 'Accounts by canonical name in byte order: a prefix search and keyset page is a range scan'`);
    await q.query(`CREATE INDEX ix_admin_audit_actor ON admin_audit (actor, id)`);
    await q.query(`COMMENT ON INDEX ix_admin_audit_actor IS 'One admin token''s entries, newest first (the console''s audit filter by actor)'`);
    await q.query(`CREATE INDEX ix_admin_audit_request_id ON admin_audit (request_id) WHERE request_id IS NOT NULL`);
    await q.query(`COMMENT ON INDEX ix_admin_audit_request_id IS 'The entry of one request (X-Request-Id)'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_admin_audit_request_id`);
    await q.query(`DROP INDEX ix_admin_audit_actor`);
    await q.query(`DROP INDEX ix_users_username_key_c`);
  }
}

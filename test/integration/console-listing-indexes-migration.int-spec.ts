import type { QueryRunner } from 'typeorm';
import { auditSearchStatement } from '../../src/admin/audit-log';
import { USER_PAGE_SQL } from '../../src/auth/user-store';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000029000: the console's users page (prefix search and keyset page) is a range
 * scan of ix_users_username_key_c under the database's own collation; the audit page filtered by
 * an actor walks ix_admin_audit_actor, by a request id reads ix_admin_audit_request_id; down drops them.
 */
describe('migration AddConsoleListingIndexes1764000029000', () => {
  const cases = migrationCases('AddConsoleListingIndexes1764000029000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  const plan = async (text: string, values: unknown[]) => JSON.stringify(await runner.query(`EXPLAIN (FORMAT JSON) ${text}`, values));
  const plans = async () => {
    const actor = auditSearchStatement({ actor: 'a7' }, 51);
    const request = auditSearchStatement({ requestId: 'r7' }, 51);
    return {
      users: await plan(USER_PAGE_SQL, ['u12', 'u120', 51]),
      actor: await plan(actor.text, actor.values),
      request: await plan(request.text, request.values),
    };
  };

  it('the users page and the audit page by actor or request id read their indexes; down drops them, up builds them again', async () => {
    await runner.query(`INSERT INTO users (username, username_key, password_hash) SELECT 'U' || i, 'u' || i, 'x' FROM generate_series(1, 20000) i`);
    await runner.query(
      `INSERT INTO admin_audit (at, actor, client_ip, action, target, status, request_id)
       SELECT now(), 'a' || (i % 100), '127.0.0.1', 'GET', '/actuator/x', 200, 'r' || i FROM generate_series(1, 50000) i`,
    );
    await runner.query(`ANALYZE users`);
    await runner.query(`ANALYZE admin_audit`);
    const before = await plans();
    expect(before.users).toContain('ix_users_username_key_c');
    expect(before.actor).toContain('ix_admin_audit_actor');
    expect(before.request).toContain('ix_admin_audit_request_id');
    // u12, u120–u129, u1200–u1299, u12000–u12999: 1,111 accounts; all but u12 and u120 sort after 'u120'.
    expect(await runner.query(USER_PAGE_SQL, ['u12', 'u120', 5000])).toHaveLength(1109);

    await migration.down(runner);
    expect(await runner.query(`SELECT indexname FROM pg_indexes WHERE indexname IN ('ix_users_username_key_c', 'ix_admin_audit_actor', 'ix_admin_audit_request_id')`)).toEqual([]);
    const after = await plans();
    expect(after.users).not.toContain('ix_users_username_key_c');
    expect(after.actor).not.toContain('ix_admin_audit_actor');
    await migration.up(runner);
    expect(await runner.query(`SELECT obj_description('ix_users_username_key_c'::regclass)`)).toEqual([{ obj_description: expect.stringMatching(/^Accounts by canonical name in byte order/) }]);
  });
});

import type { QueryRunner } from 'typeorm';
import { pageStatement } from '../../src/tickets/session-search';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000022000: the username prefix search of GET /actuator/ssoSessions?username= and
 * `npm run sessions -- --user 'ali*'` is a range scan of ix_tickets_tgt_principal_prefix, under the
 * database's own collation (COLLATE "C" in the index and the statement); down drops it.
 */
describe('migration AddSessionSearchIndexes1764000022000', () => {
  const cases = migrationCases('AddSessionSearchIndexes1764000022000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  const planOf = async () => {
    const s = pageStatement({ kind: 'TGT', usernamePrefix: 'User12' }, new Date(), undefined, 100);
    return JSON.stringify(await runner.query(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values));
  };

  it('a username prefix page reads the prefix index; down drops it, up builds it again', async () => {
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at)
       SELECT 'TGT-mig22-' || i, 'TGT', 'TGT-mig22-' || i, 'User' || i, 'user' || i, now(), now(), now() + interval '1 hour'
         FROM generate_series(1, 5000) i`,
    );
    await runner.query(`ANALYZE tickets`);
    expect(await planOf()).toContain('ix_tickets_tgt_principal_prefix');
    const s = pageStatement({ kind: 'TGT', usernamePrefix: 'USER12' }, new Date(), undefined, 1000);
    // user12, user120–129, user1200–1299: 111 sessions.
    expect(await runner.query(s.text, s.values)).toHaveLength(111);
    await migration.down(runner);
    expect(await runner.query(`SELECT indexname FROM pg_indexes WHERE indexname = 'ix_tickets_tgt_principal_prefix'`)).toEqual([]);
    expect(await planOf()).not.toContain('ix_tickets_tgt_principal_prefix');
    await migration.up(runner);
    expect(await runner.query(`SELECT obj_description('ix_tickets_tgt_principal_prefix'::regclass)`)).toEqual([{ obj_description: expect.stringMatching(/^Sessions \(TGTs\) by canonical username/) }]);
  });
});

import type { QueryRunner } from 'typeorm';
import { summaryStatement } from '../../src/tickets/session-search';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000033000: pk_session_services carries registered_service_id (INCLUDE), so the
 * summary by service can read each live session's services from the index alone; the key and its
 * uniqueness are unchanged, and down gives back the plain key.
 */
describe('migration CoverSessionServicesKey1764000033000', () => {
  const cases = migrationCases('CoverSessionServicesKey1764000033000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  /** 300 sessions, one in three expired, each with 4 records: services 1 and 2 twice each (service 2 unregistered on every other session). */
  async function seed(): Promise<void> {
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at)
       SELECT 'TGT-mig33-' || i, 'TGT', 'TGT-mig33-' || i, 'u' || i, 'u' || i, now(), now(),
              now() + CASE WHEN i % 3 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END
         FROM generate_series(0, 299) i`,
    );
    await runner.query(
      `INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
       SELECT 'TGT-mig33-' || i, 'ST-mig33-' || i || '-' || k, 'https://app' || (k % 2) || '.example.org/',
              CASE WHEN k % 2 = 0 THEN 1 WHEN i % 2 = 0 THEN 2 END, now()
         FROM generate_series(0, 299) i, generate_series(0, 3) k`,
    );
    await runner.query('ANALYZE tickets');
    await runner.query('ANALYZE session_services');
  }

  const keyDefinition = async () =>
    ((await runner.query(`SELECT pg_get_indexdef('pk_session_services'::regclass) AS d`)) as { d: string }[])[0].d;

  const summary = async () => {
    const s = summaryStatement({}, 'service', new Date(), 20);
    return ((await runner.query(s.text, s.values)) as { total: string; top: { key: string; sessions: number }[] }[])[0];
  };

  it('the key carries registered_service_id, the summary by service counts the same; the key stays unique; down gives back the plain key', async () => {
    await seed();
    expect(await keyDefinition()).toMatch(/\(session_id, ticket_id\) INCLUDE \(registered_service_id\)$/);
    // The index-only plan needs pages a vacuum marked all-visible, which a transaction cannot run:
    // the bench's EXPLAIN (BENCH_ONLY=session-filters) shows it; here, the key and the counts.
    const counted = await summary();
    expect(Number(counted.total)).toBe(200);
    expect(counted.top).toEqual([{ key: '1', label: null, sessions: 200 }, { key: '2', label: null, sessions: 100 }]);
    await runner.query('SAVEPOINT duplicate');
    await expect(
      runner.query(`INSERT INTO session_services (session_id, ticket_id, service, issued_at) VALUES ('TGT-mig33-1', 'ST-mig33-1-0', 'x', now())`),
    ).rejects.toThrow(/pk_session_services/);
    await runner.query('ROLLBACK TO SAVEPOINT duplicate');
    await migration.down(runner);
    expect(await keyDefinition()).toMatch(/\(session_id, ticket_id\)$/);
    expect((await summary()).top).toEqual([{ key: '1', label: null, sessions: 200 }, { key: '2', label: null, sessions: 100 }]);
    await migration.up(runner);
    expect(await keyDefinition()).toMatch(/INCLUDE \(registered_service_id\)$/);
  });
});

import { boundedCountStatement, pageStatement, SessionFilter, withoutParallelWorkers } from '../../src/tickets/session-search';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * The session search's walks run without parallel workers in one autocommit statement: the
 * statement names set_config (PARALLEL UNSAFE) in a CTE it never reads, so Postgres never plans it
 * in parallel, even when parallel plans cost nothing and the indexes are out of the way; the rows are the same.
 * Before, a transaction set max_parallel_workers_per_gather = 0 first: 4 round trips a page.
 */
describe('session search: no parallel workers, one statement', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false' } });
    await t.sql.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, remember_me, authentication_factors)
       SELECT 'TGT-serial-' || lpad(i::text, 4, '0'), 'TGT', 'TGT-serial-' || lpad(i::text, 4, '0'), 'u' || i, 'u' || i, now(), now(),
              now() + CASE WHEN i % 3 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END, i % 2 = 0,
              CASE WHEN i % 4 = 0 THEN jsonb_build_object('mfa-gauth', now()) END
         FROM generate_series(0, 199) i`,
    );
    await t.sql.query(
      `INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at)
       SELECT 'TGT-serial-' || lpad(i::text, 4, '0'), 'ST-serial-' || i, 'https://app.example.org/', 1, now() FROM generate_series(0, 199, 5) i`,
    );
  });
  afterAll(() => t.close());

  /** The plan's lines and the rows, with parallel plans free and the indexes turned off. */
  async function run(s: { text: string; values: unknown[] }): Promise<{ plan: string; rows: unknown[] }> {
    await t.sql.query('BEGIN');
    try {
      for (const setting of ['parallel_setup_cost', 'parallel_tuple_cost', 'min_parallel_table_scan_size', 'min_parallel_index_scan_size']) await t.sql.query(`SET LOCAL ${setting} = 0`);
      await t.sql.query('SET LOCAL enable_indexscan = off');
      await t.sql.query('SET LOCAL enable_bitmapscan = off');
      await t.sql.query('SET LOCAL enable_indexonlyscan = off');
      const plan = (await t.sql.query(`EXPLAIN ${s.text}`, s.values)).rows.map((r) => r['QUERY PLAN']).join('\n');
      return { plan, rows: (await t.sql.query(s.text, s.values)).rows };
    } finally {
      await t.sql.query('ROLLBACK');
    }
  }

  const filters: SessionFilter[] = [{ service: { registeredServiceId: 1 } }, { mfa: true, rememberMe: true }, { createdSince: new Date(Date.now() - 60_000) }, { ip: '10.0.0.0/8' }];

  it.each(filters)('a page and a bounded count of %j: no Gather, the same rows', async (filter) => {
    for (const s of [pageStatement({ kind: 'TGT', ...filter }, new Date(), undefined, 100), boundedCountStatement(filter, new Date(), 1001)]) {
      const parallel = await run(s);
      const serial = await run(withoutParallelWorkers(s));
      expect(parallel.plan).toMatch(/Gather/);
      expect(serial.plan).not.toMatch(/Gather/);
      expect(serial.rows).toEqual(parallel.rows);
    }
  });
});

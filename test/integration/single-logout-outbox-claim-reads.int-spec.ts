import { claimDueSql } from '../../src/tickets/logout/single-logout-outbox';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * A delivery claim reads the due requests at the head of ix_slo_outbox_due, not the requests in
 * flight: 200 requests being sent (two nodes' 100) are passed over inside the index. Before,
 * every claim read each in-flight request's row (they kept their old due time at the head) to
 * test its claim: 12-22 ms a claim during a mass expiry's delivery. Counted in buffers, which
 * no load moves.
 */
describe('single logout outbox: a claim passes the requests in flight over', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('claiming 20 due requests behind 200 in flight reads about as many buffers as with none in flight', async () => {
    const now = t.clock.now();
    await t.sql.query(
      `INSERT INTO slo_outbox (id, session_id, ticket_id, principal, service, logout_url, reason, next_attempt_at, created_at)
       SELECT 'LR-read' || lpad(g::text, 24, '0'), 'TGT-read-' || g, 'ST-read-' || g, 'casuser', 'https://app.example.org/', 'https://app.example.org/',
              'EXPIRED', $1::timestamptz - make_interval(secs => 3600 - g / 100.0), $1::timestamptz - interval '1 hour'
         FROM generate_series(1, 5000) g`,
      [now],
    );
    await t.sql.query('VACUUM ANALYZE slo_outbox');
    const claim = async () => {
      const { rows } = await t.sql.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${claimDueSql(false)}`, [now, 20]);
      const plan = rows[0]['QUERY PLAN'][0].Plan;
      return { rows: plan['Actual Rows'] as number, buffers: (plan['Shared Hit Blocks'] as number) + (plan['Shared Read Blocks'] as number) };
    };
    const first = await claim();
    // Nine more claims: 200 requests in flight, at the head of the due order they were claimed in.
    for (let i = 0; i < 9; i++) await claim();
    await t.sql.query('VACUUM slo_outbox');
    const behindInFlight = await claim();
    expect(first.rows).toBe(20);
    expect(behindInFlight.rows).toBe(20);
    expect({ behindInFlight: behindInFlight.buffers <= first.buffers + 20 }).toEqual({ behindInFlight: true });
  });
});

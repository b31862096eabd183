import type { QueryRunner } from 'typeorm';
import { boundedCountStatement, NARROW_MATCHES, pageStatement, SessionFilter } from '../../src/tickets/session-search';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000031000 and the pages that use it: an address range or a username prefix that
 * matches at most NARROW_MATCHES live sessions after the cursor is read whole from its index and
 * sorted; one that matches more walks in id order. Either way a page is the same sessions as a
 * plain query gives, expired ones left out; down gives back the indexes of 1764000019000 and
 * 1764000022000.
 */
describe('migration AddLiveSessionWalkIndexes1764000031000', () => {
  const cases = migrationCases('AddLiveSessionWalkIndexes1764000031000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  /**
   * 3,000 sessions of users alice0…alice2999 in 10.9.0.0/16, one in three expired, ids in an
   * order unrelated to the address; and 60 of bob0…bob59 in 10.8.1.0/24, one in three expired.
   */
  async function seed(): Promise<void> {
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, client_ip)
       SELECT 'TGT-mig31-' || md5(i::text), 'TGT', 'TGT-mig31-' || md5(i::text), 'Alice' || i, 'alice' || i, now(), now(),
              now() + CASE WHEN i % 3 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END,
              ('10.9.' || (i / 256) % 256 || '.' || i % 256)::inet
         FROM generate_series(0, 2999) i
       UNION ALL
       SELECT 'TGT-mig31-b' || md5(i::text), 'TGT', 'TGT-mig31-b' || md5(i::text), 'Bob' || i, 'bob' || i, now(), now(),
              now() + CASE WHEN i % 3 = 0 THEN interval '-1 minute' ELSE interval '1 hour' END, ('10.8.1.' || i)::inet
         FROM generate_series(0, 59) i`,
    );
    await runner.query('ANALYZE tickets');
  }

  /** Every page of `filter`, 100 at a time along the cursor, as the ids listed. */
  async function walk(filter: SessionFilter): Promise<string[]> {
    const ids: string[] = [];
    for (let after: string | undefined; ; ) {
      const s = pageStatement({ kind: 'TGT', ...filter }, new Date(), after, 100);
      const page = (await runner.query(s.text, s.values)) as { id: string }[];
      ids.push(...page.map((r) => r.id));
      if (page.length < 100) return ids;
      after = page[page.length - 1].id;
    }
  }

  const expected = async (where: string) =>
    ((await runner.query(`SELECT id FROM tickets WHERE type = 'TGT' AND expires_at > now() AND id LIKE 'TGT-mig31-%' AND ${where} ORDER BY id`)) as { id: string }[]).map((r) => r.id);

  it('pages of a wide and of a narrow address range or username prefix list exactly the live sessions that match, in id order', async () => {
    await seed();
    const wideRange = await expected(`client_ip <<= '10.9.0.0/16'`);
    expect(wideRange.length).toBe(2000);
    expect(wideRange.length).toBeGreaterThan(NARROW_MATCHES);
    expect(await walk({ ip: '10.9.0.0/16' })).toEqual(wideRange);
    const narrowRange = await expected(`client_ip <<= '10.8.1.0/24'`);
    expect(narrowRange.length).toBe(40);
    expect(await walk({ ip: '10.8.1.0/24' })).toEqual(narrowRange);
    expect(await walk({ usernamePrefix: 'ALICE' })).toEqual(await expected(`principal_key LIKE 'alice%'`));
    expect(await walk({ usernamePrefix: 'bob1' })).toEqual(await expected(`principal_key LIKE 'bob1%'`));
    expect(await walk({ usernamePrefix: 'alice', ip: '10.9.0.0/24' })).toEqual(await expected(`principal_key LIKE 'alice%' AND client_ip <<= '10.9.0.0/24'`));
    // A cursor past most of a wide range leaves it narrow: the rest is read from the index.
    const s = pageStatement({ kind: 'TGT', ip: '10.9.0.0/16' }, new Date(), wideRange[1949], 100);
    expect(((await runner.query(s.text, s.values)) as { id: string }[]).map((r) => r.id)).toEqual(wideRange.slice(1950));
    const count = async (f: SessionFilter, cap: number) => {
      const c = boundedCountStatement(f, new Date(), cap);
      return Number((await runner.query(c.text, c.values))[0].n);
    };
    expect(await count({ ip: '10.9.0.0/16' }, 1001)).toBe(1001);
    expect(await count({ ip: '10.8.1.0/24' }, 1001)).toBe(40);
    expect(await count({ usernamePrefix: 'bob' }, 1001)).toBe(40);
  });

  it('a narrow address range is read from ix_tickets_tgt_client_ip, IPv4 and IPv6; down gives back the GiST index and the prefix index without the expiry', async () => {
    await seed();
    const plan = async (filter: SessionFilter) => {
      const s = pageStatement({ kind: 'TGT', ...filter }, new Date(), undefined, 100);
      return JSON.stringify(await runner.query(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values));
    };
    expect(await plan({ ip: '10.8.1.0/24' })).toContain('ix_tickets_tgt_client_ip');
    expect(await plan({ ip: '2001:db8::/32' })).toContain('ix_tickets_tgt_client_ip');
    await migration.down(runner);
    expect(await runner.query(`SELECT indexname FROM pg_indexes WHERE indexname = 'ix_tickets_tgt_id_expires'`)).toEqual([]);
    expect(await runner.query(`SELECT indexdef FROM pg_indexes WHERE indexname IN ('ix_tickets_tgt_client_ip', 'ix_tickets_tgt_principal_prefix') ORDER BY 1`)).toEqual([
      { indexdef: expect.stringMatching(/USING gist \(client_ip inet_ops\) WHERE/) },
      { indexdef: expect.stringMatching(/USING btree \(principal_key COLLATE "C"\) WHERE/) },
    ]);
    expect(await walk({ ip: '10.8.1.0/24' })).toEqual(await expected(`client_ip <<= '10.8.1.0/24'`));
    await migration.up(runner);
    expect(await runner.query(`SELECT obj_description('ix_tickets_tgt_id_expires'::regclass)`)).toEqual([{ obj_description: expect.stringMatching(/^Sessions \(TGTs\) in id order/) }]);
  });
});

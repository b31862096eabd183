import type { QueryRunner } from 'typeorm';
import { migrationCases } from '../helpers/migration-transaction';

const ORIGIN = ['client_ip', 'user_agent', 'device_browser', 'device_os', 'device_type', 'location_country', 'location_city'];

/**
 * Migration 1764000019000: where a session comes from. Nullable, commented columns on tickets and
 * session_services, a GiST index for IP/CIDR search on sessions, both DBA views showing them; down
 * gives back the schema as it was, views and their comments included.
 */
describe('migration AddSessionOrigin1764000019000', () => {
  const cases = migrationCases('AddSessionOrigin1764000019000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  const columns = async (relation: string) =>
    runner.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, col_description(a.attrelid, a.attnum) AS comment
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [relation],
    );
  const views = async () =>
    runner.query(
      `SELECT c.relname, pg_get_viewdef(c.oid) AS def,
              (SELECT json_agg(json_build_object(a.attname, col_description(c.oid, a.attnum)) ORDER BY a.attnum)
                 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS comments
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' ORDER BY 1`,
    );

  it('is applied at boot: nullable, commented columns, shown in both DBA views', async () => {
    const tickets = (await columns('tickets')).filter((c: { name: string }) => ORIGIN.includes(c.name));
    expect(tickets.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual(
      ORIGIN.map((name) => [name, name === 'client_ip' ? 'inet' : 'text']),
    );
    expect(tickets.filter((c: { not_null: boolean; comment: string | null }) => c.not_null || !c.comment)).toEqual([]);
    expect((await columns('session_services')).find((c: { name: string }) => c.name === 'client_ip')).toEqual({
      name: 'client_ip', type: 'inet', not_null: false, comment: expect.stringMatching(/^IP address the ticket was granted to/),
    });
    const sessions = (await columns('sso_sessions')).map((c: { name: string }) => c.name);
    expect(sessions.slice(-ORIGIN.length)).toEqual(ORIGIN);
    expect((await columns('sso_session_services')).at(-1)).toMatchObject({ name: 'client_ip', comment: expect.any(String) });
    expect((await columns('sso_sessions')).filter((c: { comment: string | null }) => !c.comment)).toEqual([]);
  });

  it('a CIDR search on sessions (IPv4 and IPv6) is answered by the GiST index', async () => {
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at, client_ip)
       SELECT 'TGT-mig19-' || i, 'TGT', 'TGT-mig19-' || i, 'casuser', now(), now(), now() + interval '1 hour',
              CASE WHEN i % 2 = 0 THEN ('10.1.' || (i / 256) % 256 || '.' || i % 256)::inet ELSE ('2001:db8::' || to_hex(i))::inet END
         FROM generate_series(1, 2000) i`,
    );
    await runner.query(`ANALYZE tickets`);
    const plan = async (range: string) =>
      JSON.stringify(await runner.query(`EXPLAIN (FORMAT JSON) SELECT id FROM tickets WHERE type = 'TGT' AND client_ip <<= $1::inet`, [range]));
    expect(await plan('10.1.3.0/24')).toContain('ix_tickets_tgt_client_ip');
    expect(await plan('2001:db8::100/120')).toContain('ix_tickets_tgt_client_ip');
    const found = await runner.query(`SELECT count(*)::int AS n FROM sso_sessions WHERE client_ip <<= '10.1.3.0/24'`);
    expect(found).toEqual([{ n: 128 }]);
    expect(await runner.query(`SELECT count(*)::int AS n FROM sso_sessions WHERE client_ip <<= '2001:db8::/32'`)).toEqual([{ n: 1000 }]);
  });

  it('down gives back the tables and the views (definitions and comments) as migration 1764000018000 left them; up again keeps old sessions, without origin', async () => {
    const after = await views();
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at, client_ip, user_agent)
       VALUES ('TGT-mig19', 'TGT', 'TGT-mig19', 'casuser', now(), now(), now() + interval '1 hour', '192.0.2.7', 'curl/8')`,
    );
    await migration.down(runner);
    expect((await columns('tickets')).filter((c: { name: string }) => ORIGIN.includes(c.name))).toEqual([]);
    expect((await columns('session_services')).map((c: { name: string }) => c.name)).not.toContain('client_ip');
    expect(await runner.query(`SELECT indexname FROM pg_indexes WHERE indexname = 'ix_tickets_tgt_client_ip'`)).toEqual([]);
    const before = await views();
    // sso_session_history (migration 1764000020000, applied after this one) is over its own table.
    expect(before.map((v: { relname: string }) => v.relname).filter((n: string) => n !== 'sso_session_history')).toEqual(['sso_session_services', 'sso_sessions']);
    expect(before.flatMap((v: { comments: Record<string, string | null>[] }) => v.comments.filter((c) => !Object.values(c)[0]))).toEqual([]);
    expect((await columns('sso_sessions')).at(-1)).toMatchObject({ name: 'authentication_factors' });
    expect(await runner.query(`SELECT tgt_id FROM sso_sessions WHERE tgt_id = 'TGT-mig19'`)).toEqual([{ tgt_id: 'TGT-mig19' }]);
    await migration.up(runner);
    expect(await views()).toEqual(after);
    expect(await runner.query(`SELECT client_ip, user_agent FROM sso_sessions WHERE tgt_id = 'TGT-mig19'`)).toEqual([{ client_ip: null, user_agent: null }]);
  });
});

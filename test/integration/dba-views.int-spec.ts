import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { dataSourceOptions } from '../../src/database/data-source';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

/** The DBA views (migration 1764000007000) over sessions created through HTTP, on real Postgres. */
describe('DBA views', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false', CAS_TICKET_TGT_REMEMBER_ME_ENABLED: 'true' } });
  });
  afterAll(() => t.close());

  async function session(services: string[], extra: Record<string, string> = {}) {
    const b = new Browser(t.app);
    const tickets = [ticketOf(await b.login('casuser', 'Mellon', services[0], extra))];
    for (const s of services.slice(1)) tickets.push(ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(s)}`)));
    const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [tickets[0]]);
    return { b, tgt: rows[0].session_id as string, tickets };
  }
  const view = async (name: string, tgt: string) =>
    (await t.sql.query(`SELECT * FROM ${name} WHERE tgt_id = $1 ORDER BY 1`, [tgt])).rows;

  it('sso_sessions: one row per live session with its uses, services reached, remember-me and proxied', async () => {
    const a = await session([APP, OTHER, APP]);
    const r = await session([APP], { rememberMe: 'true' });
    const [row] = await view('sso_sessions', a.tgt);
    const { rows: [tgt] } = await t.sql.query(`SELECT * FROM tickets WHERE id = $1`, [a.tgt]);
    expect(row).toEqual({
      tgt_id: a.tgt,
      principal: 'casuser',
      created_at: tgt.created_at,
      last_used_at: tgt.last_used_at,
      expires_at: tgt.expires_at,
      hard_expires_at: tgt.hard_expires_at,
      uses: 3,
      services_reached: 2,
      remember_me: false,
      proxied: false,
      principal_key: 'casuser',
      authentication_factors: null,
      client_ip: '127.0.0.1',
      user_agent: 'jest-browser/1.0',
      device_browser: null,
      device_os: null,
      device_type: null,
      location_country: null,
      location_city: null,
    });
    expect((await view('sso_sessions', r.tgt))[0]).toMatchObject({ uses: 1, services_reached: 1, remember_me: true, proxied: false });
    const { rows: [{ n }] } = await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT' AND expires_at > now()`);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM sso_sessions`)).rows[0].n).toBe(n);
  });

  it('sso_session_services: every ticket a session granted, with the registered service, and whether it is still pending', async () => {
    const a = await session([APP, OTHER]);
    // The first ST is validated (consumed); the second is still waiting for its validation.
    const v = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${a.tickets[0]}` });
    expect(v.body).toContain('<cas:authenticationSuccess>');
    const rows = (await view('sso_session_services', a.tgt)).sort((x, y) => x.issued_at - y.issued_at);
    expect(rows).toEqual([
      { tgt_id: a.tgt, principal: 'casuser', service: APP, registered_service_id: '1', service_name: 'App', ticket_id: a.tickets[0], issued_at: expect.any(Date), ticket_pending: false, client_ip: '127.0.0.1' },
      { tgt_id: a.tgt, principal: 'casuser', service: OTHER, registered_service_id: '2', service_name: 'Other', ticket_id: a.tickets[1], issued_at: expect.any(Date), ticket_pending: true, client_ip: '127.0.0.1' },
    ]);
  });

  it('a session is live by the database clock: expired rows (not cleaned yet) and their services are not listed', async () => {
    const a = await session([APP]);
    expect(await view('sso_sessions', a.tgt)).toHaveLength(1);
    await t.sql.query(`UPDATE tickets SET expires_at = now() - interval '1 second' WHERE id = $1`, [a.tgt]);
    expect(await view('sso_sessions', a.tgt)).toEqual([]);
    expect(await view('sso_session_services', a.tgt)).toEqual([]);
    // The row itself is still there, waiting for the cleaner.
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id = $1`, [a.tgt])).rows[0].n).toBe(1);
  });

  it('proxied is true while the session holds a live PGT', async () => {
    const a = await session([APP]);
    // PGTs are issued by the proxy callback; here one is written as the registry would store it.
    await t.sql.query(
      `INSERT INTO tickets (id, type, session_id, parent_id, principal, service, created_at, last_used_at, expires_at)
       VALUES ('PGT-dbaview', 'PGT', $1, $2, 'casuser', $3, now(), now(), now() + interval '1 hour')`,
      [a.tgt, a.tickets[0], APP],
    );
    expect((await view('sso_sessions', a.tgt))[0].proxied).toBe(true);
    await t.sql.query(`UPDATE tickets SET expires_at = now() - interval '1 second' WHERE id = 'PGT-dbaview'`);
    expect((await view('sso_sessions', a.tgt))[0].proxied).toBe(false);
  });

  it('an admin DELETE removes the session from both views', async () => {
    const a = await session([APP, OTHER]);
    expect((await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${a.tgt}` })).statusCode).toBe(200);
    expect(await view('sso_sessions', a.tgt)).toEqual([]);
    expect(await view('sso_session_services', a.tgt)).toEqual([]);
  });

  it('every view and every view column has a comment', async () => {
    const { rows } = await t.sql.query(
      `SELECT c.relname, a.attname, obj_description(c.oid, 'pg_class') AS view_comment, col_description(c.oid, a.attnum) AS column_comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind = 'v'`,
    );
    expect(new Set(rows.map((r) => r.relname))).toEqual(new Set(['sso_sessions', 'sso_session_services']));
    expect(rows.filter((r) => !r.view_comment || !r.column_comment)).toEqual([]);
  });

  it('the down migration drops the views and nothing else', async () => {
    const ds = new DataSource(dataSourceOptions(t.config.databaseUrl!));
    await ds.initialize();
    const runner = ds.createQueryRunner();
    const sql = new Client({ connectionString: t.config.databaseUrl });
    await sql.connect();
    try {
      const tables = async () => (await sql.query(`SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`)).rows;
      const before = await tables();
      const migration = new (migrations.find((m) => m.name === 'CreateDbaViews1764000007000')!)();
      await migration.down(runner);
      expect(await tables()).toEqual(before.filter((r) => r.relkind !== 'v'));
      await migration.up(runner);
      expect(await tables()).toEqual(before);
    } finally {
      await sql.end();
      await runner.release();
      await ds.destroy();
    }
  });
});

import { ATTRS, DEVICES, LIVE_IDS_TABLE, seedBulk, seedServiceTickets } from '../../bench/seed';
import { Browser, ticketOf } from '../helpers/browser';
import { LogoutReceiver, logoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * The bench measures the app against rows it writes by SQL (bench/seed.ts), not through the app:
 * these tests hold those rows to the shape the app writes, so the seed cannot drift from it
 * unnoticed. Each compares with rows of a real login, then lets the app itself (validation, the
 * admin listing, the cleaner and its logout requests) take the seeded rows for its own.
 */
describe('bench seed (bench/seed.ts)', () => {
  let rx: LogoutReceiver;
  let t: TestApp;
  let service: string;
  beforeAll(async () => {
    rx = await logoutReceiver();
    service = `http://127.0.0.1:${rx.port}/app`;
    // As in the bench: registered service 1 is the application that receives the logout requests.
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false' },
      services: [{
        '@class': 'org.apereo.cas.services.CasRegisteredService',
        id: 1,
        name: 'Bench application',
        serviceId: `^http://127\\.0\\.0\\.1:${rx.port}/app.*`,
        attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
      }],
    });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  const admin = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/cas/actuator/${url}` });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const validate = (ticket: string) =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(service)}&ticket=${ticket}` });
  const row = async (table: string, where: string, id: string) => (await t.sql.query(`SELECT * FROM ${table} WHERE ${where} = $1`, [id])).rows[0];
  /** An expiration policy with its instants replaced by how far apart they are. */
  const policyShape = (p: unknown) => {
    const { expiresAt, idleExpirationTime, maxExpirationTime, ...rest } = p as Record<string, string>;
    const at = (v: string) => Date.parse(v);
    return { ...rest, idleToMax: at(maxExpirationTime) - at(idleExpirationTime), expiresAtIsIdle: at(expiresAt) === at(idleExpirationTime) };
  };
  /** Which columns a row fills: the shape the app's INSERTs give it. */
  const filled = (r: Record<string, unknown>) => Object.keys(r).filter((k) => r[k] !== null).sort();
  /** A row's id lengths and alphabet, as the protocol and the indexes see them. */
  const idShape = (id: string) => ({ length: id.length, prefix: id.split('-')[0], alphabet: /^[A-Z]+-[A-Za-z0-9]+$/.test(id) });
  type Listed = Record<string, unknown> & { ticket_granting_ticket: string; authenticated_services: Record<string, { id: string }> };
  const sessionOf = (list: { activeSsoSessions: Listed[] }, tgt: string) => list.activeSsoSessions.find((s) => s.ticket_granting_ticket === tgt)!;

  /** A real login for the service: the app's own TGT, ST and service record, and the listing's entry for the session. */
  async function realSession() {
    // A browser whose User-Agent names a device: the app then fills the device columns too.
    const st = ticketOf(await new Browser(t.app, { 'user-agent': DEVICES[0].userAgent }).login('casuser', 'Mellon', service));
    const stRow = await row('tickets', 'id', st);
    return {
      tgt: await row('tickets', 'id', stRow.session_id),
      st: stRow,
      record: await row('session_services', 'ticket_id', st),
      listed: sessionOf(await admin('ssoSessions?username=casuser'), stRow.session_id),
    };
  }

  it('seedServiceTickets: TGTs, STs and service records fill the columns the app fills; each ST validates once, with the attributes', async () => {
    const real = await realSession();
    const sts = await seedServiceTickets(t.sql, service, 6, 2);
    expect(sts).toHaveLength(6);
    const st = await row('tickets', 'id', sts[0]);
    const tgt = await row('tickets', 'id', st.session_id);
    expect(filled(tgt)).toEqual(filled(real.tgt));
    expect(filled(st)).toEqual(filled(real.st));
    expect(filled(await row('session_services', 'ticket_id', sts[0]))).toEqual(filled(real.record));
    expect([idShape(tgt.id), idShape(st.id)]).toEqual([idShape(real.tgt.id), idShape(real.st.id)]);
    expect(tgt.attributes).toEqual(JSON.parse(ATTRS));

    // The listing shows a seeded session as it shows a real one: same fields, policy and attributes.
    const listed = sessionOf(await admin('ssoSessions?username=casuser'), tgt.id);
    expect(Object.keys(listed)).toEqual(Object.keys(real.listed));
    // Same policy; its instants differ by when each row was written (the seed uses the database's
    // now(), the login the app's clock, which may fall in another second), so compare their shape.
    // The listing prints each instant to the second, each rounded on its own: the idle-to-hard
    // span of one row may read a second shorter than the other's (21599 s against 21600 s).
    const { idleToMax: seededSpan, ...seeded } = policyShape(listed.expiration_policy);
    const { idleToMax: realSpan, ...realShape } = policyShape(real.listed.expiration_policy);
    expect(seeded).toEqual(realShape);
    expect(Math.abs(seededSpan - realSpan)).toBeLessThanOrEqual(1000);
    expect(listed.principal_attributes).toEqual(real.listed.principal_attributes);
    expect(Object.keys(listed.authenticated_services).sort()).toEqual(sts.filter((_, i) => i % 2 === 0).sort());
    expect(listed.authenticated_services[sts[0]].id).toBe(service);

    for (const id of sts) {
      const ok = await validate(id);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('<cas:user>casuser</cas:user>');
      expect(ok.body).toContain('<cas:mail>casuser@example.org</cas:mail>');
    }
    expect((await validate(sts[0])).body).toContain("code=\"INVALID_TICKET\"");
  });

  it('seedBulk: the listing sees the live sessions only; the cleaner ends exactly the expired ones and sends their logouts, every live row stays', async () => {
    await t.sql.query('TRUNCATE tickets, session_services, slo_outbox');
    const indexes = async () => (await t.sql.query(`SELECT indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'session_services') ORDER BY 1`)).rows;
    const before = await indexes();
    // 10 expired and 5 live sessions (1 TGT + 4 STs each), users user0..user2.
    await seedBulk(t.sql, { service, expired: 50, live: 25, users: 3 });
    expect(await indexes()).toEqual(before);
    const real = await realSession();
    const count = async (sql: string) => (await t.sql.query(sql)).rows[0].n as number;
    const anySeeded = async (type: string, expired: boolean) =>
      (await t.sql.query(`SELECT * FROM tickets WHERE type = $1 AND principal LIKE 'user%' AND (expires_at <= now()) = $2 LIMIT 1`, [type, expired])).rows[0];
    for (const expired of [false, true]) {
      const tgt = await anySeeded('TGT', expired);
      const st = await anySeeded('ST', expired);
      expect(filled(tgt)).toEqual(filled(real.tgt));
      expect(filled(st)).toEqual(filled(real.st));
      expect(filled(await row('session_services', 'ticket_id', st.id))).toEqual(filled(real.record));
      expect([idShape(tgt.id), idShape(st.id)]).toEqual([idShape(real.tgt.id), idShape(real.st.id)]);
    }

    const live = (await admin('ssoSessions?count=100')).activeSsoSessions.filter((s: { authenticated_principal: string }) => s.authenticated_principal !== 'casuser');
    expect(live).toHaveLength(5);
    const liveIds = (await t.sql.query(`SELECT id FROM ${LIVE_IDS_TABLE}`)).rows.map((r) => r.id);
    expect(liveIds).toHaveLength(25);
    for (const s of live) {
      expect(liveIds).toContain(s.ticket_granting_ticket);
      expect(Object.keys(s.authenticated_services)).toHaveLength(4);
      // Created an hour ago, used within the last 10 minutes: the same policy, at other times.
      const { name, timeToIdle, timeToLive } = real.listed.expiration_policy as Record<string, unknown>;
      expect(s.expiration_policy).toMatchObject({ name, timeToIdle, timeToLive });
    }
    // Live sessions g = 1..5 belong to user(g % 3): user1 has g = 1 and 4.
    expect((await admin('ssoSessions?username=USER1')).activeSsoSessions).toHaveLength(2);
    const liveSt = liveIds.find((id) => id.startsWith('ST-'));
    expect((await validate(liveSt)).body).toMatch(/<cas:user>user\d<\/cas:user>/);

    const res = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean' });
    expect(res.statusCode).toBe(200);
    expect(res.json().removed).toEqual({ sessions: 10, serviceTickets: 0, logoutRequests: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM tickets WHERE expires_at <= now()`)).toBe(0);
    // Every live row but the ST validated above (single use) is still there.
    expect(await count(`SELECT count(*)::int AS n FROM ${LIVE_IDS_TABLE} l WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = l.id)`)).toBe(1);
    const outbox = (await t.sql.query(`SELECT session_id, service, ticket_id FROM slo_outbox WHERE reason = 'EXPIRED'`)).rows;
    expect(new Set(outbox.map((o) => o.session_id)).size).toBe(10);
    expect(new Set(outbox.map((o) => `${o.session_id} ${o.service}`)).size).toBe(outbox.length);
    await rx.receivedAll(outbox.map((o) => o.ticket_id));
  });

  it('seedBulk grows a table (BENCH_ONLY=flat): new ids after the earlier ones, the same number of sessions per user', async () => {
    await t.sql.query(`TRUNCATE tickets, session_services, slo_outbox, ${LIVE_IDS_TABLE}`);
    const perUser = { expired: 4, live: 2 };
    // 8 expired and 4 live sessions, users user0 and user1; then grown by as many again: user2 and user3.
    await seedBulk(t.sql, { service, expired: 40, live: 20, sessionsPerUser: perUser });
    await seedBulk(t.sql, { service, expired: 40, live: 20, sessionsPerUser: perUser, after: { expired: 8, live: 4 } });
    const byUser = (await t.sql.query(`
      SELECT principal, count(*) FILTER (WHERE expires_at <= now())::int AS expired, count(*) FILTER (WHERE expires_at > now())::int AS live
        FROM tickets WHERE type = 'TGT' GROUP BY principal ORDER BY principal`)).rows;
    expect(byUser).toEqual(['user0', 'user1', 'user2', 'user3'].map((principal) => ({ principal, expired: 4, live: 2 })));
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets`)).rows[0].n).toBe(120);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM session_services`)).rows[0].n).toBe(96);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM ${LIVE_IDS_TABLE}`)).rows[0].n).toBe(40);
    expect((await admin('ssoSessions?username=user3')).activeSsoSessions).toHaveLength(2);
  });
});

import { exportJWK, generateKeyPair } from 'jose';
import { handleOf } from '../../src/tickets/session-events';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
const validate = (t: TestApp, st: string) => t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${st}` });
const tgcOf = (res: Awaited<ReturnType<Browser['get']>>) => setCookies(res).find((c) => c.name === 'TGC' && c.value !== '');

/**
 * The password login's few statements (issue 16): a new session and its first ST in one
 * statement (TicketRegistry.createSessionWithTicket), and the form token's use with the throttle
 * reservation in one (LoginThrottle.reserveOnUse). What they write must be what the steps wrote.
 */
describe('password login: the session with its ticket, the token with its reservation', () => {
  describe('a login for a service', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ env: { ...FAST_ARGON2, AUTHN_THROTTLE_ENABLED: 'true' } });
    });
    afterAll(() => t.close());

    it('gives a TGC and an ST that validates once; the rows are those createSession and grantServiceTicket wrote', async () => {
      const b = new Browser(t.app);
      const res = await b.login('casuser', 'Mellon', APP);
      expect(res.statusCode).toBe(302);
      expect(tgcOf(res)).toBeDefined();
      const st = ticketOf(res);
      const { rows: [row] } = await t.sql.query(
        `SELECT st.session_id, st.parent_id, st.from_new_login, st.principal, host(st.client_ip) AS st_ip,
                tgt.type AS tgt_type, tgt.use_count, tgt.created_at = tgt.last_used_at AS used_at_creation, tgt.principal_key,
                (SELECT count(*)::int FROM session_services s WHERE s.session_id = st.session_id AND s.ticket_id = st.id AND s.service = $2) AS recorded
           FROM tickets st JOIN tickets tgt ON tgt.id = st.session_id WHERE st.id = $1`,
        [st, APP],
      );
      expect(row).toMatchObject({ parent_id: row.session_id, from_new_login: true, principal: 'casuser', tgt_type: 'TGT', use_count: 1, used_at_creation: true, recorded: 1 });
      expect(row.st_ip).not.toBeNull();

      const v = await validate(t, st);
      expect(v.body).toContain('<cas:user>casuser</cas:user>');
      expect(v.body).toContain('<cas:isFromNewLogin>true</cas:isFromNewLogin>');
      expect((await validate(t, st)).body).toContain('INVALID_TICKET');

      // The session is a usable SSO session: the next service ticket comes from it, not from a login.
      const sso = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
      expect(sso.statusCode).toBe(302);
      const { rows: [tgt] } = await t.sql.query(`SELECT use_count FROM tickets WHERE id = $1`, [row.session_id]);
      expect(tgt.use_count).toBe(2);
      expect((await validate(t, ticketOf(sso))).body).toContain('<cas:isFromNewLogin>false</cas:isFromNewLogin>');
    });
  });

  describe('with session events', () => {
    let t: TestApp;
    beforeAll(async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      t = await startTestApp({
        env: {
          ...FAST_ARGON2,
          AUTHN_THROTTLE_ENABLED: 'false',
          // Nothing listens there: the event stays queued, which is all this test reads.
          SESSION_EVENTS_WEBHOOKS: 'http://127.0.0.1:9/events|a-receiver-secret-of-32-characters-at-least',
          SESSION_EVENTS_SIGNING_KEY: JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'login-statements' }),
        },
      });
    });
    afterAll(() => t.close());

    it("queues the new session's session-established event with it", async () => {
      const res = await new Browser(t.app).login('casuser', 'Mellon', APP);
      expect(res.statusCode).toBe(302);
      const { rows: [st] } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)]);
      const { rows } = await t.sql.query(`SELECT kind, service FROM slo_outbox WHERE session_id = $1`, [handleOf(st.session_id)]);
      expect(rows).toEqual([{ kind: 'SET', service: 'https://schemas.openid.net/secevent/caep/event-type/session-established' }]);
    });

    it('queues it as SingleLogoutOutbox.enqueueEvents does (a login without a service takes that path), in the one statement', async () => {
      const withService = await new Browser(t.app).login('casuser', 'Mellon', APP);
      const withoutService = await new Browser(t.app).login('casuser', 'Mellon');
      expect(withoutService.statusCode).toBe(200);
      const { rows: [st] } = await t.sql.query(`SELECT session_id, created_at FROM tickets WHERE id = $1`, [ticketOf(withService)]);
      const row = async (handle: string) => {
        const { rows } = await t.sql.query(
          // What the enqueue writes (the delivery, kicked after each, may be at the rest already).
          `SELECT id, kind, ticket_id, principal, service, logout_url, message::jsonb AS message, reason, created_at
             FROM slo_outbox WHERE session_id = $1`,
          [handle],
        );
        expect(rows).toHaveLength(1);
        return rows[0];
      };
      const combined = await row(handleOf(st.session_id));
      const { rows: handles } = await t.sql.query(`SELECT session_id FROM slo_outbox WHERE session_id <> $1 AND reason = 'ESTABLISHED' ORDER BY created_at DESC LIMIT 1`, [handleOf(st.session_id)]);
      const separate = await row(handles[0].session_id);
      const shape = (r: Record<string, unknown>) => {
        const m = r.message as { jti: string; iat: number; sub_id: { session: { id: string } }; events: Record<string, { event_timestamp: number }> };
        return {
          ...r, id: typeof r.id, created_at: undefined, message: {
            ...m, jti: m.jti === r.id, iat: typeof m.iat, sub_id: { ...m.sub_id, session: { ...m.sub_id.session, id: typeof m.sub_id.session.id } },
            events: Object.fromEntries(Object.entries(m.events).map(([k, v]) => [k, { ...v, event_timestamp: typeof v.event_timestamp }])),
          },
        };
      };
      expect(shape(combined)).toEqual(shape(separate));
      expect(combined).toMatchObject({ kind: 'SET', ticket_id: '', reason: 'ESTABLISHED' });
      // Queued when the session was created, in its statement.
      expect((combined.created_at as Date).getTime()).toBe((st.created_at as Date).getTime());
    });
  });

  describe('throttling', () => {
    let t: TestApp;
    const counters = async () =>
      Object.fromEntries((await t.sql.query(`SELECT key, failures FROM login_throttle ORDER BY key`)).rows.map((r) => [r.key as string, r.failures as number]));
    beforeEach(async () => {
      t = await startTestApp({
        env: {
          ...FAST_ARGON2,
          CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,victim::victim-password,other::other-password',
          CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '100',
          AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '2',
        },
      });
    });
    afterEach(() => t.close());

    it("a refused attempt gives the IP's slot back; a right password gives both back", async () => {
      const b = new Browser(t.app);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await b.loginFrom('192.0.2.1', 'victim', `guess-${i}`, APP)).statusCode);
      expect(statuses).toEqual([401, 401, 429]);
      expect(await counters()).toEqual({ 'account:victim': 2, 'ip:192.0.2.1': 2 });
      expect((await b.loginFrom('192.0.2.1', 'casuser', 'Mellon', APP)).statusCode).toBe(302);
      expect(await counters()).toEqual({ 'account:casuser': 0, 'account:victim': 2, 'ip:192.0.2.1': 2 });
    });

    it('a replayed form token is refused and reserves nothing', async () => {
      const b = new Browser(t.app);
      const form = await b.request({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(APP)}`, remoteAddress: '192.0.2.7' });
      const post = () =>
        b.request({
          method: 'POST', url: '/cas/login', remoteAddress: '192.0.2.7', headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ username: 'other', password: 'wrong', execution: executionOf(form.body) }).toString(),
        });
      expect((await post()).statusCode).toBe(401);
      expect((await post()).statusCode).toBe(403);
      expect(await counters()).toEqual({ 'account:other': 1, 'ip:192.0.2.7': 1 });
    });
  });
});

import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { UsersService } from '../../src/auth/users.service';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { handleOf } from '../../src/tickets/session-events';
import { Browser } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { ReceivedSet, setReceiver, SetReceiver } from '../helpers/set-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const ESTABLISHED = `${CAEP}session-established`;
const REVOKED = `${CAEP}session-revoked`;
const CREDENTIAL = `${CAEP}credential-change`;
const SECRET_A = 'a-receiver-secret-of-32-characters-at-least';
const SECRET_B = 'another-receiver-secret-0123456789abcdef';
const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
// Small argon2 memory keeps the users-table logins quick.
const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };

type Caep = { sub_id: { format: string; user?: { format: string; iss: string; sub: string }; session?: { format: string; id: string }; iss?: string; sub?: string }; events: Record<string, Record<string, unknown>> };
const claimsOf = (r: ReceivedSet) => decodeJwt(r.token) as JWTPayload & Caep;
const eventOf = (r: ReceivedSet, type: string) => claimsOf(r).events[type];

/** Session lifecycle events go out as signed CAEP Security Event Tokens, through the single-logout outbox. */
describe('session events (SESSION_EVENTS_WEBHOOKS): CAEP SETs to configured receivers', () => {
  let rx: SetReceiver;
  let t: TestApp;
  let A: string, B: string;

  beforeAll(async () => {
    rx = await setReceiver();
    [A, B] = ['a', 'b'].map((p) => `http://127.0.0.1:${rx.port}/${p}/events`);
    // Single logout stays off (the test default): the events are delivered all the same.
    t = await startTestApp({
      env: { SESSION_EVENTS_WEBHOOKS: `${A}|${SECRET_A}, ${B}|${SECRET_B}`, CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false', ...FAST_ARGON2 },
    });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  const tgtOf = async (principal: string) =>
    (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = $1 ORDER BY created_at DESC LIMIT 1`, [principal])).rows[0].id as string;
  /** The first SET of `type` about `principal` (and the session with this handle) received at `path`. */
  const next = (path: 'a' | 'b', type: string, principal: string, handle?: string) =>
    rx.next((r) => {
      if (!r.path.startsWith(`/${path}/`) || r.status !== 202) return false;
      const c = claimsOf(r);
      const user = c.sub_id.user ?? c.sub_id;
      return type in c.events && user.sub === principal && (handle === undefined || c.sub_id.session?.id === handle);
    });
  const verify = (r: ReceivedSet, secret: string, audience: string) =>
    jwtVerify(r.token, new TextEncoder().encode(secret), { issuer: t.config.server.prefix, audience, typ: 'secevent+jwt', algorithms: ['HS256'] });

  it('a login: session-established to every receiver, signed with its own secret, the session an opaque handle, never the TGT id', async () => {
    const b = new Browser(t.app);
    expect((await b.login('casuser', 'Mellon')).statusCode).toBe(200);
    const tgt = await tgtOf('casuser');
    const [atA, atB] = await Promise.all([next('a', ESTABLISHED, 'casuser'), next('b', ESTABLISHED, 'casuser')]);

    expect(atA.headers['content-type']).toBe('application/secevent+jwt');
    expect(decodeProtectedHeader(atA.token)).toEqual({ alg: 'HS256', typ: 'secevent+jwt' });
    const { payload } = await verify(atA, SECRET_A, A);
    await verify(atB, SECRET_B, B);
    // Each receiver's token verifies with its secret only: one receiver cannot forge another's events.
    await expect(verify(atA, SECRET_B, A)).rejects.toThrow('signature verification failed');
    expect(payload).toMatchObject({
      iss: t.config.server.prefix,
      aud: A,
      sub_id: { format: 'complex', user: { format: 'iss_sub', iss: t.config.server.prefix, sub: 'casuser' }, session: { format: 'opaque' } },
      events: { [ESTABLISHED]: { ips: ['127.0.0.1'] } },
    });
    expect(typeof payload.jti).toBe('string');
    expect(claimsOf(atB).jti).not.toBe(payload.jti);
    const handle = claimsOf(atA).sub_id.session!.id;
    expect(claimsOf(atB).sub_id.session!.id).toBe(handle);
    expect(atA.token).not.toContain(tgt);
    expect(JSON.stringify(payload)).not.toContain(tgt);
    // The outbox keeps them (kind SET), delivered; the session's logout-request listing does not show them.
    const rows = (await t.sql.query(`SELECT kind, session_id, status, reason, message FROM slo_outbox WHERE id = ANY($1)`, [[payload.jti, claimsOf(atB).jti]])).rows;
    expect(rows).toEqual([
      expect.objectContaining({ kind: 'SET', session_id: handle, reason: 'ESTABLISHED' }),
      expect.objectContaining({ kind: 'SET', session_id: handle, reason: 'ESTABLISHED' }),
    ]);
    await eventually(async () => (await t.sql.query(`SELECT status FROM slo_outbox WHERE id = ANY($1)`, [[payload.jti, claimsOf(atB).jti]])).rows, (r) => r.every((x) => x.status === 'SUCCESS'));
    expect(rows.some((r) => r.message.includes(SECRET_A) || r.message.includes(SECRET_B))).toBe(false);

    // Logging out: session-revoked for the same handle, reason LOGOUT, initiated by the user.
    expect((await b.get('/cas/logout')).statusCode).toBe(200);
    const revoked = await next('a', REVOKED, 'casuser', handle);
    await verify(revoked, SECRET_A, A);
    expect(eventOf(revoked, REVOKED)).toEqual({ event_timestamp: expect.any(Number), initiating_entity: 'user', reason_admin: { en: 'LOGOUT' } });
    await next('b', REVOKED, 'casuser', handle);
  });

  it('an administrator ends a session: session-revoked with reason ADMIN, initiated by an admin', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const tgt = await tgtOf('casuser');
    const established = await next('a', ESTABLISHED, 'casuser', handleOf(tgt));
    const res = await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${tgt}`, headers: BEARER });
    expect(res.statusCode).toBe(200);
    const got = await next('a', REVOKED, 'casuser', claimsOf(established).sub_id.session!.id);
    expect(eventOf(got, REVOKED)).toMatchObject({ initiating_entity: 'admin', reason_admin: { en: 'ADMIN' } });
  });

  it('a receiver that answers 500 gets the same SET again after the backoff, and the row ends SUCCESS', async () => {
    rx.answers.push({ path: '/a/', status: 500 });
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const failed = await rx.next((r) => r.status === 500 && r.path.startsWith('/a/'));
    const jti = claimsOf(failed).jti!;
    const row = await eventually(
      async () => (await t.sql.query(`SELECT status, attempts, last_http_status, last_error FROM slo_outbox WHERE id = $1`, [jti])).rows[0],
      (r) => r.status === 'PENDING',
    );
    expect(row).toMatchObject({ attempts: 1, last_http_status: 500, last_error: 'HTTP 500' });
    // 5 s later on the server's clock, the next pass sends the very same token.
    t.clock.advance(5);
    await t.app.get(SingleLogoutDelivery).kick();
    const again = await rx.next((r) => r.status === 202 && claimsOf(r).jti === jti);
    expect(again.token).toBe(failed.token);
    expect((await t.sql.query(`SELECT status, attempts, last_http_status FROM slo_outbox WHERE id = $1`, [jti])).rows[0]).toEqual({
      status: 'SUCCESS', attempts: 2, last_http_status: 202,
    });
  });

  it('the cleaner: every expired session gets session-revoked with reason EXPIRED, initiated by policy', async () => {
    const browsers = [new Browser(t.app), new Browser(t.app)];
    for (const b of browsers) await b.login('casuser', 'Mellon');
    const before = new Set(rx.received.map((r) => claimsOf(r).jti));
    const handles = (await t.sql.query(`SELECT DISTINCT session_id FROM slo_outbox WHERE kind = 'SET' AND reason = 'ESTABLISHED'`)).rows.map((r) => r.session_id);
    t.clock.advance(t.config.tgt.maxTimeToLiveSeconds + 1);
    expect((await t.app.get(TicketRegistryCleaner).clean()).removed.sessions).toBeGreaterThanOrEqual(2);
    const expired = (await t.sql.query(`SELECT session_id FROM slo_outbox WHERE kind = 'SET' AND reason = 'EXPIRED' AND logout_url = $1`, [A])).rows.map((r) => r.session_id);
    expect(expired.length).toBeGreaterThanOrEqual(2);
    for (const handle of expired) {
      expect(handles).toContain(handle);
      const got = await next('a', REVOKED, 'casuser', handle);
      expect(before.has(claimsOf(got).jti)).toBe(false);
      expect(eventOf(got, REVOKED)).toMatchObject({ initiating_entity: 'policy', reason_admin: { en: 'EXPIRED' } });
    }
  });

  it('a password set with the users CLI: credential-change, then session-revoked (PASSWORD_CHANGE) for each of its sessions', async () => {
    const users = t.app.get(UsersService);
    await users.add('Dave', 'dave-password-1');
    const b = new Browser(t.app);
    expect((await b.login('dave', 'dave-password-1')).statusCode).toBe(200);
    const established = await next('a', ESTABLISHED, 'Dave');
    expect(await users.setPassword('DAVE', 'dave-password-2')).toBe(1);

    const changed = await next('a', CREDENTIAL, 'Dave');
    const { payload } = await verify(changed, SECRET_A, A);
    expect(payload.sub_id).toEqual({ format: 'iss_sub', iss: t.config.server.prefix, sub: 'Dave' });
    expect(payload.events).toEqual({
      [CREDENTIAL]: { event_timestamp: expect.any(Number), credential_type: 'password', change_type: 'update', initiating_entity: 'admin' },
    });
    const revoked = await next('a', REVOKED, 'Dave', claimsOf(established).sub_id.session!.id);
    expect(eventOf(revoked, REVOKED)).toMatchObject({ initiating_entity: 'admin', reason_admin: { en: 'PASSWORD_CHANGE' } });
  });
});

describe('session events: no receiver configured', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('logins and logouts queue nothing of kind SET', async () => {
    const b = new Browser(t.app);
    expect((await b.login('casuser', 'Mellon')).statusCode).toBe(200);
    expect((await b.get('/cas/logout')).statusCode).toBe(200);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox`)).rows[0].n).toBe(0);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM session_history WHERE principal = 'casuser'`)).rows[0].n).toBe(1);
  });
});

describe('session events under a session limit (END_OLDEST)', () => {
  let rx: SetReceiver;
  let t: TestApp;
  let A: string;
  beforeAll(async () => {
    rx = await setReceiver();
    A = `http://127.0.0.1:${rx.port}/a/events`;
    t = await startTestApp({
      env: { SESSION_EVENTS_WEBHOOKS: `${A}|${SECRET_A}`, CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_ENABLED: 'true', SESSION_LIMIT_ACTION: 'END_OLDEST' },
    });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  it("a login over the limit: the oldest session's session-revoked (LIMIT, by policy) and the new one's session-established, from the limiter's transaction", async () => {
    const first = new Browser(t.app);
    await first.login('casuser', 'Mellon');
    const [oldTgt] = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`)).rows.map((r) => r.id);
    await new Browser(t.app).login('casuser', 'Mellon');
    const [newTgt] = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT'`)).rows.map((r) => r.id);
    expect(newTgt).not.toBe(oldTgt);

    const has = (type: string, handle: string) => (r: ReceivedSet) => type in claimsOf(r).events && claimsOf(r).sub_id.session?.id === handle;
    const revoked = await rx.next(has(REVOKED, handleOf(oldTgt)));
    expect(eventOf(revoked, REVOKED)).toMatchObject({ initiating_entity: 'policy', reason_admin: { en: 'LIMIT' } });
    await rx.next(has(ESTABLISHED, handleOf(newTgt)));
    const rows = (await t.sql.query(`SELECT reason, session_id FROM slo_outbox WHERE kind = 'SET' ORDER BY reason, session_id`)).rows;
    expect(rows).toEqual(
      [
        { reason: 'ESTABLISHED', session_id: handleOf(oldTgt) },
        { reason: 'ESTABLISHED', session_id: handleOf(newTgt) },
        { reason: 'LIMIT', session_id: handleOf(oldTgt) },
      ].sort((x, y) => x.reason.localeCompare(y.reason) || (x.session_id < y.session_id ? -1 : 1)),
    );
  });
});

import { CompactSign, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsersService } from '../../src/auth/users.service';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { handleOf } from '../../src/tickets/session-events';
import { Browser } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { ReceivedSet, ReceiverTrust, setReceiver, SetReceiver } from '../helpers/set-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

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

/** A fresh server event-signing key, as SESSION_EVENTS_SIGNING_KEY takes it (a private JWK with its kid). */
async function signingKey(kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return JSON.stringify({ ...(await exportJWK(privateKey)), kid });
}

/** The receivers' trust in the app: its published key set, fetched over HTTP, its issuer, and each path's Bearer secret. */
function trustIn(app: () => TestApp, secrets: Record<string, string>): () => ReceiverTrust {
  return () => ({
    jwks: async () => (await app().app.inject({ method: 'GET', url: '/cas/sse/jwks' })).json() as JSONWebKeySet,
    issuer: app().config.server.prefix,
    secrets,
  });
}

/** POSTs a SET to the receiver as a sender would. */
function push(port: number, path: string, token: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/secevent+jwt', authorization: `Bearer ${secret}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(token);
  });
}

/** Session lifecycle events go out as signed CAEP Security Event Tokens, through the single-logout outbox. */
describe('session events (SESSION_EVENTS_WEBHOOKS): CAEP SETs to configured receivers', () => {
  let rx: SetReceiver;
  let t: TestApp;
  let A: string, B: string;
  let key: string;

  beforeAll(async () => {
    rx = await setReceiver(trustIn(() => t, { '/a/': SECRET_A, '/b/': SECRET_B }));
    [A, B] = ['a', 'b'].map((p) => `http://127.0.0.1:${rx.port}/${p}/events`);
    key = await signingKey('events-test-1');
    // Single logout stays off (the test default): the events are delivered all the same.
    t = await startTestApp({
      env: {
        SESSION_EVENTS_WEBHOOKS: `${A}|${SECRET_A}, ${B}|${SECRET_B}`,
        SESSION_EVENTS_SIGNING_KEY: key,
        CAS_ADMIN_TOKENS: TOKEN,
        AUTHN_THROTTLE_ENABLED: 'false',
        ...FAST_ARGON2,
      },
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
  const jwks = async () => createLocalJWKSet((await t.app.inject({ method: 'GET', url: '/cas/sse/jwks' })).json());
  const verify = async (r: ReceivedSet, audience: string) =>
    jwtVerify(r.token, await jwks(), { issuer: t.config.server.prefix, audience, typ: 'secevent+jwt', algorithms: ['ES256'] });

  it('the key set: GET /cas/sse/jwks, unauthenticated, the public half of SESSION_EVENTS_SIGNING_KEY only, cacheable five minutes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/sse/jwks' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const { kty, crv, x, y, d, kid } = JSON.parse(key);
    expect(res.json()).toEqual({ keys: [{ kty, crv, x, y, kid, alg: 'ES256', use: 'sig' }] });
    expect(res.body).not.toContain(d);
    expect(res.body).not.toContain('"d"');
  });

  it('a login: session-established to every receiver, signed with the server key (ES256, kid) and pushed with its own Bearer secret, the session an opaque handle, never the TGT id', async () => {
    const b = new Browser(t.app);
    expect((await b.login('casuser', 'Mellon')).statusCode).toBe(200);
    const tgt = await tgtOf('casuser');
    const [atA, atB] = await Promise.all([next('a', ESTABLISHED, 'casuser'), next('b', ESTABLISHED, 'casuser')]);

    expect(atA.headers['content-type']).toBe('application/secevent+jwt');
    expect(decodeProtectedHeader(atA.token)).toEqual({ alg: 'ES256', typ: 'secevent+jwt', kid: 'events-test-1' });
    // Each push carries its receiver's secret, and each token is addressed to its receiver alone.
    expect(atA.headers.authorization).toBe(`Bearer ${SECRET_A}`);
    expect(atB.headers.authorization).toBe(`Bearer ${SECRET_B}`);
    const { payload } = await verify(atA, A);
    await verify(atB, B);
    await expect(verify(atA, B)).rejects.toThrow('unexpected "aud" claim value');
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
    await verify(revoked, A);
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
    // 5 s later on the server's clock, the next pass sends the very same event (signed afresh: ECDSA differs per signature).
    t.clock.advance(5);
    await t.app.get(SingleLogoutDelivery).kick();
    const again = await rx.next((r) => r.status === 202 && claimsOf(r).jti === jti);
    expect(again.payload).toEqual(claimsOf(failed));
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
    const { payload } = await verify(changed, A);
    expect(payload.sub_id).toEqual({ format: 'iss_sub', iss: t.config.server.prefix, sub: 'Dave' });
    expect(payload.events).toEqual({
      [CREDENTIAL]: { event_timestamp: expect.any(Number), credential_type: 'password', change_type: 'update', initiating_entity: 'admin' },
    });
    const revoked = await next('a', REVOKED, 'Dave', claimsOf(established).sub_id.session!.id);
    expect(eventOf(revoked, REVOKED)).toMatchObject({ initiating_entity: 'admin', reason_admin: { en: 'PASSWORD_CHANGE' } });
  });

  it('the receiver really verifies: a SET signed with another key (even under the same kid), or under an unknown kid, or pushed without the secret, is refused', async () => {
    const genuine = await next('a', ESTABLISHED, 'casuser');
    const claims = new TextEncoder().encode(JSON.stringify(claimsOf(genuine)));
    const { privateKey } = await generateKeyPair('ES256');
    const refusalOf = async (kid: string) => {
      const token = await new CompactSign(claims).setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid }).sign(privateKey);
      expect(await push(rx.port, '/a/events', token, SECRET_A)).toBe(400);
      return rx.received.find((r) => r.token === token)!.refusal;
    };
    expect(await refusalOf('events-test-1')).toBe('signature verification failed');
    expect(await refusalOf('another-kid')).toMatch(/no applicable key found/);
    // The genuine token, pushed again: accepted with A's secret only.
    expect(await push(rx.port, '/a/events', genuine.token, SECRET_A)).toBe(202);
    expect(await push(rx.port, '/a/events', genuine.token, SECRET_B)).toBe(401);
  });
});

describe('session events: no receiver configured', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('the key set is empty: no key is configured or generated', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/sse/jwks' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keys: [] });
  });

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
    rx = await setReceiver(trustIn(() => t, { '/a/': SECRET_A }));
    A = `http://127.0.0.1:${rx.port}/a/events`;
    t = await startTestApp({
      env: {
        SESSION_EVENTS_WEBHOOKS: `${A}|${SECRET_A}`,
        SESSION_EVENTS_SIGNING_KEY: await signingKey('events-test-2'),
        CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_ENABLED: 'true',
        SESSION_LIMIT_ACTION: 'END_OLDEST',
      },
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

    const has = (type: string, handle: string) => (r: ReceivedSet) => r.status === 202 && type in claimsOf(r).events && claimsOf(r).sub_id.session?.id === handle;
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

/** A receiver that takes every POST (202) and keeps its body; no checks: these tests count sends. */
async function acceptingReceiver(): Promise<{ received: string[]; server: Server; url: string }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(body);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { received, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` };
}

describe('session events of a login for a service: queued claimed by the node, sent without a claim statement', () => {
  it('the row is born SENDING (attempt 1, claimed 30 s); a node that stops before sending leaves it to another node once the claim expires, sent once', async () => {
    const { received, server, url } = await acceptingReceiver();
    const env = {
      SESSION_EVENTS_WEBHOOKS: `${url}|${SECRET_A}`, SESSION_EVENTS_SIGNING_KEY: await signingKey('events-test-3'), AUTHN_THROTTLE_ENABLED: 'false', ...FAST_ARGON2,
    };
    const nodeA = await startTestApp({ env });
    let nodeB: TestApp | undefined;
    try {
      // Node A delivers nothing more (as if killed right after the login's commit).
      await nodeA.app.get(SingleLogoutDelivery).onApplicationShutdown();
      const res = await new Browser(nodeA.app).login('casuser', 'Mellon', APP);
      expect(res.statusCode).toBe(302);
      const { rows: [row] } = await nodeA.sql.query(
        `SELECT id, status, attempts, EXTRACT(EPOCH FROM claimed_until - created_at)::int AS claim, EXTRACT(EPOCH FROM next_attempt_at - created_at)::int AS due
           FROM slo_outbox WHERE kind = 'SET' AND reason = 'ESTABLISHED'`,
      );
      // Claimed by its node in the login's statement, as claimDue leaves a row it claims.
      expect(row).toMatchObject({ status: 'SENDING', attempts: 1, claim: 30, due: 30 });

      nodeB = await startTestApp({ databaseUrl: nodeA.config.databaseUrl!, env });
      // While node A's claim holds, no other node sends it.
      await nodeB.app.get(SingleLogoutDelivery).kick();
      expect(received).toHaveLength(0);
      // Once it has expired, any node's pass does, once.
      nodeB.clock.advance(31);
      await nodeB.app.get(SingleLogoutDelivery).kick();
      expect(received).toHaveLength(1);
      expect((decodeJwt(received[0]) as JWTPayload).jti).toBe(row.id);
      expect((await nodeB.sql.query(`SELECT status, attempts, last_http_status FROM slo_outbox WHERE id = $1`, [row.id])).rows[0]).toEqual({
        status: 'SUCCESS', attempts: 2, last_http_status: 202,
      });
      await nodeB.app.get(SingleLogoutDelivery).kick();
      expect(received).toHaveLength(1);
    } finally {
      await nodeB?.close();
      await nodeA.close();
      await new Promise((r) => server.close(r));
    }
  });

  it('a running node sends it after the commit and records it: one attempt, SUCCESS', async () => {
    const { received, server, url } = await acceptingReceiver();
    const t = await startTestApp({
      env: { SESSION_EVENTS_WEBHOOKS: `${url}|${SECRET_A}`, SESSION_EVENTS_SIGNING_KEY: await signingKey('events-test-4'), AUTHN_THROTTLE_ENABLED: 'false', ...FAST_ARGON2 },
    });
    try {
      expect((await new Browser(t.app).login('casuser', 'Mellon', APP)).statusCode).toBe(302);
      const row = await eventually(
        async () => (await t.sql.query(`SELECT id, status, attempts, last_http_status FROM slo_outbox WHERE kind = 'SET'`)).rows[0],
        (r) => r?.status === 'SUCCESS',
      );
      expect(row).toMatchObject({ attempts: 1, last_http_status: 202 });
      expect(received.map((b) => (decodeJwt(b) as JWTPayload).jti)).toEqual([row.id]);
    } finally {
      await t.close();
      await new Promise((r) => server.close(r));
    }
  });
});

import { Sql } from '../../src/database/sql';
import type { SessionPolicy } from '../../src/services/ticket-policy';
import { newTicketId } from '../../src/tickets/ticket-ids';
import { GrantServiceTicket, TicketRegistry } from '../../src/tickets/ticket-registry';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * The ticket registry's contract, method by method, against real Postgres: what each public
 * method answers and which rows it leaves. The rows are read with a plain pg client, the clock is
 * frozen so every time is exact, and each case starts from empty ticket tables.
 */
describe('TicketRegistry contract', () => {
  let t: TestApp;
  let registry: TicketRegistry;
  let sql: Sql;
  const SESSION = { maxTimeToLiveSeconds: 600, timeToKillSeconds: 300 };
  const ST = { numberOfUses: 1, timeToLiveSeconds: 10 };
  const APP = 'https://app.example.org/';
  const grant = (g: Partial<GrantServiceTicket> = {}): GrantServiceTicket => ({
    service: APP, registeredServiceId: 1, credentialsProvided: false, policy: ST, ...g,
  });
  const newSession = async (principal = 'casuser', policy: SessionPolicy = SESSION) =>
    (await registry.createSession({ principal, attributes: { mail: ['casuser@example.org'] }, authenticationHandler: 'AcceptUsersAuthenticationHandler', rememberMe: false, policy })).id;
  const at = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000);
  const rows = async (text: string, params: unknown[] = []) => (await t.sql.query(text, params)).rows;
  const ticket = async (id: string) => (await rows(`SELECT * FROM tickets WHERE id = $1`, [id]))[0];
  const ticketIds = async () => (await rows(`SELECT id FROM tickets ORDER BY id`)).map((r) => r.id as string);
  const records = async () => rows(`SELECT session_id, ticket_id, service, granted_by FROM session_services ORDER BY issued_at, ticket_id`);
  /** A session with an ST for APP, a PGT minted from it, and a PT the PGT granted for `backend`. */
  const proxiedSession = async (backend = 'https://backend.example.org/api') => {
    const tgt = await newSession();
    const st = (await registry.grantServiceTicket(tgt, grant()))!;
    const consumed = (await registry.consumeServiceTicket(st, ['ST']))!;
    const pgt = newTicketId('PGT');
    expect(await registry.grantProxyGrantingTicket(consumed, pgt, 'https://app.example.org/cb')).toBe(true);
    const pt = (await registry.grantProxyTicket(pgt, { service: backend, registeredServiceId: 2, policy: ST }))!;
    return { tgt, st, pgt, pt };
  };

  beforeAll(async () => {
    t = await startTestApp();
    t.clock.freeze();
    registry = t.app.get(TicketRegistry);
    sql = t.app.get(Sql);
  });
  afterAll(() => t.close());
  beforeEach(() => t.sql.query(`DELETE FROM session_services; DELETE FROM tickets`));

  describe('createSession', () => {
    it('case=createSession stores a TGT that expires at its idle timeout, before its hard limit, and returns it', async () => {
      const s = await registry.createSession({ principal: 'CasUser', attributes: { mail: ['a@example.org'] }, rememberMe: true, policy: SESSION });
      expect(s).toEqual({ id: expect.stringMatching(/^TGT-/), principal: 'CasUser', createdAt: t.clock.now(), lastUsedAt: t.clock.now(), expiresAt: at(300), useCount: 0, attributes: { mail: ['a@example.org'] }, factors: {} });
      expect(await ticket(s.id)).toMatchObject({
        type: 'TGT', session_id: s.id, principal: 'CasUser', principal_key: 'casuser', expires_at: at(300), hard_expires_at: at(600),
        idle_timeout_seconds: 300, use_count: 0, remember_me: true, attributes: { mail: ['a@example.org'] },
      });
    });

    it('case=createSession without an idle timeout expires at the hard limit', async () => {
      const s = await registry.createSession({ principal: 'casuser', attributes: {}, rememberMe: false, policy: { maxTimeToLiveSeconds: 60, timeToKillSeconds: null } });
      expect(s.expiresAt).toEqual(at(60));
      expect(await ticket(s.id)).toMatchObject({ expires_at: at(60), hard_expires_at: at(60), idle_timeout_seconds: null });
    });
  });

  describe('authentication factors', () => {
    it('case=createSession with factors records them; addFactor adds one to a live session; findSession, listSessions and consumeServiceTicket return them', async () => {
      const first = at(0);
      const s = await registry.createSession({ principal: 'casuser', attributes: {}, rememberMe: false, policy: SESSION, factors: { 'mfa-gauth': first } });
      expect((await ticket(s.id)).authentication_factors).toEqual({ 'mfa-gauth': first.toISOString() });
      const plain = await newSession('bob');
      expect((await ticket(plain)).authentication_factors).toBeNull();
      expect((await registry.findSession(plain))!.factors).toEqual({});
      t.clock.advance(10);
      expect(await registry.addFactor(plain, 'mfa-gauth')).toBe(true);
      expect((await registry.findSession(plain))!.factors).toEqual({ 'mfa-gauth': at(0) });
      expect((await registry.listSessions({ principal: 'bob', limit: 10 }))[0].factors).toEqual({ 'mfa-gauth': at(0) });
      const st = (await registry.grantServiceTicket(s.id, grant()))!;
      expect((await registry.consumeServiceTicket(st, ['ST']))!.factors).toEqual({ 'mfa-gauth': first });
      // An expired session gains nothing.
      t.clock.advance(301);
      expect(await registry.addFactor(plain, 'other')).toBe(false);
      expect(Object.keys((await ticket(plain)).authentication_factors)).toEqual(['mfa-gauth']);
    });
  });

  describe('findSession', () => {
    it('case=findSession returns a live session and does not count a use', async () => {
      const id = await newSession();
      expect(await registry.findSession(id)).toMatchObject({ id, principal: 'casuser', useCount: 0, attributes: { mail: ['casuser@example.org'] } });
      expect((await ticket(id)).use_count).toBe(0);
    });

    it('case=findSession returns null for an expired session, an unknown id and a ticket that is no TGT', async () => {
      const id = await newSession();
      const st = (await registry.grantServiceTicket(id, grant()))!;
      expect(await registry.findSession(st)).toBeNull();
      expect(await registry.findSession(newTicketId('TGT'))).toBeNull();
      t.clock.advance(300);
      expect(await registry.findSession(id)).toBeNull();
    });
  });

  describe('grantServiceTicket', () => {
    it('case=grantServiceTicket slides the idle window, counts the use, and writes the ST and its service record', async () => {
      const id = await newSession();
      t.clock.advance(100);
      const st = await registry.grantServiceTicket(id, grant({ credentialsProvided: true, policy: { numberOfUses: 3, timeToLiveSeconds: 10 } }));
      expect(st).toMatch(/^ST-/);
      expect(await ticket(id)).toMatchObject({ use_count: 1, last_used_at: t.clock.now(), expires_at: at(300) });
      expect(await ticket(st!)).toMatchObject({
        type: 'ST', session_id: id, parent_id: id, principal: 'casuser', service: APP, registered_service_id: '1',
        expires_at: at(10), from_new_login: true, max_uses: 3, use_count: 0,
      });
      expect(await records()).toEqual([{ session_id: id, ticket_id: st, service: APP, granted_by: null }]);
    });

    it('case=grantServiceTicket never slides the expiry past the hard limit', async () => {
      const id = await newSession();
      t.clock.advance(250);
      await registry.grantServiceTicket(id, grant());
      t.clock.advance(250);
      expect(await registry.grantServiceTicket(id, grant())).toMatch(/^ST-/);
      expect((await ticket(id)).expires_at).toEqual(at(100));
    });

    it('case=grantServiceTicket on an expired session returns null and writes nothing', async () => {
      const id = await newSession();
      t.clock.advance(300);
      expect(await registry.grantServiceTicket(id, grant())).toBeNull();
      expect(await ticketIds()).toEqual([id]);
      expect((await ticket(id)).use_count).toBe(0);
      expect(await records()).toEqual([]);
    });

    it("case=grantServiceTicket for a service whose TGT lifetime the session outlived returns null and writes nothing", async () => {
      const id = await newSession();
      t.clock.advance(61);
      expect(await registry.grantServiceTicket(id, grant({ sessionMaxAgeSeconds: 60 }))).toBeNull();
      expect(await ticketIds()).toEqual([id]);
      expect(await registry.grantServiceTicket(id, grant({ sessionMaxAgeSeconds: 62 }))).toMatch(/^ST-/);
    });
  });

  describe('consumeServiceTicket', () => {
    it("case=consumeServiceTicket's last use deletes the ticket and returns it with its session's principal and attributes", async () => {
      const id = await newSession();
      const created = t.clock.now();
      t.clock.advance(5);
      const st = (await registry.grantServiceTicket(id, grant({ credentialsProvided: true })))!;
      expect(await registry.consumeServiceTicket(st, ['ST'])).toEqual({
        id: st, type: 'ST', sessionId: id, parentId: id, service: APP, proxies: [], principal: 'casuser',
        attributes: { mail: ['casuser@example.org'] }, authenticatedAt: created, fromNewLogin: true, rememberMe: false,
        authenticationHandler: 'AcceptUsersAuthenticationHandler', factors: {}, live: true,
      });
      expect(await ticket(st)).toBeUndefined();
      expect(await registry.consumeServiceTicket(st, ['ST'])).toBeNull();
    });

    it('case=consumeServiceTicket of a multi-use ticket counts each use and deletes it at the last', async () => {
      const id = await newSession();
      const st = (await registry.grantServiceTicket(id, grant({ policy: { numberOfUses: 2, timeToLiveSeconds: 10 } })))!;
      expect(await registry.consumeServiceTicket(st, ['ST'])).toMatchObject({ id: st, live: true });
      expect((await ticket(st)).use_count).toBe(1);
      expect(await registry.consumeServiceTicket(st, ['ST'])).toMatchObject({ id: st, live: true });
      expect(await ticket(st)).toBeUndefined();
    });

    it('case=consumeServiceTicket of an expired ticket consumes it all the same and answers live=false', async () => {
      const id = await newSession();
      const st = (await registry.grantServiceTicket(id, grant()))!;
      t.clock.advance(10);
      expect(await registry.consumeServiceTicket(st, ['ST'])).toMatchObject({ id: st, live: false });
      expect(await ticket(st)).toBeUndefined();
    });

    it('case=consumeServiceTicket of a ticket of another type than asked returns null and leaves it', async () => {
      const id = await newSession();
      const st = (await registry.grantServiceTicket(id, grant()))!;
      expect(await registry.consumeServiceTicket(st, ['PT'])).toBeNull();
      expect(await ticket(st)).toMatchObject({ use_count: 0 });
      expect(await registry.consumeServiceTicket(newTicketId('ST'), ['ST', 'PT'])).toBeNull();
    });

    it('case=consumeServiceTicket of a PT whose PGT has ended answers live=false', async () => {
      const { pgt, pt } = await proxiedSession();
      await t.sql.query(`DELETE FROM tickets WHERE id = $1`, [pgt]);
      expect(await registry.consumeServiceTicket(pt, ['PT'])).toMatchObject({ id: pt, type: 'PT', parentId: pgt, live: false });
    });

    it("case=consumeServiceTicket returns the session's authentication handler for a PT too, and null for a session created without one", async () => {
      const { pt } = await proxiedSession();
      expect(await registry.consumeServiceTicket(pt, ['PT'])).toMatchObject({ type: 'PT', authenticationHandler: 'AcceptUsersAuthenticationHandler', live: true });
      const bare = (await registry.createSession({ principal: 'casuser', attributes: {}, rememberMe: false, policy: SESSION })).id;
      const st = (await registry.grantServiceTicket(bare, grant()))!;
      expect(await registry.consumeServiceTicket(st, ['ST'])).toMatchObject({ authenticationHandler: null, live: true });
    });
  });

  describe('grantProxyGrantingTicket', () => {
    it('case=grantProxyGrantingTicket stores a PGT living like its session, with the proxy chain; one per ticket', async () => {
      const tgt = await newSession();
      const st = (await registry.grantServiceTicket(tgt, grant()))!;
      const consumed = (await registry.consumeServiceTicket(st, ['ST']))!;
      const pgt = newTicketId('PGT');
      expect(await registry.grantProxyGrantingTicket(consumed, pgt, 'https://app.example.org/cb')).toBe(true);
      expect(await ticket(pgt)).toMatchObject({
        type: 'PGT', session_id: tgt, parent_id: tgt, principal: 'casuser', principal_key: 'casuser', expires_at: at(300), hard_expires_at: at(600),
        idle_timeout_seconds: 300, proxied_by: APP, proxy_chain: ['https://app.example.org/cb'], granted_from: st,
      });
      expect(await registry.grantProxyGrantingTicket(consumed, newTicketId('PGT'), 'https://app.example.org/cb')).toBe(false);
      expect((await rows(`SELECT id FROM tickets WHERE type = 'PGT'`)).map((r) => r.id)).toEqual([pgt]);
    });

    it('case=grantProxyGrantingTicket in an expired session returns false and writes nothing', async () => {
      const tgt = await newSession();
      const consumed = (await registry.consumeServiceTicket((await registry.grantServiceTicket(tgt, grant()))!, ['ST']))!;
      t.clock.advance(300);
      expect(await registry.grantProxyGrantingTicket(consumed, newTicketId('PGT'), 'https://app.example.org/cb')).toBe(false);
      expect(await ticketIds()).toEqual([tgt]);
    });

    it('case=grantProxyGrantingTicket from a PT chains the proxies, most recent first', async () => {
      const { pgt, pt } = await proxiedSession();
      const consumed = (await registry.consumeServiceTicket(pt, ['PT']))!;
      const inner = newTicketId('PGT');
      expect(await registry.grantProxyGrantingTicket(consumed, inner, 'https://backend.example.org/cb')).toBe(true);
      expect(await ticket(inner)).toMatchObject({ parent_id: pgt, proxy_chain: ['https://backend.example.org/cb', 'https://app.example.org/cb'] });
    });
  });

  describe('findProxyGrantingTicket', () => {
    it("case=findProxyGrantingTicket returns a live PGT with its session's attributes, null once the session expired", async () => {
      const { pgt } = await proxiedSession();
      expect(await registry.findProxyGrantingTicket(pgt)).toEqual({ id: pgt, principal: 'casuser', attributes: { mail: ['casuser@example.org'] }, factors: {} });
      expect(await registry.findProxyGrantingTicket(newTicketId('PGT'))).toBeNull();
      t.clock.advance(300);
      expect(await registry.findProxyGrantingTicket(pgt)).toBeNull();
    });
  });

  describe('grantProxyTicket', () => {
    it("case=grantProxyTicket writes a PT carrying the PGT's chain and a service record granted by the PGT, sliding the PGT", async () => {
      const { tgt, pgt } = await proxiedSession();
      t.clock.advance(100);
      const pt = await registry.grantProxyTicket(pgt, { service: 'https://backend.example.org/other', registeredServiceId: 2, policy: { numberOfUses: 2, timeToLiveSeconds: 20 } });
      expect(pt).toMatch(/^PT-/);
      expect(await ticket(pt!)).toMatchObject({
        type: 'PT', session_id: tgt, parent_id: pgt, service: 'https://backend.example.org/other', expires_at: at(20), max_uses: 2,
        from_new_login: false, proxy_chain: ['https://app.example.org/cb'],
      });
      expect(await ticket(pgt)).toMatchObject({ use_count: 2, expires_at: at(300) });
      expect((await records()).at(-1)).toEqual({ session_id: tgt, ticket_id: pt, service: 'https://backend.example.org/other', granted_by: pgt });
    });

    it('case=grantProxyTicket from an unknown PGT or in an expired session returns null and writes nothing', async () => {
      const { pgt } = await proxiedSession();
      const before = await ticketIds();
      expect(await registry.grantProxyTicket(newTicketId('PGT'), { service: APP, registeredServiceId: 1, policy: ST })).toBeNull();
      t.clock.advance(300);
      expect(await registry.grantProxyTicket(pgt, { service: APP, registeredServiceId: 1, policy: ST })).toBeNull();
      expect(await ticketIds()).toEqual(before);
    });
  });

  describe('endSession', () => {
    it('case=endSession deletes every ticket and service record of the session and returns the principal and every service reached', async () => {
      const { tgt, st, pt } = await proxiedSession();
      const other = await newSession();
      const ended = await sql.transaction((tx) => registry.endSession(tx, tgt));
      expect(ended!.principal).toBe('casuser');
      expect(ended!.reached.map((r) => [r.ticketId, r.service, r.registeredServiceId]).sort()).toEqual([
        [pt, 'https://backend.example.org/api', 2],
        [st, APP, 1],
      ]);
      expect(ended!.reached.every((r) => r.issuedAt instanceof Date)).toBe(true);
      expect(await ticketIds()).toEqual([other]);
      expect(await records()).toEqual([]);
    });

    it("case=endSession runs in the caller's transaction: rolled back, the session is intact", async () => {
      const tgt = await newSession();
      await registry.grantServiceTicket(tgt, grant());
      const before = await ticketIds();
      await expect(sql.transaction(async (tx) => {
        expect(await registry.endSession(tx, tgt)).not.toBeNull();
        throw new Error('caller fails later');
      })).rejects.toThrow('caller fails later');
      expect(await ticketIds()).toEqual(before);
      expect(await records()).toHaveLength(1);
    });

    it('case=endSession with expiredAt ends only a session expired by then; an unknown session is null', async () => {
      const tgt = await newSession();
      expect(await sql.transaction((tx) => registry.endSession(tx, tgt, t.clock.now()))).toBeNull();
      expect(await ticketIds()).toEqual([tgt]);
      expect(await sql.transaction((tx) => registry.endSession(tx, tgt, at(300)))).toMatchObject({ principal: 'casuser', reached: [] });
      expect(await ticketIds()).toEqual([]);
      expect(await sql.transaction((tx) => registry.endSession(tx, tgt))).toBeNull();
    });
  });

  describe('endProxyGrantingTicket', () => {
    it('case=endProxyGrantingTicket deletes the PGT and all it granted, returns the back-end services, and leaves the SSO session', async () => {
      const { tgt, st, pgt, pt } = await proxiedSession();
      const inner = newTicketId('PGT');
      expect(await registry.grantProxyGrantingTicket((await registry.consumeServiceTicket(pt, ['PT']))!, inner, 'https://backend.example.org/cb')).toBe(true);
      const deep = (await registry.grantProxyTicket(inner, { service: 'https://deep.example.org/', registeredServiceId: null, policy: ST }))!;
      const ended = await sql.transaction((tx) => registry.endProxyGrantingTicket(tx, pgt));
      expect(ended!.principal).toBe('casuser');
      expect(ended!.reached.map((r) => [r.ticketId, r.service, r.registeredServiceId]).sort()).toEqual([
        [deep, 'https://deep.example.org/', null],
        [pt, 'https://backend.example.org/api', 2],
      ].sort());
      expect(await ticketIds()).toEqual([tgt]);
      expect(await records()).toEqual([{ session_id: tgt, ticket_id: st, service: APP, granted_by: null }]);
    });

    it('case=endProxyGrantingTicket of an unknown PGT, or of a TGT id, returns null and deletes nothing', async () => {
      const { tgt } = await proxiedSession();
      const before = await ticketIds();
      expect(await sql.transaction((tx) => registry.endProxyGrantingTicket(tx, newTicketId('PGT')))).toBeNull();
      expect(await sql.transaction((tx) => registry.endProxyGrantingTicket(tx, tgt))).toBeNull();
      expect(await ticketIds()).toEqual(before);
    });
  });

  describe('endExpiredSessions', () => {
    it('case=endExpiredSessions ends up to limit expired sessions, oldest expiry first, each with the services it reached in its history row', async () => {
      const first = await newSession('alice', { maxTimeToLiveSeconds: 60, timeToKillSeconds: null });
      const st = (await registry.grantServiceTicket(first, grant()))!;
      const second = await newSession('bob', { maxTimeToLiveSeconds: 70, timeToKillSeconds: null });
      const third = await newSession('carol', { maxTimeToLiveSeconds: 80, timeToKillSeconds: null });
      const live = await newSession('dave');
      t.clock.advance(90);
      const resolve = () => ({});
      const end = () => sql.transaction((tx) => registry.endExpiredSessions(tx, t.clock.now(), 2, { services: {}, enabled: false, returnEnded: true, resolve }));
      const ended = await end();
      expect(ended.ended).toBe(2);
      expect(ended.sessions.map((e) => [e.id, e.principal]).sort()).toEqual([[first, 'alice'], [second, 'bob']].sort());
      expect(await ticketIds()).toEqual([third, live].sort());
      expect(await records()).toEqual([]);
      const history = (await t.sql.query(`SELECT session_id, reason, services FROM session_history ORDER BY session_id`)).rows;
      expect(history).toEqual([
        { session_id: first, reason: 'EXPIRED_HARD', services: [expect.objectContaining({ ticket_id: st, service: APP, tickets: 1, logout: 'NONE' })] },
        { session_id: second, reason: 'EXPIRED_HARD', services: [] },
      ].sort((a, b) => (a.session_id < b.session_id ? -1 : 1)));
      expect((await end()).sessions.map((e) => e.id)).toEqual([third]);
      expect(await end()).toEqual({ ended: 0, sessions: [] });
      expect(await ticketIds()).toEqual([live]);
    });
  });

  describe('handOverSession', () => {
    it("case=handOverSession moves the old session's service records to the new one and deletes the old session's tickets", async () => {
      const old = await newSession();
      const st = (await registry.grantServiceTicket(old, grant()))!;
      const fresh = await newSession('CASUSER');
      expect(await registry.handOverSession(old, fresh, 'CasUser')).toBe(true);
      expect(await ticketIds()).toEqual([fresh]);
      expect(await records()).toEqual([{ session_id: fresh, ticket_id: st, service: APP, granted_by: null }]);
    });

    it("case=handOverSession of another user's, an expired, or to a gone session returns false and changes nothing", async () => {
      const old = await newSession();
      await registry.grantServiceTicket(old, grant());
      const fresh = await newSession();
      const before = { tickets: await ticketIds(), records: await records() };
      expect(await registry.handOverSession(old, fresh, 'mallory')).toBe(false);
      expect(await registry.handOverSession(old, newTicketId('TGT'), 'casuser')).toBe(false);
      expect({ tickets: await ticketIds(), records: await records() }).toEqual(before);
      t.clock.advance(300);
      expect(await registry.handOverSession(old, fresh, 'casuser')).toBe(false);
      expect({ tickets: await ticketIds(), records: await records() }).toEqual(before);
    });
  });

  describe('listSessions', () => {
    it('case=listSessions pages live sessions in id order, by kind and canonical principal, each with its services', async () => {
      const { tgt, st, pgt, pt } = await proxiedSession();
      const bob = await newSession('Bob');
      await newSession('eve', { maxTimeToLiveSeconds: 1, timeToKillSeconds: null });
      t.clock.advance(1);
      const tgts = [tgt, bob].sort();
      expect((await registry.listSessions({ limit: 10 })).map((s) => s.id)).toEqual(tgts);
      expect((await registry.listSessions({ limit: 1 })).map((s) => s.id)).toEqual([tgts[0]]);
      expect((await registry.listSessions({ limit: 10, after: tgts[0] })).map((s) => s.id)).toEqual([tgts[1]]);
      expect((await registry.listSessions({ limit: 10, kind: 'ALL' })).map((s) => s.id)).toEqual([pgt, ...tgts]);
      expect((await registry.listSessions({ limit: 10, principal: 'BOB' })).map((s) => s.id)).toEqual([bob]);
      expect(await registry.listSessions({ limit: 10, principal: 'eve' })).toEqual([]);
      const [session] = await registry.listSessions({ limit: 10, principal: 'casuser' });
      expect(session).toMatchObject({
        id: tgt, principal: 'casuser', proxiedBy: null, hardExpiresAt: at(599), idleTimeoutSeconds: 300, rememberMe: false,
        authenticationHandler: 'AcceptUsersAuthenticationHandler', attributes: { mail: ['casuser@example.org'] }, services: [{ ticketId: st, service: APP }],
      });
      expect(session.services[0].issuedAt).toBeInstanceOf(Date);
      const [proxied] = await registry.listSessions({ limit: 10, kind: 'PGT' });
      expect(proxied).toMatchObject({ id: pgt, proxiedBy: APP, authenticationHandler: 'AcceptUsersAuthenticationHandler', services: [{ ticketId: pt, service: 'https://backend.example.org/api' }] });
    });
  });

  describe('sessionTotals', () => {
    it('case=sessionTotals counts live TGTs, PGTs, distinct canonical users and uses', async () => {
      await proxiedSession();
      const other = await newSession('CasUser');
      await registry.grantServiceTicket(other, grant());
      await registry.grantServiceTicket(other, grant());
      await newSession('eve', { maxTimeToLiveSeconds: 1, timeToKillSeconds: null });
      t.clock.advance(1);
      expect(await registry.sessionTotals()).toEqual({ tgts: 2, pgts: 1, principals: 1, uses: 3 });
    });
  });

  describe('deleteExpiredServiceTickets', () => {
    it('case=deleteExpiredServiceTickets deletes up to limit expired STs and PTs and returns how many; sessions live on', async () => {
      const { tgt, pgt } = await proxiedSession();
      const live = await newSession();
      await registry.grantServiceTicket(live, grant());
      await registry.grantServiceTicket(live, grant());
      t.clock.advance(10);
      const fresh = (await registry.grantServiceTicket(live, grant()))!;
      expect(await registry.deleteExpiredServiceTickets(t.clock.now(), 2)).toBe(2);
      expect(await registry.deleteExpiredServiceTickets(t.clock.now(), 2)).toBe(1);
      expect(await registry.deleteExpiredServiceTickets(t.clock.now(), 2)).toBe(0);
      expect(await ticketIds()).toEqual([tgt, pgt, live, fresh].sort());
    });
  });

  describe('sessionIdsOf', () => {
    it("case=sessionIdsOf returns a user's TGT ids in id order, compared by canonical username; no PGT", async () => {
      const a = await newSession('CasUser');
      const b = await newSession('casuser');
      await newSession('bob');
      const { tgt } = await proxiedSession();
      expect(await registry.sessionIdsOf('CASUSER')).toEqual([a, b, tgt].sort());
    });
  });
});

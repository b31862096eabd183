import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SessionHistory } from '../../src/tickets/session-history';
import { handleOf } from '../../src/tickets/session-handle';
import { SessionSearch } from '../../src/tickets/session-search';
import { SessionTerminator } from '../../src/tickets/logout/session-terminator';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { Browser, ticketOf } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * What the console's session pages read and do, at the tickets module's level, on the real
 * database: a session named by its handle (never its id), its live tickets shown by prefix, a
 * bounded count, and "retry now" of a logout request.
 */
describe('session handles, live tickets, bounded count, retry now', () => {
  let t: TestApp;
  let receiver: Server;
  let answer = 500;
  let port: number;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(answer).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    port = (receiver.address() as AddressInfo).port;
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'alice::Secret1,bob::Secret1' },
      services: [{ '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'app', evaluationOrder: 1, serviceId: `^http://127\\.0\\.0\\.1:${port}/a.*` }],
    });
    t.clock.freeze();
  });
  afterAll(async () => {
    await t.close();
    await new Promise((r) => receiver.close(r));
  });

  async function login(user: string): Promise<{ tgt: string; st: string }> {
    const res = await new Browser(t.app).login(user, 'Secret1', `http://127.0.0.1:${port}/a`);
    const st = ticketOf(res);
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id;
    return { tgt, st };
  }

  it("finds a live session by its handle (Postgres's hash is handleOf's), under its own user only", async () => {
    const { tgt } = await login('alice');
    const search = t.app.get(SessionSearch);
    expect(await search.findByHandle('alice', handleOf(tgt))).toBe(tgt);
    expect(await search.findByHandle('Alice', handleOf(tgt))).toBe(tgt); // canonical username
    expect(await search.findByHandle('bob', handleOf(tgt))).toBeNull();
    expect(await search.findByHandle('alice', handleOf(`${tgt}x`))).toBeNull();
  });

  it("lists a session's live tickets with their ids cut to type and 8 characters", async () => {
    const { tgt, st } = await login('alice');
    const tickets = await t.app.get(SessionSearch).liveTicketsOf(tgt, 50);
    expect(tickets).toEqual([expect.objectContaining({ type: 'ST', idPrefix: st.slice(0, 11), service: `http://127.0.0.1:${port}/a`, useCount: 0 })]);
    expect(JSON.stringify(tickets)).not.toContain(st);
  });

  it('counts matching sessions no further than the cap', async () => {
    const search = t.app.get(SessionSearch);
    const all = await search.count({ usernamePrefix: 'al' });
    expect(all).toBeGreaterThanOrEqual(2);
    expect(await search.countUpTo({ usernamePrefix: 'al' }, 1000)).toBe(all);
    expect(await search.countUpTo({ usernamePrefix: 'al' }, 1)).toBe(1);
    expect(await search.countUpTo({ usernamePrefix: 'nobody' }, 10)).toBe(0);
  });

  it('retry now: a waiting request is sent at once, a given-up one once more; the history follows', async () => {
    const { tgt } = await login('bob');
    const delivery = t.app.get(SingleLogoutDelivery);
    answer = 500;
    await t.app.get(SessionTerminator).end(tgt, 'ADMIN', 0, 'console-test');
    const row = async () => (await t.sql.query(`SELECT id, status, attempts, next_attempt_at FROM slo_outbox WHERE session_id = $1`, [tgt])).rows[0];
    // The delivery's own pass (after the end, or its 1 s poll) may be the one that sends: wait for the outcome.
    const settled = (attempts: number) => eventually(row, (r) => r.attempts === attempts && r.status !== 'SENDING');
    const first = await settled(1);
    expect(first).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(first.next_attempt_at.getTime()).toBe(t.clock.now().getTime() + 5000); // the clock is frozen: not due by itself

    // Fails again at once, then given up after the 5th attempt (retried by the schedule's backoff).
    expect(await delivery.retryNow(tgt, first.id, 1000)).toBe(true);
    expect(await settled(2)).toMatchObject({ status: 'PENDING', attempts: 2 });
    for (const [wait, attempts] of [[10, 3], [20, 4], [40, 5]]) {
      t.clock.advance(wait);
      await delivery.kick();
      await settled(attempts);
    }
    expect(await row()).toMatchObject({ status: 'FAILURE', attempts: 5 });
    const history = t.app.get(SessionHistory);
    expect((await history.findByHandle('bob', handleOf(tgt)))!.services[0]).toMatchObject({ logout: 'BACK_CHANNEL', status: 'FAILURE' });

    // The application is back: one more attempt on demand delivers it, and the history says so.
    answer = 200;
    expect(await delivery.retryNow(tgt, first.id, 1000)).toBe(true);
    expect(await settled(6)).toMatchObject({ status: 'SUCCESS', attempts: 6 });
    const ended = (await history.findByHandle('BOB', handleOf(tgt)))!;
    expect(ended).toMatchObject({ reason: 'ADMIN', ended_by: 'console-test', principal: 'bob' });
    expect(ended.services[0]).toMatchObject({ status: 'SUCCESS' });
    // Delivered, unknown, or another session's: nothing to retry.
    expect(await delivery.retryNow(tgt, first.id, 1000)).toBe(false);
    expect(await delivery.retryNow(tgt, 'nope', 1000)).toBe(false);
    expect(await delivery.retryNow('TGT-other', first.id, 1000)).toBe(false);
    expect(await history.findByHandle('alice', handleOf(tgt))).toBeNull();
  });
});

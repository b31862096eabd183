import { Sql } from '../../src/database/sql';
import { SingleLogoutOutbox } from '../../src/tickets/logout/single-logout-outbox';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Two nodes delivering the outbox: a claim expires after 30 s and another node takes the row
 * (attempts + 1). The first node's answer, arriving late, must not overwrite the newer claim.
 * Single logout stays switched off in these apps, so their own workers claim nothing: the test
 * drives each node's SingleLogoutOutbox itself, with each node's injected clock.
 */
describe('single logout outbox claims on two nodes', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ databaseUrl: a.config.databaseUrl });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const row = async (id: string) =>
    (await a.sql.query(`SELECT status, attempts, last_http_status, last_error FROM slo_outbox WHERE id = $1`, [id])).rows[0];

  it("records a late result only for the claim it was made under, never over another node's newer claim", async () => {
    const nodeA = a.app.get(SingleLogoutOutbox);
    const nodeB = b.app.get(SingleLogoutOutbox);
    const id = 'LR-claimrace000000000000000000';
    await a.app.get(Sql).transaction((tx) =>
      nodeA.enqueue(tx, 'LOGOUT', [{
        id, sessionId: 'TGT-claimrace', ticketId: 'ST-claimrace', principal: 'casuser', service: 'https://app.example.org/',
        logoutUrl: 'https://app.example.org/logout', issuedAt: a.clock.now(), channel: 'BACK_CHANNEL',
      }]),
    );

    const [claimA] = await nodeA.claimDue(10);
    expect(claimA).toMatchObject({ id, attempts: 1 });
    expect(await nodeB.claimDue(10)).toEqual([]);

    // Node A's POST hangs past its 30 s claim: node B takes the row over.
    a.clock.advance(31);
    b.clock.advance(31);
    const [claimB] = await nodeB.claimDue(10);
    expect(claimB).toMatchObject({ id, attempts: 2 });

    // A's failure arrives late: B's claim stands (the row is not put back to PENDING for a retry).
    const lateFromA = { id, attempt: claimA.attempts, ok: false, httpStatus: 503, error: 'HTTP 503', finalAttempt: false, retryInSeconds: 5 };
    await nodeA.record([lateFromA]);
    expect(await row(id)).toEqual({ status: 'SENDING', attempts: 2, last_http_status: null, last_error: null });

    // B's success is recorded.
    const fromB = { id, attempt: claimB.attempts, ok: true, httpStatus: 200, finalAttempt: false, retryInSeconds: 10 };
    await nodeB.record([fromB]);
    expect(await row(id)).toEqual({ status: 'SUCCESS', attempts: 2, last_http_status: 200, last_error: null });

    // And nothing is due any more, on either node.
    a.clock.advance(60);
    b.clock.advance(60);
    expect(await nodeA.claimDue(10)).toEqual([]);
    expect(await nodeB.claimDue(10)).toEqual([]);
  });
});

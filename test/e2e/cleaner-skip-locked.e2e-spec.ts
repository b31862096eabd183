import { Client } from 'pg';
import { CLAIM_EXPIRED_SESSIONS_SQL, END_EXPIRED_SESSIONS_SQL } from '../../src/tickets/ticket-statements';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { Browser } from '../helpers/browser';
import { blocksWhile } from '../helpers/pg-locks';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Cleaners on several nodes claim their batches FOR UPDATE SKIP LOCKED: a batch another node holds
 * is skipped, not waited for. The other node here is a plain connection running the registry's own
 * claim and end statements inside a transaction it keeps open.
 */
describe('cleaners on two nodes', () => {
  let t: TestApp;
  let otherNode: Client;
  beforeAll(async () => {
    t = await startTestApp({ env: { TICKET_REGISTRY_CLEANER_BATCH_SIZE: '3', TICKET_REGISTRY_CLEANER_PAUSE_RATIO: '0' } });
    otherNode = new Client({ connectionString: t.config.databaseUrl });
    otherNode.on('error', () => undefined);
    await otherNode.connect();
  });
  afterAll(async () => {
    await otherNode.end();
    await t.close();
  });

  const sessions = async () => (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY id`)).rows.map((r) => r.id as string);

  it('take different batches without waiting for each other: one finishes its own while the other holds its batch open', async () => {
    for (let i = 0; i < 10; i++) await new Browser(t.app).login('casuser', 'Mellon');
    t.clock.advance(7201);
    const pid = (await otherNode.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid as number;
    await otherNode.query('BEGIN');
    let open = true;
    try {
      // The other node claims the four sessions that expired first (the head of the queue every
      // claim reads) and keeps its transaction open, as a node does in the middle of a batch.
      const held = (await otherNode.query(CLAIM_EXPIRED_SESSIONS_SQL, [t.clock.now(), 4])).rows.map((r) => r.id as string).sort();
      expect(held).toHaveLength(4);
      // and ends them, as the batch's second statement does, still inside its open transaction.
      await otherNode.query(END_EXPIRED_SESSIONS_SQL, [held, t.clock.now(), '{}', false, false]);

      // This node's cleaner runs its batches of 3 meanwhile. Waiting for the held rows (a claim
      // without SKIP LOCKED) shows as a backend blocked by the other node, and fails the test then.
      const cleaning = t.app.get(TicketRegistryCleaner).clean();
      expect({ waitedForTheOtherNode: await blocksWhile(t.sql, pid, cleaning) }).toEqual({ waitedForTheOtherNode: false });
      const report = await cleaning;
      expect(report.removed.sessions).toBe(6);
      // What is left, seen while the other transaction is still open, is exactly the batch it holds.
      expect(await sessions()).toEqual(held);
      await otherNode.query('COMMIT');
      open = false;
      expect(await sessions()).toEqual([]);
    } finally {
      // On failure: let the blocked cleaner go, so the app can close.
      if (open) await otherNode.query('ROLLBACK');
    }
  });
});

import { NodeHeartbeats } from '../../src/admin/node-heartbeats';
import { CasMetrics } from '../../src/metrics/cas-metrics';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The nodes' heartbeats (issue 15, the console's overview): two applications on one database are
 * two nodes; each upserts its row and sees the other's, its counts and its cleaner runs.
 */
describe('node heartbeats', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ databaseUrl: a.config.databaseUrl });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const heartbeats = (t: TestApp) => t.app.get(NodeHeartbeats);

  it('two application instances on one database both appear as nodes, each seeing the other', async () => {
    await Promise.all([heartbeats(a).beat(), heartbeats(b).beat()]);
    const seenByA = await heartbeats(a).recent();
    const seenByB = await heartbeats(b).recent();
    const ids = [heartbeats(a).nodeId, heartbeats(b).nodeId].sort();
    expect(seenByA.map((n) => n.nodeId).sort()).toEqual(ids);
    expect(seenByB.map((n) => n.nodeId).sort()).toEqual(ids);
    expect(seenByA.find((n) => n.self)?.nodeId).toBe(heartbeats(a).nodeId);
    const other = seenByA.find((n) => !n.self)!;
    expect(other).toMatchObject({ pid: process.pid, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(other.host.length).toBeGreaterThan(0);
    const rows = await a.sql.query(`SELECT count(*)::int AS n FROM node_heartbeats`);
    expect(rows.rows[0].n).toBe(2);
  });

  it("a node's minute counts and cleaner runs reach the other node with its next heartbeat", async () => {
    // Frozen: the three counts fall in one minute whatever the box's load.
    b.clock.freeze();
    b.app.get(CasMetrics).loginSucceeded('Static');
    b.app.get(CasMetrics).loginFailed('Static', 'invalid-credentials');
    b.app.get(CasMetrics).validated('serviceValidate', 'SUCCESS');
    const run = await b.app.get(TicketRegistryCleaner).clean();

    await heartbeats(b).beat();
    const other = (await heartbeats(a).recent()).find((n) => !n.self)!;
    expect(other.minuteCounts).toEqual([expect.objectContaining({ logins: 1, loginFailures: 1, validations: 1 })]);
    expect(other.cleanerRuns).toEqual([run]);
    // The answering node's own counts are live, not its last heartbeat's.
    const self = (await heartbeats(b).recent()).find((n) => n.self)!;
    expect(self.cleanerRuns).toEqual([run]);
  });

  it('a node not seen for an hour is no longer listed, and one not seen for a day is deleted by the next heartbeat', async () => {
    a.clock.advance(2 * 3600);
    expect((await heartbeats(a).recent()).map((n) => n.nodeId)).toEqual([heartbeats(a).nodeId]);
    expect((await a.sql.query(`SELECT count(*)::int AS n FROM node_heartbeats`)).rows[0].n).toBe(2);

    a.clock.advance(23 * 3600);
    await heartbeats(a).beat();
    const rows = await a.sql.query(`SELECT node_id FROM node_heartbeats`);
    expect(rows.rows.map((r) => r.node_id)).toEqual([heartbeats(a).nodeId]);
  });
});

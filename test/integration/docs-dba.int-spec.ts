import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

/** The ```sql blocks of the DBA handbook (docs/dba.md), each with the header of the output shown after it. */
function handbookQueries(): { sql: string; columns: string[] }[] {
  const handbook = readFileSync(join(__dirname, '..', '..', 'docs', 'dba.md'), 'utf8');
  return [...handbook.matchAll(/```sql\n((?:(?!```)[\s\S])*?)```\s*```text\n([^\n]*)\n/g)].map((m) => ({
    sql: m[1],
    columns: m[2].split('|').map((c) => c.trim()),
  }));
}

/** The DBA handbook must not rot: every query runs on a database filled through the server, and answers the columns it shows. */
describe('docs/dba.md queries', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'alice::Mellon' } });
    const a = new Browser(t.app);
    await a.login('alice', 'Mellon', APP);
    ticketOf(await a.get(`/cas/login?service=${encodeURIComponent(OTHER)}`));
    const b = new Browser(t.app);
    const st = ticketOf(await b.login('alice', 'Mellon', APP));
    await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${st}` });
    await b.get('/cas/logout');
    await new Browser(t.app).login('alice', 'Mellon', OTHER);
    // One session and one ticket past their limits, not cleaned yet.
    await t.sql.query(`UPDATE tickets SET expires_at = now() - interval '1 minute' WHERE id = (SELECT id FROM tickets WHERE type = 'TGT' ORDER BY created_at DESC LIMIT 1)`);
    await t.sql.query(`UPDATE tickets SET expires_at = now() - interval '1 minute' WHERE id = (SELECT id FROM tickets WHERE type = 'ST' ORDER BY created_at LIMIT 1)`);
  });
  afterAll(() => t.close());

  const queries = handbookQueries();

  it('has the seven documented queries, each followed by its output', () => {
    expect(queries).toHaveLength(7);
  });

  it.each(queries.map((q) => [q.sql.split('\n')[0], q]))('%s', async (_, q) => {
    const res = await t.sql.query(q.sql);
    expect(res.fields.map((f) => f.name)).toEqual(q.columns);
  });

  it('answer what they say on this data', async () => {
    const results = [];
    for (const q of queries) results.push((await t.sql.query(q.sql)).rows);
    const [perUser, , byType, oneUser, backlog, , history] = results;
    expect(perUser).toEqual([{ principal: 'alice', sessions: '1', last_seen: expect.any(Date) }]);
    expect(byType).toEqual(
      expect.arrayContaining([{ type: 'TGT', state: 'expired', count: '1' }, { type: 'TGT', state: 'live', count: '1' }]),
    );
    expect(oneUser.map((r) => r.service_name)).toEqual(['App', 'Other']);
    expect(backlog).toEqual(expect.arrayContaining([expect.objectContaining({ what: 'tickets TGT', waiting: '1' })]));
    expect(history).toEqual([{ reason: 'LOGOUT', sessions: '1', logouts_failed: '0', last_ended: expect.any(Date) }]);
  });
});

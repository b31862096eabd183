import { Browser, executionOf } from '../helpers/browser';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

/**
 * The session limit across nodes (issue 14, "Limits"): two applications on one database, each
 * with its own connection pool, take simultaneous logins of one user. Without the per-user lock
 * both count the same sessions and both insert one more; with it they take turns.
 */

const ROUNDS = 30;
/** Logins fired at once per round, half on each node. */
const AT_ONCE = 4;
const MAXIMUM = 2;

async function twoNodes(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const base = {
    AUTHN_THROTTLE_ENABLED: 'false',
    CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_ENABLED: 'true',
    CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_MAXIMUM_ALLOWED_SESSIONS: String(MAXIMUM),
    ...env,
  };
  const a = await startTestApp({ env: base });
  const b = await startTestApp({ env: base, databaseUrl: a.config.databaseUrl });
  return [a, b];
}

/** Every browser's login form first, then all the POSTs at once; the statuses, by browser. */
async function simultaneousLogins(nodes: [TestApp, TestApp]): Promise<number[]> {
  const browsers = Array.from({ length: AT_ONCE }, (_, i) => new Browser(nodes[i % 2].app));
  const forms = await Promise.all(browsers.map((b) => b.get(`/cas/login?service=${encodeURIComponent(APP)}`)));
  const posts = await Promise.all(
    browsers.map((b, i) => b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(forms[i].body) })),
  );
  return posts.map((p) => p.statusCode);
}

async function liveSessions(t: TestApp): Promise<number> {
  return (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT' AND principal = 'casuser' AND expires_at > now()`)).rows[0].n;
}

async function reset(t: TestApp): Promise<void> {
  await t.sql.query('DELETE FROM tickets');
  await t.sql.query('DELETE FROM session_services');
  await t.sql.query('DELETE FROM slo_outbox');
}

async function closeBoth(nodes: [TestApp, TestApp] | undefined): Promise<void> {
  // The second node shares the first's database: it goes first, the first drops the database.
  await nodes?.[1].close();
  await nodes?.[0].close();
}

describe('session limit on two nodes: REFUSE', () => {
  let nodes: [TestApp, TestApp] | undefined;
  beforeAll(async () => {
    nodes = await twoNodes({ SESSION_LIMIT_ACTION: 'REFUSE' });
  }, 60_000);
  afterAll(() => closeBoth(nodes), 30_000);

  it(`${AT_ONCE} simultaneous logins of one user on two nodes, ${ROUNDS} times: exactly ${MAXIMUM} get a session each time, the rest the refusal`, async () => {
    const [a] = nodes!;
    for (let round = 0; round < ROUNDS; round++) {
      await reset(a);
      const statuses = await simultaneousLogins(nodes!);
      expect({ round, live: await liveSessions(a) }).toEqual({ round, live: MAXIMUM });
      expect({ round, statuses: [...statuses].sort() }).toEqual({ round, statuses: [302, 302, 403, 403] });
    }
  }, 120_000);
});

describe('session limit on two nodes: END_OLDEST', () => {
  let nodes: [TestApp, TestApp] | undefined;
  beforeAll(async () => {
    nodes = await twoNodes({ SESSION_LIMIT_ACTION: 'END_OLDEST' });
  }, 60_000);
  afterAll(() => closeBoth(nodes), 30_000);

  it(`${AT_ONCE} simultaneous logins of one user on two nodes, ${ROUNDS} times: never more than ${MAXIMUM} live sessions, none refused`, async () => {
    const [a] = nodes!;
    for (let round = 0; round < ROUNDS; round++) {
      await reset(a);
      const statuses = await simultaneousLogins(nodes!);
      expect({ round, live: await liveSessions(a) }).toEqual({ round, live: MAXIMUM });
      // A login whose new session a later one ended before its ticket was granted gets the form
      // again ("your session was ended"), never the refusal.
      expect({ round, refused: statuses.filter((s) => s !== 302 && s !== 200) }).toEqual({ round, refused: [] });
    }
  }, 120_000);
});

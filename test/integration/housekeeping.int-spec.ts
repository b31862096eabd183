import { AuthHousekeeping } from '../../src/auth/auth-housekeeping';
import { Browser, executionOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

describe('auth housekeeping', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600' } });
  });
  afterAll(() => t.close());

  const rows = async (table: string) => (await t.sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

  it('forgets used login forms once they have expired (plus a clock-skew margin) and past throttle windows, nothing current', async () => {
    const b = new Browser(t.app);
    await b.get('/cas/login');
    await b.get('/cas/login');
    const form = await b.get('/cas/login');
    // Served forms cost no row; a posted one is remembered as used.
    expect(await rows('used_login_executions')).toBe(0);
    const execution = executionOf(form.body);
    await b.post('/cas/login', { username: 'casuser', password: 'wrong', execution });
    expect(await rows('used_login_executions')).toBe(1);
    expect(await rows('login_throttle')).toBe(2);
    expect(await t.app.get(AuthHousekeeping).run()).toMatchObject({ usedExecutions: 0, throttleWindows: 0 });

    t.clock.advance(16 * 60); // forms live 15 minutes; the 10-minute window has passed
    expect(await t.app.get(AuthHousekeeping).run()).toMatchObject({ usedExecutions: 0, throttleWindows: 2 });
    // Within the margin a replay is still recognised as one (and the token has expired anyway).
    expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution })).statusCode).toBe(403);
    t.clock.advance(5 * 60);
    const fresh = await b.get('/cas/login');
    expect(await t.app.get(AuthHousekeeping).run()).toMatchObject({ usedExecutions: 1, throttleWindows: 0 });
    expect(await rows('used_login_executions')).toBe(0);
    // The form served after the clean-up still works, and is remembered as used.
    expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(fresh.body) })).statusCode).toBe(200);
    expect(await rows('used_login_executions')).toBe(1);
  });

  it('keeps up with a flood of posted forms: deletes batch after batch while they come back full', async () => {
    // 25,000 used tokens that expired 6 minutes ago (past the 5-minute margin): more than one batch.
    await t.sql.query(
      `INSERT INTO used_login_executions (id, expires_at) SELECT 'flood-' || i, $1 FROM generate_series(1, 25000) AS i`,
      [new Date(t.clock.now().getTime() - 6 * 60_000)],
    );
    const live = await rows('used_login_executions');
    expect((await t.app.get(AuthHousekeeping).run()).usedExecutions).toBe(25_000);
    expect(await rows('used_login_executions')).toBe(live - 25_000);
  });
});

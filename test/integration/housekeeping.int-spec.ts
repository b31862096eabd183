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

  it('deletes abandoned login forms and past throttle windows, and nothing current', async () => {
    const b = new Browser(t.app);
    await b.get('/cas/login');
    await b.get('/cas/login');
    const form = await b.get('/cas/login');
    await b.post('/cas/login', { username: 'casuser', password: 'wrong', execution: executionOf(form.body) });
    const before = { flows: await rows('login_flows'), throttle: await rows('login_throttle') };
    expect(before.throttle).toBe(2);
    expect(await t.app.get(AuthHousekeeping).run()).toEqual({ flows: 0, throttleWindows: 0 });

    t.clock.advance(16 * 60); // forms live 15 minutes; the 10-minute window has passed
    const fresh = await b.get('/cas/login');
    expect(await t.app.get(AuthHousekeeping).run()).toEqual({ flows: before.flows, throttleWindows: 2 });
    expect(await rows('login_flows')).toBe(1);
    // The form served after the clean-up still works.
    expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(fresh.body) })).statusCode).toBe(200);
  });
});

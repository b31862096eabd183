import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const EXPIRED_FORM = 'Your login form has expired or was already used.';

/**
 * Item 8: the login form's `execution` carries its own state (encrypted, expiring, bound to the
 * browser), as Apereo CAS keeps its webflow state client-side, so fetching the form stores nothing.
 */
describe('login form state kept in the execution token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** Every row of every table of the schema, by table. */
  async function rowsEverywhere(): Promise<Record<string, number>> {
    const { rows: tables } = await t.sql.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const out: Record<string, number> = {};
    for (const { table_name } of tables) {
      out[table_name] = (await t.sql.query(`SELECT count(*)::int AS n FROM "${table_name}"`)).rows[0].n;
    }
    return out;
  }
  const tgts = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n as number;

  it('serves 2,000 anonymous login forms without adding a row anywhere', async () => {
    const before = await rowsEverywhere();
    for (let batch = 0; batch < 200; batch++) {
      const pages = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.app.inject({ method: 'GET', url: i % 2 ? '/cas/login' : `/cas/login?service=${encodeURIComponent(APP)}` }),
        ),
      );
      for (const p of pages) {
        expect(p.statusCode).toBe(200);
        executionOf(p.body);
      }
    }
    expect(await rowsEverywhere()).toEqual(before);
  });

  it('accepts a posted token once; a replay, another browser’s, an expired or a tampered token get the expired-form page', async () => {
    const before = await tgts();
    const refused = async (res: Awaited<ReturnType<Browser['post']>>) => {
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain(EXPIRED_FORM);
      expect(res.body).toContain('name="execution"');
      expect(setCookies(res).some((c) => c.name === 'TGC')).toBe(false);
    };

    // Once: a wrong password uses the token up as well, so the right one cannot ride on it.
    const b = new Browser(t.app);
    const execution = executionOf((await b.get('/cas/login')).body);
    expect((await b.post('/cas/login', { username: 'casuser', password: 'wrong', execution })).statusCode).toBe(401);
    await refused(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution }));

    // Another browser's token (its own CASLOGIN key).
    const stolen = executionOf((await new Browser(t.app).get('/cas/login')).body);
    await refused(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: stolen }));

    // Expired: 15 minutes on the injected clock.
    const old = executionOf((await b.get('/cas/login')).body);
    t.clock.advance(15 * 60 + 1);
    await refused(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: old }));

    // Tampered: every part of the token altered in turn (header, IV, ciphertext, tag), and garbage.
    const good = executionOf((await b.get('/cas/login')).body);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const dots = [...good.matchAll(/\./g)].map((m) => m.index!);
    const positions = [1, dots[1] + 2, dots[2] + 3, dots[3] + 2, good.length - 3];
    for (const i of positions) await refused(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: flip(good, i) }));
    for (const junk of ['', 'LT-forged', 'x'.repeat(20_000), `${good}.x`]) {
      await refused(await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: junk }));
    }
    expect(await tgts()).toBe(before);

    // The untampered token still works: nothing above used it up.
    const ok = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: good });
    expect(ok.statusCode).toBe(200);
    expect(await tgts()).toBe(before + 1);
  });

  it('carries the service: the token posted decides where the ticket goes, not the form fields', async () => {
    const b = new Browser(t.app);
    const execution = executionOf((await b.get(`/cas/login?service=${encodeURIComponent(APP)}`)).body);
    const res = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution, service: 'https://evil.org/' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(/^https:\/\/app\.example\.org\/\?ticket=ST-/);
  });

  it('keeps the login form’s and the warning page’s tokens apart: neither is accepted for the other', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon', undefined, { warn: 'true' });
    const sts = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST'`)).rows[0].n as number;
    const before = await sts();
    // A login form's token posted as "Continue" would skip the warning the user asked for.
    const formToken = executionOf((await b.get(`/cas/login?service=${encodeURIComponent(APP)}&renew=true`)).body);
    const proceed = await b.post('/cas/login', { _eventId: 'proceed', execution: formToken });
    expect(proceed.statusCode).toBe(403);
    expect(proceed.body).toContain(EXPIRED_FORM);
    // The warning page's token is no login form.
    const warning = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(warning.body).toContain('name="_eventId" value="proceed"');
    const warnToken = executionOf(warning.body);
    const credentials = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: warnToken });
    expect(credentials.statusCode).toBe(403);
    expect(await sts()).toBe(before);
    // Each for its own purpose works.
    const again = executionOf((await b.get(`/cas/login?service=${encodeURIComponent(APP)}`)).body);
    expect(ticketOf(await b.post('/cas/login', { _eventId: 'proceed', execution: again }))).toMatch(/^ST-/);
  });

  it('does not reveal the service or the browser key in the token', async () => {
    const b = new Browser(t.app);
    const page = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    const execution = executionOf(page.body);
    const decoded = execution
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join('\n');
    expect(decoded).not.toContain('app.example.org');
    for (const value of b.cookies.values()) expect(decoded).not.toContain(value.slice(0, 16));
  });
});

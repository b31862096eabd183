import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

/** The spec's single-use rule under concurrency: exactly one of many simultaneous validations wins. */
describe('service ticket single use under concurrency', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  const validate = (st: string) =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${st}` });

  it('one ST, 60 validations at once: exactly one success', async () => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
    const results = await Promise.all(Array.from({ length: 60 }, () => validate(st)));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect(results.filter((r) => r.body.includes('cas:authenticationSuccess'))).toHaveLength(1);
    expect(results.filter((r) => r.body.includes('code="INVALID_TICKET"'))).toHaveLength(59);
  });

  it('30 STs, each validated by 8 callers at once: each succeeds exactly once', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const tickets: string[] = [];
    for (let i = 0; i < 30; i++) tickets.push(ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(APP)}`)));
    const calls = tickets.flatMap((st) => Array.from({ length: 8 }, () => validate(st).then((r) => ({ st, ok: r.body.includes('cas:authenticationSuccess') }))));
    const results = await Promise.all(calls);
    for (const st of tickets) expect(results.filter((r) => r.st === st && r.ok)).toHaveLength(1);
  });
});

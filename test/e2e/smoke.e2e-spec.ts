import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('logs in at a service and validates the ticket', async () => {
    const b = new Browser(t.app);
    const res = await b.login('casuser', 'Mellon', APP);
    expect(res.statusCode).toBe(302);
    const st = ticketOf(res);
    const v = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${st}` });
    expect(v.statusCode).toBe(200);
    expect(v.body).toContain('<cas:user>casuser</cas:user>');
  });
});

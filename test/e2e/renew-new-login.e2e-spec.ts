import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

/**
 * SPEC 2.5.1: with renew=true, validation succeeds only for a ticket "issued from the presentation
 * of the user's primary credentials" — checked in the request that granted it, not a session's
 * first ticket granted later by SSO.
 */
describe('renew=true and isFromNewLogin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const validate = (ticket: string, extra = '') =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${encodeURIComponent(ticket)}&format=JSON${extra}` });

  /** Logs in at /login without a service, then takes the session's first ticket by SSO. */
  const firstTicketBySso = async () => {
    const b = new Browser(t.app);
    const login = await b.login('casuser', 'Mellon');
    expect(login.statusCode).toBe(200);
    expect(login.headers.location).toBeUndefined();
    const sso = await b.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    // SSO: a redirect with a ticket, and no form was shown.
    expect(sso.statusCode).toBe(302);
    return ticketOf(sso);
  };

  it('refuses the first SSO ticket of a session logged in without a service (INVALID_TICKET)', async () => {
    const res = await validate(await firstTicketBySso(), '&renew=true');
    expect(res.statusCode).toBe(200);
    expect(res.json().serviceResponse.authenticationFailure?.code).toBe('INVALID_TICKET');
    expect(res.json().serviceResponse.authenticationSuccess).toBeUndefined();
  });

  it('reports that ticket with isFromNewLogin false', async () => {
    const res = await validate(await firstTicketBySso());
    expect(res.json().serviceResponse.authenticationSuccess.attributes.isFromNewLogin).toEqual([false]);
  });

  it('still accepts the ticket of a credential login for that service', async () => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
    const res = await validate(st, '&renew=true');
    expect(res.json().serviceResponse.authenticationSuccess.user).toBe('casuser');
    expect(res.json().serviceResponse.authenticationSuccess.attributes.isFromNewLogin).toEqual([true]);
  });
});

// Interoperability with multi-factor login: the npm CAS client libraries of interop.e2e-spec.ts,
// unchanged, in front of a server that asks every login for a TOTP code (the global trigger
// cas.authn.mfa.triggers.global.global-provider-id=mfa-gauth). The libraries know nothing of MFA:
// they redirect to /cas/login and validate the ticket that comes back. What this proves is that
// the ticket arrives only after the code, and that its validation answer, read by the library's
// own parser, carries authnContextClass=mfa-gauth to the application.
//
// - http-cas-client (CAS 3.0, principal with attributes): a user enrolling on the way in.
// - cas-authentication (Express middleware, CAS 3.0): a user with a device already.
import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { executionOf } from '../helpers/browser';
import { ClientApp, PageBody, startCasAuthenticationApp, startHttpCasClientApp } from '../helpers/cas-client-apps';
import { FetchBrowser, locationOf } from '../helpers/fetch-browser';
import { startListeningCas } from '../helpers/listening-cas';
import { MutableClock } from '../helpers/mutable-clock';
import { TestApp } from '../helpers/test-app';

const MFA_ENV = {
  CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID: 'mfa-gauth',
  CAS_AUTHN_ACCEPT_USERS: ['alice', 'bob', 'carol'].map((u) => `${u}::Secret1`).join(','),
};

/** The code an authenticator app shows for `secret` at the clock's time. */
function codeAt(clock: MutableClock, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
}

/** A six-digit code that is not `right`. */
function wrong(right: string): string {
  return String((Number(right) + 1) % 1_000_000).padStart(6, '0');
}

const isCodePage = (html: string) => html.includes('name="token"') && !html.includes('name="password"');

describe('interop: CAS clients through an MFA-protected login (global trigger mfa-gauth, TOTP)', () => {
  let t: TestApp;
  let casUrl: string;
  let httpApp: ClientApp;
  let expressApp: ClientApp;
  let expressUrl: string;

  beforeAll(async () => {
    let casPort: number;
    ({ t, casUrl, casPort } = await startListeningCas({ env: MFA_ENV }));
    // Codes are computed at the app's clock: frozen, it moves only when a test says so.
    t.clock.freeze();
    httpApp = await startHttpCasClientApp(casUrl, 3);
    expressApp = await startCasAuthenticationApp(casUrl, casPort, '3.0', '/payroll');
    expressUrl = expressApp.origin;
  });

  afterAll(async () => {
    await httpApp?.close();
    await expressApp?.close();
    await t?.close();
  });

  /** From the application to the CAS form, then the password: the answer to the password POST. */
  async function passwordStep(b: FetchBrowser, appPage: string, username: string): Promise<Response> {
    const toCas = locationOf(await b.get(appPage));
    expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
    expect(toCas.searchParams.get('service')).toBe(appPage);
    const form = await b.get(toCas.href);
    expect(form.status).toBe(200);
    return b.post(`${casUrl}/login`, { username, password: 'Secret1', execution: executionOf(await form.text()), _eventId: 'submit' });
  }

  const submitCode = (b: FetchBrowser, html: string, token: string) => b.post(`${casUrl}/login`, { execution: executionOf(html), token, _eventId: 'mfa' });

  it('http-cas-client: password, enrolment (the key read from the page), the first code -> back to the app, which sees the user and authnContextClass=mfa-gauth', async () => {
    const b = new FetchBrowser();
    const page = `${httpApp.origin}/protected`;
    const enrolment = await passwordStep(b, page, 'alice');
    // The password alone does not go back to the application: it shows the enrolment page.
    expect(enrolment.status).toBe(200);
    expect(enrolment.headers.get('location')).toBeNull();
    const html = await enrolment.text();
    expect(html).toContain('Set up two-step verification');
    const secret = /<textarea id="secret" readonly[^>]*>([A-Z2-7]+)<\/textarea>/.exec(html)![1];
    expect(b.cookie(casUrl, 'TGC')).toBeUndefined();

    const back = locationOf(await submitCode(b, html, codeAt(t.clock, secret)));
    expect(`${back.origin}${back.pathname}`).toBe(page);
    expect(back.searchParams.get('ticket')).toMatch(/^ST-[A-Za-z0-9-]+$/);
    expect(b.cookie(casUrl, 'TGC')).toBeDefined();

    // The library validates the ticket (/p3/serviceValidate), keeps the principal under its `st`
    // cookie and redirects to the URL without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(page);
    const body = (await (await b.get(page)).json()) as PageBody;
    expect(body.principal?.user).toBe('alice');
    expect(body.principal?.attributes).toMatchObject({
      authnContextClass: 'mfa-gauth',
      successfulAuthenticationHandlers: ['AcceptUsersAuthenticationHandler', 'GoogleAuthenticatorAuthenticationHandler'],
      isFromNewLogin: 'true',
    });
  });

  it('cas-authentication: an enrolled user gets the code page after the password; the code -> the Express app sees the user and authnContextClass=mfa-gauth', async () => {
    const creds = t.app.get(GauthCredentials);
    const e = await creds.enrol('bob', 'phone');
    expect((await creds.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    // The confirming code's time step is spent; the login uses the next one.
    t.clock.advance(30);

    const b = new FetchBrowser();
    const page = `${expressUrl}/payroll`;
    const codePage = await passwordStep(b, page, 'bob');
    expect(codePage.status).toBe(200);
    const html = await codePage.text();
    expect(isCodePage(html)).toBe(true);
    expect(html).not.toContain('id="secret"');

    const back = locationOf(await submitCode(b, html, codeAt(t.clock, e.secret)));
    expect(`${back.origin}${back.pathname}`).toBe(page);
    expect(back.searchParams.get('ticket')).toMatch(/^ST-/);
    // The middleware validates the ticket with its own request to /p3/serviceValidate, then
    // redirects to the page without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    const res = await b.get(new URL(landed.headers.get('location')!, page).href);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: string; attributes: Record<string, unknown> };
    expect(body.user).toBe('bob');
    // xml2js's normalize processor lower-cases the element names.
    expect(body.attributes.authncontextclass).toBe('mfa-gauth');
  });

  it('a wrong code does not reach the application: the code page again (401), no ticket, no CAS session, and the app still sends the user to CAS', async () => {
    const creds = t.app.get(GauthCredentials);
    const e = await creds.enrol('carol', 'phone');
    expect((await creds.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);

    const b = new FetchBrowser();
    const page = `${httpApp.origin}/protected`;
    const codePage = await passwordStep(b, page, 'carol');
    expect(codePage.status).toBe(200);
    const refused = await submitCode(b, await codePage.text(), wrong(codeAt(t.clock, e.secret)));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('location')).toBeNull();
    const html = await refused.text();
    expect(isCodePage(html)).toBe(true);
    expect(html).toContain('Invalid verification code');
    expect(b.cookie(casUrl, 'TGC')).toBeUndefined();
    expect((await t.sql.query(`SELECT type FROM tickets WHERE principal = 'carol'`)).rows).toEqual([]);

    // The application has no session for this browser: it sends it back to CAS, which shows the
    // password form (nothing was established by the password alone).
    const toCas = locationOf(await b.get(page));
    expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
    expect(b.cookie(httpApp.origin, 'st')).toBeUndefined();
    const form = await b.get(toCas.href);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="password"');
  });
});

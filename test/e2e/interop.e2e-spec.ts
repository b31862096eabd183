// Interoperability: independently written CAS client libraries from npm log a user in through
// this server over real HTTP, exactly as deployed applications would: redirect to /cas/login,
// the form, the ticket back on the service URL, and the library's own back-channel validation
// request; the application then sees the user and the released attributes.
//
// - cas-authentication (Express middleware; CAS 2.0 -> /serviceValidate, 3.0 -> /p3/serviceValidate)
// - http-cas-client (plain Node http handler; CAS 2.0 and 3.0, principal with attributes)
import { executionOf } from '../helpers/browser';
import { ClientApp, ExpressPage, PageBody, startCasAuthenticationApp, startHttpCasClientApp } from '../helpers/cas-client-apps';
import { FetchBrowser, locationOf } from '../helpers/fetch-browser';
import { startListeningCas } from '../helpers/listening-cas';
import { FIXTURE_PASSWORDS, startSlapd, type Slapd } from '../helpers/slapd';
import { TestApp } from '../helpers/test-app';

describe.each(['2.0', '3.0'] as const)('interop: cas-authentication (CAS %s) against this server', (casVersion) => {
  let t: TestApp;
  let client: ClientApp;
  let casUrl: string;
  let appUrl: string;

  beforeAll(async () => {
    let casPort: number;
    ({ t, casUrl, casPort } = await startListeningCas());
    client = await startCasAuthenticationApp(casUrl, casPort, casVersion, '/app');
    appUrl = client.origin;
  });

  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it('logs the user in: the application sees the user and the released attributes', async () => {
    const browser = new FetchBrowser();
    const { res: form, visited } = await browser.follow(`${appUrl}/app`);
    // cas-authentication adds renew=false, which must mean "no renew".
    expect(visited[0]).toBe(`${casUrl}/login?service=${encodeURIComponent(`${appUrl}/app`)}&renew=false`);
    expect(form.status).toBe(200);
    const execution = executionOf(await form.text());

    const submitted = await browser.post(`${casUrl}/login`, { username: 'casuser', password: 'Mellon', execution, _eventId: 'submit' });
    expect(submitted.status).toBe(302);
    const back = submitted.headers.get('location')!;
    expect(back).toMatch(new RegExp(`^${appUrl}/app\\?ticket=ST-[A-Za-z0-9]{32}$`));

    // The middleware validates the ticket with its own HTTP request to /serviceValidate or /p3/serviceValidate.
    const { res: page } = await browser.follow(back);
    expect(page.status).toBe(200);
    const body = (await page.json()) as ExpressPage;
    expect(body.user).toBe('casuser');
    // xml2js's normalize processor lower-cases the element names.
    expect(body.attributes.mail).toBe('casuser@example.org');
    expect(body.attributes.memberof).toEqual(['staff', 'faculty']);
    expect(body.attributes.isfromnewlogin).toBe('true');

    // The ticket was consumed by that validation.
    const replay = await fetch(`${casUrl}/p3/serviceValidate?service=${encodeURIComponent(`${appUrl}/app`)}&ticket=${new URL(back).searchParams.get('ticket')}`);
    expect(await replay.text()).toContain('code="INVALID_TICKET"');
  });

  it('single sign-on: a second application session gets in without the form', async () => {
    const browser = new FetchBrowser();
    const { res: form } = await browser.follow(`${appUrl}/app`);
    const execution = executionOf(await form.text());
    expect((await browser.post(`${casUrl}/login`, { username: 'casuser', password: 'Mellon', execution })).status).toBe(302);
    // A new application session (its cookie dropped, the CAS cookies kept) bounces through CAS
    // and comes back logged in.
    const fresh = browser.withCookiesOf(casUrl);
    const { res, visited } = await fresh.follow(`${appUrl}/app`);
    // app -> CAS /login (answers with a redirect, not the form) -> app?ticket -> app.
    expect(visited).toHaveLength(3);
    expect(visited[0].startsWith(`${casUrl}/login?`)).toBe(true);
    expect(visited[1]).toMatch(new RegExp(`^${appUrl}/app\\?ticket=ST-`));
    expect(visited[2]).toBe(`${appUrl}/app`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ExpressPage).user).toBe('casuser');
  });

  it('refuses a forged ticket', async () => {
    // The middleware console.logs why it refused: the code CAS answered with.
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const res = await new FetchBrowser().fetch(`${appUrl}/app?ticket=ST-forgedforgedforgedforgedforged12`);
      expect(res.status).toBe(401);
      expect(log.mock.calls.map((c) => String(c[0]))).toContain('Error: CAS authentication failed (INVALID_TICKET).');
    } finally {
      log.mockRestore();
    }
  });
});

/** GET the protected page, be sent to CAS, fill in the form, come back with a ticket. */
async function loginThroughCas(b: FetchBrowser, casUrl: string, app: ClientApp, path: string, username: string, password: string): Promise<URL> {
  const toCas = locationOf(await b.get(`${app.origin}${path}`));
  expect(`${toCas.origin}${toCas.pathname}`).toBe(`${casUrl}/login`);
  expect(toCas.searchParams.get('service')).toBe(`${app.origin}${path}`);
  const form = await b.get(toCas.href);
  expect(form.status).toBe(200);
  const html = await form.text();
  expect(b.cookie(casUrl, 'CASLOGIN')).toBeDefined();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action).toBeDefined();
  const posted = await b.post(new URL(action!, toCas).href, {
    username,
    password,
    execution: executionOf(html),
    _eventId: 'submit',
  });
  const back = locationOf(posted);
  expect(`${back.origin}${back.pathname}`).toBe(`${app.origin}${path}`);
  expect(back.searchParams.get('ticket')).toMatch(/^ST-[A-Za-z0-9-]+$/);
  return back;
}

describe('interop: http-cas-client (CAS 2.0 and 3.0) against this server', () => {
  let t: TestApp;
  let casUrl: string;
  let cas3App: ClientApp;
  let cas2App: ClientApp;

  beforeAll(async () => {
    ({ t, casUrl } = await startListeningCas());
    cas3App = await startHttpCasClientApp(casUrl, 3);
    cas2App = await startHttpCasClientApp(casUrl, 2);
  });

  afterAll(async () => {
    await cas3App?.close();
    await cas2App?.close();
    await t?.close();
  });

  /** loginThroughCas as casuser, the static user of the test app. */
  async function loginThrough(b: FetchBrowser, app: ClientApp, path: string): Promise<URL> {
    return loginThroughCas(b, casUrl, app, path, 'casuser', 'Mellon');
  }

  it('CAS 3.0: login -> ticket -> /p3/serviceValidate -> the app sees casuser and the released attributes', async () => {
    const b = new FetchBrowser();
    const back = await loginThrough(b, cas3App, '/protected');

    // The library validates the ticket against the CAS server, keeps the principal under its
    // own `st` cookie and redirects to the URL without the ticket.
    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(`${cas3App.origin}/protected`);
    expect(b.cookie(cas3App.origin, 'st')).toBe(back.searchParams.get('ticket'));

    const page = await b.get(`${cas3App.origin}/protected`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as PageBody;
    expect(body.principal?.user).toBe('casuser');
    // Test service 5 releases everything: the demo attributes plus the CAS 3.0 protocol ones.
    expect(body.principal?.attributes).toMatchObject({
      mail: 'casuser@example.org',
      displayName: 'CAS Demo User',
      memberOf: ['staff', 'faculty'],
      isFromNewLogin: 'true',
      longTermAuthenticationRequestTokenUsed: 'false',
    });
    expect(new Date(String(body.principal?.attributes?.authenticationDate)).getTime()).not.toBeNaN();
  });

  it('SSO: a second (CAS 2.0, /serviceValidate) client gets a ticket from the session without a form', async () => {
    const b = new FetchBrowser();
    const first = await loginThrough(b, cas3App, '/first');
    expect((await b.get(first.href)).status).toBe(302);

    const toCas = locationOf(await b.get(`${cas2App.origin}/second?x=1`));
    expect(toCas.searchParams.get('service')).toBe(`${cas2App.origin}/second?x=1`);
    const back = locationOf(await b.get(toCas.href)); // straight back with a ticket: no login form
    expect(`${back.origin}${back.pathname}`).toBe(`${cas2App.origin}/second`);
    expect(back.searchParams.get('x')).toBe('1');
    expect(back.searchParams.get('ticket')).toMatch(/^ST-/);

    const landed = await b.get(back.href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(`${cas2App.origin}/second?x=1`);
    const page = await b.get(`${cas2App.origin}/second?x=1`);
    expect(page.status).toBe(200);
    // In CAS 2.0 mode the library reads the user only.
    expect(((await page.json()) as PageBody).principal).toEqual({ user: 'casuser' });
  });

  it('CAS 3.0 reached through SSO: isFromNewLogin=false', async () => {
    const b = new FetchBrowser();
    const first = await loginThrough(b, cas2App, '/start');
    expect((await b.get(first.href)).status).toBe(302);

    const toCas = locationOf(await b.get(`${cas3App.origin}/later`));
    const back = locationOf(await b.get(toCas.href));
    expect((await b.get(back.href)).status).toBe(302);
    const body = (await (await b.get(`${cas3App.origin}/later`)).json()) as PageBody;
    expect(body.principal?.user).toBe('casuser');
    expect(body.principal?.attributes).toMatchObject({ isFromNewLogin: 'false', mail: 'casuser@example.org' });
  });

  it('a forged ticket is refused by the library (CAS answered with a failure) and grants no session', async () => {
    const b = new FetchBrowser();
    const res = await b.get(`${cas3App.origin}/protected?ticket=ST-1-forgedforgedforgedforged-node`);
    expect(res.status).toBe(401);
    // The library's error for a validation answer without authenticationSuccess: the CAS server
    // was reached and refused (a network failure would read differently).
    expect(((await res.json()) as PageBody).error).toBe('Ticket error authentication failed.');
    expect(b.cookie(cas3App.origin, 'st')).toBeUndefined();
    const again = locationOf(await b.get(`${cas3App.origin}/protected`));
    expect(`${again.origin}${again.pathname}`).toBe(`${casUrl}/login`);
  });

  it('a ticket replayed after the library used it is refused (single use)', async () => {
    const victim = new FetchBrowser();
    const back = await loginThrough(victim, cas3App, '/replay');
    expect((await victim.get(back.href)).status).toBe(302);

    const attacker = new FetchBrowser();
    expect((await attacker.get(back.href)).status).toBe(401);
    expect(attacker.cookie(cas3App.origin, 'st')).toBeUndefined();
  });

  it('a ticket issued for one application is refused by another, and is burnt', async () => {
    const b = new FetchBrowser();
    const back = await loginThrough(b, cas3App, '/mine');
    const stolen = new URL(`${cas2App.origin}/mine`);
    stolen.searchParams.set('ticket', back.searchParams.get('ticket')!);
    expect((await new FetchBrowser().get(stolen.href)).status).toBe(401);
    // INVALID_SERVICE consumes the ticket: the rightful application cannot use it afterwards either.
    expect((await b.get(back.href)).status).toBe(401);
  });
});

describe('interop: a directory user through http-cas-client (CAS 3.0)', () => {
  let slapd: Slapd;
  let t: TestApp;
  let casUrl: string;
  let app: ClientApp;

  beforeAll(async () => {
    slapd = await startSlapd();
    ({ t, casUrl } = await startListeningCas({
      env: {
        CAS_AUTHN_LDAP_0_TYPE: 'AUTHENTICATED',
        CAS_AUTHN_LDAP_0_LDAP_URL: slapd.url,
        CAS_AUTHN_LDAP_0_BASE_DN: `ou=people,${slapd.baseDn}`,
        CAS_AUTHN_LDAP_0_SEARCH_FILTER: 'uid={user}',
        CAS_AUTHN_LDAP_0_BIND_DN: slapd.serviceDn,
        CAS_AUTHN_LDAP_0_BIND_CREDENTIAL: slapd.servicePassword,
        CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_ID: 'uid',
        CAS_AUTHN_LDAP_0_PRINCIPAL_ATTRIBUTE_LIST: 'cn,mail,memberOf:groups',
      },
    }));
    app = await startHttpCasClientApp(casUrl, 3);
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
    await slapd?.stop();
  });

  it("logs alice in with her directory password; the application sees the directory's attributes", async () => {
    const b = new FetchBrowser();
    const back = await loginThroughCas(b, casUrl, app, '/staff', 'alice', FIXTURE_PASSWORDS.alice);
    expect((await b.get(back.href)).status).toBe(302);
    const page = await b.get(`${app.origin}/staff`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as PageBody;
    expect(body.principal?.user).toBe('alice');
    expect(body.principal?.attributes).toMatchObject({
      cn: 'Alice Liddell',
      mail: 'alice@example.org',
      authenticationMethod: 'LdapAuthenticationHandler',
      isFromNewLogin: 'true',
    });
    expect([body.principal?.attributes?.groups].flat().sort()).toEqual([`cn=faculty,ou=groups,${slapd.baseDn}`, `cn=staff,ou=groups,${slapd.baseDn}`]);
  });
});

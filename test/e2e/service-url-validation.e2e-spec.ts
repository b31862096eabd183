import { Browser, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { TEST_SERVICES } from '../helpers/test-services';

/**
 * Item 7: a service URL that a permissive registry pattern matches but that does not parse as a
 * URL is refused once, up front, with CAS's "not authorized" page, before any ticket exists; and
 * /logout ends the session and clears the cookie whatever URLs the session's services have.
 */
const FRONT = 'https://front.example.org/app';
const services = [
  ...TEST_SERVICES,
  {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: '^https://front\\.example\\.org/.*',
    name: 'Front channel, logout URL that does not parse',
    id: 30,
    evaluationOrder: 30,
    logoutType: 'FRONT_CHANNEL',
    logoutUrl: 'https://[front.example.org/logout',
  },
  // As permissive as the development registry: any https URL.
  { '@class': 'org.apereo.cas.services.CasRegisteredService', serviceId: '^https://.*', name: 'Any https', id: 40, evaluationOrder: 40 },
];
// Each matches ^https://.* and is printable ASCII, and none is a URL (WHATWG).
const UNPARSEABLE = ['https://[x]/', 'https://%zz/', 'https://:443/', 'https://exa<mple.org/', 'https://a:b:c/'];
const login = (service: string, extra = '') => `/cas/login?service=${encodeURIComponent(service)}${extra}`;

describe('service URLs that match the registry but do not parse', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ services, env: { CAS_SLO_DISABLED: 'false' } });
  });
  afterAll(() => t.close());

  const count = async (type: string) => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = $1`, [type])).rows[0].n as number;
  const notAuthorized = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Application not authorized to use CAS');
    expect(res.body).not.toContain('name="execution"');
    expect(res.headers.location).toBeUndefined();
  };

  it('the issue’s case: /login?service=https://%5Bx%5D/&method=POST with SSO is refused, no ST (was a 500 after granting one)', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const before = await count('ST');
    notAuthorized(await b.get('/cas/login?service=https://%5Bx%5D/&method=POST'));
    expect(await count('ST')).toBe(before);
  });

  it('refuses them on every login path before a ticket: form, SSO, gateway, the warning interstitial', async () => {
    const sso = new Browser(t.app);
    await sso.login('casuser', 'Mellon');
    const warned = new Browser(t.app);
    await warned.login('casuser', 'Mellon', undefined, { warn: 'true' });
    expect(warned.cookies.get('CASPRIVACY')).toBe('true');
    const before = await count('ST');
    for (const service of UNPARSEABLE) {
      notAuthorized(await t.app.inject({ method: 'GET', url: login(service) }));
      notAuthorized(await t.app.inject({ method: 'GET', url: login(service, '&method=POST') }));
      notAuthorized(await sso.get(login(service)));
      notAuthorized(await sso.get(login(service, '&gateway=true')));
      notAuthorized(await warned.get(login(service)));
    }
    expect(await count('ST')).toBe(before);
    // A parseable URL under the same permissive pattern still works.
    expect(ticketOf(await sso.get(login('https://fine.example.net/x')))).toMatch(/^ST-/);
  });

  it('/logout clears the TGC and answers the logged-out page when a front-channel logout URL does not parse', async () => {
    const b = new Browser(t.app);
    ticketOf(await b.login('casuser', 'Mellon', FRONT));
    const res = await b.get('/cas/logout');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Logout successful');
    expect(res.body).not.toContain('<img');
    expect(setCookies(res).find((c) => c.name === 'TGC')?.attributes['max-age']).toBe('0');
    // The session is over.
    expect((await b.get(login(FRONT))).body).toContain('name="execution"');
  });
});

import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

const svc = (id: number, host: string, extra: Record<string, unknown> = {}) => ({
  '@class': 'org.apereo.cas.services.CasRegisteredService',
  serviceId: `^https://${host.replace(/\./g, '\\.')}/.*`,
  name: host,
  id,
  evaluationOrder: id,
  attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
  ...extra,
});

const A = 'https://a.example.org/app';
const B = 'https://b.example.org/app';
const C = 'https://c.example.org/app';
const MULTI = 'https://multi.example.org/app';
const NOSSO = 'https://nosso.example.org/app';
const ADMINS = 'https://admins.example.org/app';
const ADMINS_REDIRECT = 'https://admins2.example.org/app';
const STAFF = 'https://staff.example.org/app';
const OFF = 'https://off.example.org/app';

const SERVICES = [
  svc(1, 'a.example.org', {
    ticketGrantingTicketExpirationPolicy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceTicketGrantingTicketExpirationPolicy',
      maxTimeToLiveInSeconds: 5,
    },
  }),
  svc(2, 'b.example.org'),
  svc(3, 'c.example.org'),
  svc(4, 'multi.example.org', {
    serviceTicketExpirationPolicy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceServiceTicketExpirationPolicy',
      numberOfUses: 2,
      timeToLive: '30',
    },
  }),
  svc(5, 'nosso.example.org', { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', ssoEnabled: false } }),
  svc(6, 'admins.example.org', {
    accessStrategy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
      requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['admins']] },
    },
  }),
  svc(7, 'admins2.example.org', {
    accessStrategy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
      requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['admins']] },
      unauthorizedRedirectUrl: 'https://www.example.org/denied',
    },
  }),
  svc(8, 'staff.example.org', {
    accessStrategy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
      requiredAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['STAFF']] },
      caseInsensitive: true,
    },
  }),
  svc(9, 'off.example.org', {
    accessStrategy: {
      '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy',
      enabled: false,
      unauthorizedRedirectUrl: 'https://www.example.org/off',
    },
  }),
];

const login = (service: string) => `/cas/login?service=${encodeURIComponent(service)}`;
const isForm = (body: string) => body.includes('name="password"');

describe('session policies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ services: SERVICES, env: { CAS_TICKET_TGT_REMEMBER_ME_ENABLED: 'true' } });
  });
  afterAll(() => t.close());

  const stCount = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST'`)).rows[0].n as number;
  const validate = (service: string, ticket: string) =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(service)}&ticket=${ticket}` });

  describe('per-service TGT expiration (ticketGrantingTicketExpirationPolicy)', () => {
    it('a session created at a service with maxTimeToLiveInSeconds 5 is gone 6 s later, for every service', async () => {
      const b = new Browser(t.app);
      expect((await b.login('casuser', 'Mellon', A)).statusCode).toBe(302);
      const { rows } = await t.sql.query(`SELECT hard_expires_at - created_at AS ttl, idle_timeout_seconds FROM tickets WHERE type = 'TGT'`);
      expect(rows).toEqual([{ ttl: { seconds: 5 }, idle_timeout_seconds: null }]);
      expect((await b.get(login(B))).statusCode).toBe(302);
      t.clock.advance(6);
      const res = await b.get(login(B));
      expect(res.statusCode).toBe(200);
      expect(isForm(res.body)).toBe(true);
    });

    it('a session created at another service keeps the global 8 h, used every hour', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon', C);
      for (let hour = 1; hour <= 7; hour++) {
        t.clock.advance(3600);
        expect((await b.get(login(B))).statusCode).toBe(302);
      }
      t.clock.advance(3601);
      expect(isForm((await b.get(login(B))).body)).toBe(true);
    });

    it("refuses SSO into the service when the session is older than the service's own policy", async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon', C);
      t.clock.advance(10);
      const res = await b.get(login(A));
      expect(res.statusCode).toBe(200);
      expect(isForm(res.body)).toBe(true);
      expect(b.cookies.has('TGC')).toBe(true);
      // The session itself lives on for the others.
      expect((await b.get(login(B))).statusCode).toBe(302);
    });
  });

  describe('per-service ST policy (serviceTicketExpirationPolicy)', () => {
    it('allows numberOfUses validations within timeToLive, then the ticket is gone', async () => {
      const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', MULTI));
      t.clock.advance(20);
      expect((await validate(MULTI, st)).json().serviceResponse.authenticationSuccess.user).toBe('casuser');
      expect((await validate(MULTI, st)).json().serviceResponse.authenticationSuccess.user).toBe('casuser');
      expect((await validate(MULTI, st)).json().serviceResponse.authenticationFailure.code).toBe('INVALID_TICKET');
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id = $1`, [st])).rows[0].n).toBe(0);
    });

    it('expires the ticket after its own timeToLive', async () => {
      const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', MULTI));
      t.clock.advance(31);
      expect((await validate(MULTI, st)).json().serviceResponse.authenticationFailure.code).toBe('INVALID_TICKET');
    });
  });

  describe('remember-me', () => {
    it('offers an unchecked checkbox when enabled', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/cas/login' });
      expect(res.body).toContain('<input type="checkbox" name="rememberMe" value="true">');
    });

    it('sets a persistent TGC, a 14-day hard session, and longTermAuthenticationRequestTokenUsed=true', async () => {
      const b = new Browser(t.app);
      const res = await b.login('casuser', 'Mellon', B, { rememberMe: 'true' });
      const tgc = setCookies(res).find((c) => c.name === 'TGC')!;
      expect(tgc.attributes['max-age']).toBe('1209600');
      const success = (await validate(B, ticketOf(res))).json().serviceResponse.authenticationSuccess;
      expect(success.attributes.longTermAuthenticationRequestTokenUsed).toEqual([true]);
      const { rows } = await t.sql.query(
        `SELECT remember_me, idle_timeout_seconds, hard_expires_at - created_at AS ttl FROM tickets WHERE type = 'TGT' AND remember_me`,
      );
      expect(rows).toEqual([{ remember_me: true, idle_timeout_seconds: null, ttl: { days: 14 } }]);
      t.clock.advance(3 * 24 * 3600);
      expect((await b.get(login(B))).statusCode).toBe(302);
    });

    it('is a browser-session cookie and a normal session without the box ticked', async () => {
      const res = await new Browser(t.app).login('casuser', 'Mellon', B);
      expect(setCookies(res).find((c) => c.name === 'TGC')!.attributes['max-age']).toBeUndefined();
      const success = (await validate(B, ticketOf(res))).json().serviceResponse.authenticationSuccess;
      expect(success.attributes.longTermAuthenticationRequestTokenUsed).toEqual([false]);
    });
  });

  describe('SSO switches', () => {
    it('a service with ssoEnabled=false asks for credentials despite a TGC; others keep SSO', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon', B);
      const before = await stCount();
      const res = await b.get(login(NOSSO));
      expect(isForm(res.body)).toBe(true);
      expect(await stCount()).toBe(before);
      expect((await b.get(login(C))).statusCode).toBe(302);
      const gateway = await b.get(`${login(NOSSO)}&gateway=true`);
      expect(gateway.headers.location).toBe(NOSSO);
      const st = ticketOf(await b.login('casuser', 'Mellon', NOSSO));
      expect((await validate(NOSSO, st)).json().serviceResponse.authenticationSuccess.attributes.isFromNewLogin).toEqual([true]);
    });

    it('publicWorkstation issues the ticket but sets no TGC', async () => {
      const b = new Browser(t.app);
      const res = await b.login('casuser', 'Mellon', B, { publicWorkstation: 'true' });
      expect(res.statusCode).toBe(302);
      expect(ticketOf(res)).toMatch(/^ST-/);
      expect(setCookies(res).find((c) => c.name === 'TGC')).toBeUndefined();
      expect(isForm((await b.get(login(B))).body)).toBe(true);
    });
  });

  describe('warn (CASPRIVACY)', () => {
    it('asks before each SSO login, continues by a single-use POST, and is cleared at logout', async () => {
      const b = new Browser(t.app);
      const first = await b.login('casuser', 'Mellon', B, { warn: 'true' });
      expect(first.statusCode).toBe(302);
      expect(setCookies(first).find((c) => c.name === 'CASPRIVACY')).toMatchObject({ value: 'true', attributes: { path: '/cas', httponly: true } });
      const before = await stCount();
      const warn = await b.get(login(C));
      expect(warn.statusCode).toBe(200);
      expect(warn.body).toContain('Log in to another site?');
      expect(warn.body).toContain('https://c.example.org/app');
      expect(await stCount()).toBe(before);
      const execution = executionOf(warn.body);
      const go = await b.post('/cas/login', { execution, _eventId: 'proceed' });
      expect(go.statusCode).toBe(302);
      expect(go.headers.location).toMatch(/^https:\/\/c\.example\.org\/app\?ticket=ST-/);
      expect((await b.post('/cas/login', { execution, _eventId: 'proceed' })).statusCode).toBe(403);
      // A stranger's page cannot click through: the token is bound to this browser.
      const other = await b.get(login(C));
      expect((await new Browser(t.app).post('/cas/login', { execution: executionOf(other.body), _eventId: 'proceed' })).statusCode).toBe(403);
      // gateway never prompts.
      expect(ticketOf(await b.get(`${login(C)}&gateway=true`))).toMatch(/^ST-/);
      const out = await b.get('/cas/logout');
      expect(setCookies(out).find((c) => c.name === 'CASPRIVACY')?.attributes['max-age']).toBe('0');
    });
  });

  describe('access strategy', () => {
    it('denies a user who lacks the required attribute: 403 page, no ticket', async () => {
      const before = await stCount();
      const res = await new Browser(t.app).login('casuser', 'Mellon', ADMINS);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('Access denied');
      expect(res.headers.location).toBeUndefined();
      expect(await stCount()).toBe(before);
    });

    it('denies through SSO as well', async () => {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon', B);
      const before = await stCount();
      expect((await b.get(login(ADMINS))).statusCode).toBe(403);
      expect(await stCount()).toBe(before);
    });

    it('sends a denied user to unauthorizedRedirectUrl when set', async () => {
      const res = await new Browser(t.app).login('casuser', 'Mellon', ADMINS_REDIRECT);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('https://www.example.org/denied');
      const off = await t.app.inject({ method: 'GET', url: login(OFF) });
      expect(off.statusCode).toBe(302);
      expect(off.headers.location).toBe('https://www.example.org/off');
    });

    it('lets a user in whose attribute matches, ignoring case when configured', async () => {
      expect((await new Browser(t.app).login('casuser', 'Mellon', STAFF)).statusCode).toBe(302);
    });
  });
});

describe('global SSO switch (CAS_SSO_SSO_ENABLED=false)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Remember-me is switched on here, so that its absence below is SSO's doing, not the default's.
    t = await startTestApp({ services: SERVICES, env: { CAS_SSO_SSO_ENABLED: 'false', CAS_TICKET_TGT_REMEMBER_ME_ENABLED: 'true' } });
  });
  afterAll(() => t.close());

  it('asks for credentials at every login, and neither offers nor grants remember-me (no session is ever reused)', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon', B);
    const res = await b.get(login(C));
    expect(isForm(res.body)).toBe(true);
    expect(res.body).not.toContain('name="rememberMe"');
    // A rememberMe field posted all the same is ignored: a browser-session cookie, a session with
    // the default idle timeout, and the service is told the login was not long-term.
    const remembered = await b.login('casuser', 'Mellon', B, { rememberMe: 'true' });
    const tgc = setCookies(remembered).find((c) => c.name === 'TGC');
    expect(tgc?.value).toBeTruthy();
    expect(tgc?.attributes['max-age']).toBeUndefined();
    expect(tgc?.attributes.expires).toBeUndefined();
    const { rows } = await t.sql.query(`SELECT remember_me, idle_timeout_seconds FROM tickets WHERE type = 'TGT'`);
    expect(rows).toEqual([{ remember_me: false, idle_timeout_seconds: 7200 }]);
    const validated = await t.app.inject({
      method: 'GET',
      url: `/cas/p3/serviceValidate?service=${encodeURIComponent(B)}&ticket=${ticketOf(remembered)}&format=JSON`,
    });
    expect(validated.json().serviceResponse.authenticationSuccess.attributes.longTermAuthenticationRequestTokenUsed).toEqual([false]);
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Response } from 'light-my-request';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { newTicketId } from '../../src/tickets/ticket-ids';
import { TicketRegistry } from '../../src/tickets/ticket-registry';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { MutableClock } from '../helpers/mutable-clock';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, serviceFor, TEST_SERVICES } from '../helpers/test-services';

const KEY_VARIABLE = 'CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY';
const POLICY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'].map((u) => `${u}::Secret1`).join(',');
const ATTRIBUTES = {
  dave: { memberOf: ['students'] },
  alice: { memberOf: ['staff'] },
  erin: { mfaRequired: ['yes'] },
};

/** A CAS JSON multifactorPolicy as CAS exports it. */
const policy = (extra: Record<string, unknown> = {}) => ({
  multifactorPolicy: { '@class': POLICY_CLASS, multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']], ...extra },
});

const PAYROLL = 'https://payroll.example.org/home';
const LIBRARY = 'https://library.example.org/home';
const VAULT = 'https://vault.example.org/home';
const LATE = 'https://late.example.org/home';

function codeAt(clock: MutableClock, secret: string): string {
  return authenticator.clone({ digits: 6, step: 30, epoch: clock.now().getTime() }).generate(secret);
}

const isMfaPage = (res: Response) => res.statusCode === 200 && res.body.includes('name="token"') && !res.body.includes('name="password"');
const isPasswordForm = (res: Response) => res.body.includes('name="password"');
const loginUrl = (service: string, extra = '') => `/cas/login?service=${encodeURIComponent(service)}${extra}`;

/**
 * Per-service multi-factor authentication (CAS's multifactorPolicy), on the real app with its
 * Postgres: the policy read from the JSON files and the admin API, the code asked for the MFA
 * service only, step-up from a password-only SSO session, gateway, renew, forceExecution, bypass
 * and the principal-attribute trigger, and no ticket from a session without the factor at /proxy
 * and at validation.
 */
describe('multifactorPolicy per service', () => {
  let t: TestApp;
  let gauth: GauthCredentials;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        [KEY_VARIABLE]: randomBytes(32).toString('base64url'),
        CAS_AUTHN_ACCEPT_USERS: USERS,
        AUTHN_ACCEPT_USERS_ATTRIBUTES: JSON.stringify(ATTRIBUTES),
        CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_NAME_TRIGGERS: 'mfaRequired',
        CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_VALUE_REGEX: 'yes|true',
      },
      services: [
        ...TEST_SERVICES,
        serviceFor(10, 'payroll.example.org', policy({ failureMode: 'CLOSED' })),
        serviceFor(11, 'library.example.org', policy({ bypassPrincipalAttributeName: 'memberOf', bypassPrincipalAttributeValue: 'students' })),
        serviceFor(12, 'vault.example.org', policy({ forceExecution: true })),
        serviceFor(13, 'late.example.org'),
      ],
    });
    t.clock.freeze();
    gauth = t.app.get(GauthCredentials);
  });
  afterAll(() => t.close());

  /** A confirmed TOTP device for `username`; the clock then moves to the next time step. */
  async function enrolled(username: string): Promise<string> {
    const e = await gauth.enrol(username, 'phone');
    expect((await gauth.confirm(e.credentialId, codeAt(t.clock, e.secret))).ok).toBe(true);
    t.clock.advance(30);
    return e.secret;
  }

  const submitCode = (b: Browser, page: Response, token: string) => b.post('/cas/login', { execution: executionOf(page.body), token, _eventId: 'mfa' });
  const validate = (service: string, ticket: string) =>
    t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket)}` });
  const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    t.app.inject({ method, url: `/cas/actuator/registeredServices${url}`, payload: payload as object, headers: payload ? { 'content-type': 'application/json' } : {} });

  /** A password-only SSO session, from a login to the plain service. */
  async function passwordSession(username: string): Promise<Browser> {
    const b = new Browser(t.app);
    const res = await b.login(username, 'Secret1', APP);
    expect(res.statusCode).toBe(302);
    expect(b.cookies.has('TGC')).toBe(true);
    return b;
  }

  describe('the definition', () => {
    it('is imported from its JSON file with the policy, and exported with it unchanged', async () => {
      const res = await admin('GET', '/10');
      expect(res.statusCode).toBe(200);
      expect(res.json().multifactorPolicy).toEqual(policy({ failureMode: 'CLOSED' }).multifactorPolicy);
    });

    it('the registered-services API accepts a policy naming mfa-gauth and refuses an unknown provider with a 400 naming it', async () => {
      const bad = await admin('POST', '', serviceFor(20, 'duo.example.org', { multifactorPolicy: { '@class': POLICY_CLASS, multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-duo']] } }));
      expect(bad.statusCode).toBe(400);
      expect(bad.headers['content-type']).toContain('application/json');
      expect(bad.json().message).toContain("unknown multi-factor provider 'mfa-duo'");
      expect((await admin('GET', '/20')).statusCode).toBe(404);

      const good = await admin('POST', '', serviceFor(21, 'hr.example.org', policy({ failureMode: 'OPEN' })));
      expect(good.statusCode).toBe(201);
      expect((await admin('GET', '/21')).json().multifactorPolicy).toEqual(policy({ failureMode: 'OPEN' }).multifactorPolicy);
    });
  });

  describe('login', () => {
    it('to the MFA service asks for the code after the password; to a plain service it does not', async () => {
      const secret = await enrolled('alice');
      const b = new Browser(t.app);
      const page = await b.login('alice', 'Secret1', PAYROLL);
      expect(isMfaPage(page)).toBe(true);
      expect(b.cookies.has('TGC')).toBe(false);
      const done = await submitCode(b, page, codeAt(t.clock, secret));
      expect(done.statusCode).toBe(302);
      const v = (await validate(PAYROLL, ticketOf(done))).json().serviceResponse.authenticationSuccess;
      expect(v.user).toBe('alice');
      expect(v.attributes.authnContextClass).toEqual(['mfa-gauth']);
      // CAS releases the MFA handler beside the password's.
      expect(v.attributes.successfulAuthenticationHandlers).toEqual(['AcceptUsersAuthenticationHandler', 'GoogleAuthenticatorAuthenticationHandler']);

      const plain = await new Browser(t.app).login('alice', 'Secret1', APP);
      expect(plain.statusCode).toBe(302);
      expect(plain.headers.location).toMatch(/^https:\/\/app\.example\.org\/\?ticket=ST-/);
    });

    it('SSO from a password-only session to the MFA service asks for the code only (step-up), then tickets; SSO then asks nothing', async () => {
      const secret = await enrolled('bob');
      const b = await passwordSession('bob');
      const page = await b.get(loginUrl(PAYROLL));
      expect(isMfaPage(page)).toBe(true);
      const done = await submitCode(b, page, codeAt(t.clock, secret));
      expect(done.statusCode).toBe(302);
      expect((await validate(PAYROLL, ticketOf(done))).json().serviceResponse.authenticationSuccess.attributes.authnContextClass).toEqual(['mfa-gauth']);
      const again = await b.get(loginUrl(PAYROLL));
      expect(again.statusCode).toBe(302);
      expect(again.headers.location).toContain('ticket=ST-');
    });

    it('gateway to the MFA service from a password-only session: back to the service without a ticket', async () => {
      const b = await passwordSession('carol');
      const res = await b.get(loginUrl(PAYROLL, '&gateway=true'));
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(PAYROLL);
    });

    it('renew to the MFA service, from a session that has the factor: the password, then the code again', async () => {
      const secret = await enrolled('frank');
      const b = new Browser(t.app);
      const first = await b.login('frank', 'Secret1', PAYROLL);
      expect((await submitCode(b, first, codeAt(t.clock, secret))).statusCode).toBe(302);
      t.clock.advance(30);
      const form = await b.get(loginUrl(PAYROLL, '&renew=true'));
      expect(isPasswordForm(form)).toBe(true);
      const page = await b.post('/cas/login', { username: 'frank', password: 'Secret1', execution: executionOf(form.body), _eventId: 'submit' });
      expect(isMfaPage(page)).toBe(true);
      const done = await submitCode(b, page, codeAt(t.clock, secret));
      expect(done.statusCode).toBe(302);
      const v = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&renew=true&service=${encodeURIComponent(PAYROLL)}&ticket=${ticketOf(done)}` });
      expect(v.json().serviceResponse.authenticationSuccess.attributes.isFromNewLogin).toEqual([true]);
    });

    it('forceExecution: the code is asked again although the session has the factor', async () => {
      const secret = await enrolled('grace');
      const b = new Browser(t.app);
      const first = await b.login('grace', 'Secret1', PAYROLL);
      expect((await submitCode(b, first, codeAt(t.clock, secret))).statusCode).toBe(302);
      t.clock.advance(30);
      expect((await b.get(loginUrl(PAYROLL))).statusCode).toBe(302);
      const page = await b.get(loginUrl(VAULT));
      expect(isMfaPage(page)).toBe(true);
      const done = await submitCode(b, page, codeAt(t.clock, secret));
      expect(done.statusCode).toBe(302);
      expect(done.headers.location).toMatch(/^https:\/\/vault\.example\.org\/home\?ticket=ST-/);
    });

    it('bypass by principal attribute: memberOf=students goes straight to the service; staff is asked for the code', async () => {
      const dave = await new Browser(t.app).login('dave', 'Secret1', LIBRARY);
      expect(dave.statusCode).toBe(302);
      expect(dave.headers.location).toContain('ticket=ST-');
      expect((await validate(LIBRARY, ticketOf(dave))).json().serviceResponse.authenticationSuccess.user).toBe('dave');
      expect(isMfaPage(await new Browser(t.app).login('alice', 'Secret1', LIBRARY))).toBe(true);
    });

    it('principal-attribute trigger: mfaRequired=yes is asked for the code even at the plain service', async () => {
      const res = await new Browser(t.app).login('erin', 'Secret1', APP);
      expect(isMfaPage(res)).toBe(true);
    });
  });

  describe('no ticket from a session without the factor', () => {
    it('/proxy refuses a PT for the MFA service from a password-only session (INVALID_AUTHENTICATION_CONTEXT), and grants one for the plain service', async () => {
      const b = await passwordSession('heidi');
      const st = ticketOf(await b.get(loginUrl(APP)));
      const registry = t.app.get(TicketRegistry);
      const consumed = await registry.consumeServiceTicket(st, ['ST']);
      const pgt = newTicketId('PGT');
      expect(await registry.grantProxyGrantingTicket(consumed!, pgt, 'https://app.example.org/callback')).toBe(true);
      const proxy = (target: string) => t.app.inject({ method: 'GET', url: `/cas/proxy?pgt=${pgt}&targetService=${encodeURIComponent(target)}` });

      const refused = await proxy(PAYROLL);
      expect(refused.statusCode).toBe(200);
      expect(refused.body).toContain('<cas:proxyFailure code="INVALID_AUTHENTICATION_CONTEXT">');
      expect((await t.sql.query(`SELECT 1 FROM tickets WHERE type = 'PT' AND service = $1`, [PAYROLL])).rowCount).toBe(0);
      expect((await proxy(APP)).body).toContain('<cas:proxyTicket>PT-');
    });

    it('validation refuses a ticket whose session lacks the factor the service now requires (policy added after the ticket was granted)', async () => {
      const b = await passwordSession('ivan');
      const res = await b.get(loginUrl(LATE));
      expect(res.statusCode).toBe(302);
      const st = ticketOf(res);
      expect((await admin('PUT', '/13', serviceFor(13, 'late.example.org', policy()))).statusCode).toBe(200);
      const v = (await validate(LATE, st)).json().serviceResponse;
      expect(v.authenticationFailure.code).toBe('INVALID_AUTHENTICATION_CONTEXT');
      expect(v.authenticationSuccess).toBeUndefined();
      // And SSO now asks for the factor instead of a ticket.
      expect(isMfaPage(await b.get(loginUrl(LATE)))).toBe(true);
    });
  });
});

/**
 * What a required provider that cannot run does (mfa-gauth without its key, outside development
 * mode), by the service's failureMode, with the global failure mode set to OPEN for the service
 * that leaves it UNDEFINED.
 */
describe('multifactorPolicy failure modes (mfa-gauth unavailable)', () => {
  let u: TestApp;
  const service = (mode: string) => `https://${mode.toLowerCase()}.example.org/home`;
  beforeAll(async () => {
    u = await startTestApp({
      env: { CAS_AUTHN_MFA_CORE_GLOBAL_FAILURE_MODE: 'OPEN' },
      services: ['CLOSED', 'OPEN', 'PHANTOM', 'NONE', 'UNDEFINED'].map((mode, i) => serviceFor(30 + i, `${mode.toLowerCase()}.example.org`, policy({ failureMode: mode }))),
    });
  });
  afterAll(() => u.close());

  const login = (mode: string) => new Browser(u.app).login('casuser', 'Mellon', service(mode));
  const validated = async (mode: string, res: Response) =>
    (await u.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(service(mode))}&ticket=${ticketOf(res)}` })).json().serviceResponse;

  it('CLOSED: the unavailable page, no session', async () => {
    const res = await login('CLOSED');
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('Multi-factor authentication is unavailable');
    expect(res.headers['set-cookie'] ?? '').not.toContain('TGC=');
  });

  it('NONE (availability not checked): the provider fails on its own, the unavailable page', async () => {
    expect((await login('NONE')).statusCode).toBe(503);
  });

  it('OPEN: on to the service without the factor; nothing of MFA released', async () => {
    const res = await login('OPEN');
    expect(res.statusCode).toBe(302);
    const v = await validated('OPEN', res);
    expect(v.authenticationSuccess.user).toBe('casuser');
    expect(v.authenticationSuccess.attributes.authnContextClass).toBeUndefined();
  });

  it('PHANTOM: on to the service, the provider released as if satisfied', async () => {
    const res = await login('PHANTOM');
    expect(res.statusCode).toBe(302);
    expect((await validated('PHANTOM', res)).authenticationSuccess.attributes.authnContextClass).toEqual(['mfa-gauth']);
  });

  it('UNDEFINED falls back to the global failure mode (OPEN here)', async () => {
    const res = await login('UNDEFINED');
    expect(res.statusCode).toBe(302);
    expect((await validated('UNDEFINED', res)).authenticationSuccess.user).toBe('casuser');
  });
});

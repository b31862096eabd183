// Issue 10, item 10: access rules this server does not implement fail closed, at the boot import
// and at the admin API; rejectedAttributes, which it does implement now, denies the login.
import { Logger } from '@nestjs/common';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { serviceFor } from '../helpers/test-services';

const svc = serviceFor;
const DEFAULT_STRATEGY = 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy';

const OPEN = 'https://open.example.org/';
// casuser has memberOf: staff, faculty (the demo user's attributes).
const NO_FACULTY = 'https://nofaculty.example.org/';
const NO_ROBOTS = 'https://norobots.example.org/';
const TIMEBOXED = 'https://timeboxed.example.org/';
const MFA = 'https://mfa.example.org/';

const SERVICES = [
  svc(1, 'open.example.org'),
  svc(2, 'nofaculty.example.org', {
    accessStrategy: { '@class': DEFAULT_STRATEGY, rejectedAttributes: { '@class': 'java.util.HashMap', memberOf: ['java.util.HashSet', ['fac.+']] } },
  }),
  svc(3, 'norobots.example.org', { accessStrategy: { '@class': DEFAULT_STRATEGY, rejectedAttributes: { memberOf: ['robots'] } } }),
  // Both used to be imported with the unknown parts ignored: open to everyone, any time, one factor.
  svc(4, 'timeboxed.example.org', {
    accessStrategy: { '@class': 'org.apereo.cas.services.TimeBasedRegisteredServiceAccessStrategy', startingDateTime: '2999-01-01T00:00:00Z' },
  }),
  svc(5, 'mfa.example.org', {
    multifactorPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy', multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-duo']] },
  }),
];

describe('access strategies fail closed', () => {
  let t: TestApp;
  let bootErrors: string[];
  beforeAll(async () => {
    const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      t = await startTestApp({ services: SERVICES, env: { AUTHN_THROTTLE_ENABLED: 'false' } });
      bootErrors = spy.mock.calls.map((c) => String(c[0]));
    } finally {
      spy.mockRestore();
    }
  });
  afterAll(() => t.close());

  const login = (service: string) => `/cas/login?service=${encodeURIComponent(service)}`;
  const stCount = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST'`)).rows[0].n as number;

  it('the boot import reports a service with an unimplemented rule by file and field, and does not store it', async () => {
    expect(bootErrors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/service file service-3\.json not imported: accessStrategy\.@class: .*TimeBasedRegisteredServiceAccessStrategy/),
        expect.stringMatching(/service file service-4\.json not imported: multifactorPolicy\.multifactorAuthenticationProviders: /),
      ]),
    );
    const { rows } = await t.sql.query(`SELECT id FROM registered_services ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3']);
    for (const service of [TIMEBOXED, MFA]) {
      const res = await t.app.inject({ method: 'GET', url: login(service) });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('Application not authorized');
    }
  });

  it('the admin API refuses such a service with a 400 naming the field, storing nothing', async () => {
    const before = await t.sql.query(`SELECT count(*)::int AS n FROM registered_services`);
    for (const [body, field] of [
      [SERVICES[3], 'accessStrategy.@class'],
      [SERVICES[4], 'multifactorPolicy.multifactorAuthenticationProviders'],
      [svc(6, 'a.example.org', { accessStrategy: { '@class': DEFAULT_STRATEGY, delegatedAuthenticationPolicy: { allowedProviders: ['Google'] } } }), 'accessStrategy.delegatedAuthenticationPolicy.allowedProviders'],
      [svc(6, 'a.example.org', { accessStrategy: { rejectedAttributes: { role: ['groovy { true }'] } } }), 'accessStrategy.rejectedAttributes.role'],
      [svc(6, 'a.example.org', { authenticationPolicy: { criteria: { '@class': 'org.apereo.cas.services.AllowedAuthenticationHandlersRegisteredServiceAuthenticationPolicyCriteria' } } }), 'authenticationPolicy.criteria.@class'],
    ] as [Record<string, unknown>, string][]) {
      for (const method of ['POST', 'PUT'] as const) {
        const res = await t.app.inject({
          method,
          url: `/cas/actuator/registeredServices${method === 'PUT' ? `/${String(body.id)}` : ''}`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json().message).toBe(`invalid service definition: ${field}: ${res.json().message.split(`${field}: `)[1]}`);
      }
    }
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM registered_services`)).rows).toEqual(before.rows);
  });

  it('the admin API accepts rejectedAttributes and the login enforces it at once', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/cas/actuator/registeredServices',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(svc(7, 'nostaff.example.org', { accessStrategy: { rejectedAttributes: { memberOf: ['staff'] } } })),
    });
    expect(res.statusCode).toBe(201);
    const before = await stCount();
    const denied = await new Browser(t.app).login('casuser', 'Mellon', 'https://nostaff.example.org/');
    expect(denied.statusCode).toBe(403);
    expect(denied.body).toContain('Access denied');
    expect(await stCount()).toBe(before);
  });

  it('denies a login whose principal carries a rejected value: 403, no ticket', async () => {
    const before = await stCount();
    const res = await new Browser(t.app).login('casuser', 'Mellon', NO_FACULTY);
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Access denied');
    expect(res.headers.location).toBeUndefined();
    expect(await stCount()).toBe(before);
  });

  it('denies SSO into the service too, while other services keep working', async () => {
    const b = new Browser(t.app);
    expect(ticketOf(await b.login('casuser', 'Mellon', OPEN))).toMatch(/^ST-/);
    const before = await stCount();
    const res = await b.get(login(NO_FACULTY));
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Access denied');
    expect(await stCount()).toBe(before);
    // A rejected pattern the user does not match lets the same session in.
    expect(ticketOf(await b.get(login(NO_ROBOTS)))).toMatch(/^ST-/);
  });
});

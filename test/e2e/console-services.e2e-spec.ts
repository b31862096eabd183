import escapeHtml from 'escape-html';
import { consoleForm, consoleSession, CONSOLE_TOKEN, CONSOLE_TOKEN_ENV, type ConsoleSession } from '../helpers/console-rig';
import { startTestApp, TestApp } from '../helpers/test-app';
import { serviceFor, TEST_SERVICES } from '../helpers/test-services';

const CSP = /^default-src 'none'; style-src 'self' 'nonce-[A-Za-z0-9+/=]+'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/;

/** The console's Services pages over HTTP: list, CAS JSON, create/edit, enable/disable, the URL tester. */
describe('console: services', () => {
  let t: TestApp;
  let s: ConsoleSession;
  beforeAll(async () => {
    t = await startTestApp({
      env: { ...CONSOLE_TOKEN_ENV },
      services: [
        ...TEST_SERVICES,
        serviceFor(20, 'hr.example.org', {
          name: 'HR <b>portal</b>',
          evaluationOrder: 20,
          multifactorPolicy: {
            '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy',
            multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']],
            failureMode: 'CLOSED',
          },
          ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 28800 },
        }),
      ],
    });
    s = await consoleSession(t.app);
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { cookie: s.cookie } });
  const post = (url: string, fields: Record<string, string | string[]>, csrf?: string) => {
    const form = consoleForm(s, {}, csrf);
    const payload = new URLSearchParams(form.payload);
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) payload.append(k, one);
    return t.app.inject({ ...form, url, payload: payload.toString() });
  };
  const row = async (id: number) => (await t.sql.query(`SELECT name, service_id, enabled, source, definition FROM registered_services WHERE id = $1`, [id])).rows[0];
  const loginStatus = async (service: string) => (await t.app.inject({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(service)}` })).statusCode;
  const lastAuditId = async () => Number((await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`)).rows[0].id);
  const auditSince = async (id: number) =>
    (await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [id])).rows;
  /** The form of the edit page as the browser would post it back (every field, checkboxes only when checked). */
  const formFields = (page: string): Record<string, string | string[]> => {
    const fields: Record<string, string | string[]> = {};
    const add = (k: string, v: string) => {
      const before = fields[k];
      fields[k] = before === undefined ? v : [...(Array.isArray(before) ? before : [before]), v];
    };
    const unescape = (v: string) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    for (const m of page.matchAll(/<input type="(text|checkbox|hidden)" (?:id="[^"]*" )?name="([^"]+)" value="([^"]*)"([^>]*)>/g)) {
      if (m[2] === '_csrf' || (m[1] === 'checkbox' && !m[4].includes(' checked'))) continue;
      add(m[2], unescape(m[3]));
    }
    for (const m of page.matchAll(/<select id="[^"]+" name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected>/gs)) add(m[1], m[2]);
    const json = /<textarea id="json" name="json"[^>]*>([\s\S]*?)<\/textarea>/.exec(page);
    if (json) add('json', unescape(json[1]));
    return fields;
  };

  it('sends a page load without a console session to the sign-in page, and refuses a POST without one', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/admin/services/1' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/cas/admin/login?next=%2Fcas%2Fadmin%2Fservices%2F1');
    const anonymous = await t.app.inject({ method: 'POST', url: '/cas/admin/services/1/enabled', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'enabled=false' });
    expect(anonymous.statusCode).toBe(403);
    expect((await row(1)).enabled).toBe(true);
  });

  it('lists the services in evaluation order with their policies at a glance', async () => {
    const res = await get('/cas/admin/services');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(CSP);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toContain('<script');
    const order = [...res.body.matchAll(/<a class="svc-name" href="\/cas\/admin\/services\/(\d+)">/g)].map((m) => Number(m[1]));
    expect(order).toEqual([1, 2, 3, 4, 5, 20]);
    expect(res.body).toContain('<span class="mono">^https://app\\.example\\.org(/.*)?</span>');
    // Names are escaped, never markup.
    expect(res.body).toContain('HR &lt;b&gt;portal&lt;/b&gt;');
    expect(res.body).not.toContain('<b>portal</b>');
    const hr = res.body.slice(res.body.indexOf('/cas/admin/services/20"'));
    expect(hr).toContain('<span class="badge ok">enabled</span>');
    expect(hr).toContain('MFA mfa-gauth (closed)');
    expect(hr).toContain('sessions ≤ 8 h');
    const disabled = res.body.slice(res.body.indexOf('/cas/admin/services/3"'), res.body.indexOf('/cas/admin/services/4"'));
    expect(disabled).toContain('<span class="badge bad">disabled</span>');
    const other = res.body.slice(res.body.indexOf('/cas/admin/services/2"'), res.body.indexOf('/cas/admin/services/3"'));
    expect(other).toContain('releases mail');
  });

  it('lists a stored definition that no longer validates, with why, instead of hiding it', async () => {
    await t.sql.query(`INSERT INTO registered_services (id, name, service_id, evaluation_order, enabled, definition, source) VALUES (90, 'broken', '(', 90, true, $1, 'api')`, [
      JSON.stringify({ ...serviceFor(90, 'broken.example.org'), serviceId: '(' }),
    ]);
    try {
      const list = await get('/cas/admin/services');
      expect(list.body).toContain('<span class="badge bad">invalid definition</span>');
      expect(list.body).toMatch(/<p class="svc-problem">serviceId: invalid regular expression/);
      const detail = await get('/cas/admin/services/90');
      expect(detail.statusCode).toBe(200);
      expect(detail.body).toContain('no longer validates');
      const toggle = await post('/cas/admin/services/90/enabled', { enabled: 'false' });
      expect(toggle.statusCode).toBe(400);
      expect(toggle.body).toContain('the stored definition does not validate');
    } finally {
      await t.sql.query(`DELETE FROM registered_services WHERE id = 90`);
    }
  });

  it("shows a service's CAS JSON as the registeredServices API gives it, with edit and disable", async () => {
    const res = await get('/cas/admin/services/20');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(CSP);
    const api = await t.app.inject({ method: 'GET', url: '/cas/actuator/registeredServices/20', headers: { authorization: `Bearer ${CONSOLE_TOKEN}` } });
    expect(res.body).toContain(`<pre class="definition" aria-labelledby="json">${escapeHtml(JSON.stringify(api.json(), null, 2))}</pre>`);
    expect(res.body).toContain('<a class="btn" href="/cas/admin/services/20/edit">Edit service</a>');
    expect(res.body).toMatch(/<form method="post" action="\/cas\/admin\/services\/20\/enabled"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="enabled" value="false"><button type="submit" class="btn btn-danger">Disable service<\/button>/);
  });

  it('answers an unknown or malformed id with a 404 page in the console layout', async () => {
    for (const url of ['/cas/admin/services/404', '/cas/admin/services/abc', '/cas/admin/services/404/edit']) {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.body).toContain('<h1>No such service</h1>');
      expect(res.body).toContain('aria-current="page">Services</a>');
    }
    expect((await post('/cas/admin/services/404/enabled', { enabled: 'false' })).statusCode).toBe(404);
    expect((await post('/cas/admin/services/404/edit', { name: 'x' })).statusCode).toBe(404);
  });

  it('disables and enables a service (accessStrategy.enabled), used by /login at once, audited with the token id', async () => {
    const before = await lastAuditId();
    const off = await post('/cas/admin/services/1/enabled', { enabled: 'false' });
    expect(off.statusCode).toBe(303);
    expect(off.headers.location).toBe('/cas/admin/services/1?done=disabled');
    expect((await row(1)).definition.accessStrategy).toEqual({ '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false });
    expect(await loginStatus('https://app.example.org/')).toBe(403);
    expect(await auditSince(before)).toEqual([{ actor: 'console-test', action: 'POST', target: '/admin/services/1/enabled', status: 303 }]);
    expect((await get('/cas/admin/services/1?done=disabled')).body).toContain('The service was disabled');
    const on = await post('/cas/admin/services/1/enabled', { enabled: 'true' });
    expect(on.headers.location).toBe('/cas/admin/services/1?done=enabled');
    expect(await loginStatus('https://app.example.org/')).toBe(200);
    expect((await post('/cas/admin/services/1/enabled', { enabled: 'maybe' })).statusCode).toBe(400);
  });

  it('refuses a change without the console form token, or with a wrong one, and changes nothing', async () => {
    const before = await lastAuditId();
    const missing = await t.app.inject({ method: 'POST', url: '/cas/admin/services/1/enabled', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'enabled=false' });
    expect(missing.statusCode).toBe(403);
    expect((await post('/cas/admin/services/1/enabled', { enabled: 'false' }, 'forged')).statusCode).toBe(403);
    expect((await post('/cas/admin/services/1/edit', { name: 'Renamed', serviceId: '^https://evil\\.example/.*' }, 'forged')).statusCode).toBe(403);
    expect(await row(1)).toMatchObject({ name: 'App', enabled: true });
    expect((await auditSince(before)).map((r) => [r.actor, r.status])).toEqual([['console-test', 403], ['console-test', 403], ['console-test', 403]]);
  });

  it('creates a service through the registry, with a bad serviceId shown next to its field (400) and nothing stored', async () => {
    const form = await get('/cas/admin/services/new');
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('<label for="serviceId">');
    // The next free id is offered.
    expect(form.body).toContain('<input type="text" id="id" name="id" value="21"');
    const fields = { id: '30', name: 'Wiki', serviceId: '^https://wiki\\.example\\.org/(.*', evaluationOrder: '30', logoutType: 'BACK_CHANNEL', enabled: 'true', ssoEnabled: 'true', failureMode: 'UNDEFINED', json: '' };
    const bad = await post('/cas/admin/services/new', fields);
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-security-policy']).toMatch(CSP);
    expect(bad.body).toMatch(/<input type="text" id="serviceId" name="serviceId" value="\^https:\/\/wiki\\\.example\\\.org\/\(\.\*"[^>]* aria-invalid="true" aria-describedby="serviceId-error"><p class="hint">[^<]*<\/p><p class="error-text" id="serviceId-error">serviceId: invalid regular expression/);
    expect(bad.body).toContain('The service was not saved: correct <a href="#serviceId">the service URL pattern</a> below.');
    // What was typed is kept.
    expect(bad.body).toContain('name="name" value="Wiki"');
    expect(await row(30)).toBeUndefined();

    const good = await post('/cas/admin/services/new', { ...fields, serviceId: '^https://wiki\\.example\\.org/.*', mfaProviders: ['mfa-gauth'] });
    expect(good.statusCode).toBe(303);
    expect(good.headers.location).toBe('/cas/admin/services/30?done=created');
    expect(await row(30)).toMatchObject({
      name: 'Wiki',
      source: 'api',
      definition: {
        '@class': 'org.apereo.cas.services.CasRegisteredService',
        id: 30,
        name: 'Wiki',
        serviceId: '^https://wiki\\.example\\.org/.*',
        evaluationOrder: 30,
        multifactorPolicy: { multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']] },
      },
    });
    expect(await loginStatus('https://wiki.example.org/x')).toBe(200);

    const taken = await post('/cas/admin/services/new', { ...fields, serviceId: '^https://other\\.example\\.org/.*' });
    expect(taken.statusCode).toBe(409);
    expect(taken.body).toContain('<p class="error-text" id="id-error">id: a registered service with id 30 exists');
  });

  it('edits a service: an invalid field is shown next to it and nothing is stored; a valid edit is saved as an API change', async () => {
    const page = await get('/cas/admin/services/2/edit');
    expect(page.statusCode).toBe(200);
    const fields = formFields(page.body);
    expect(fields).toMatchObject({ name: 'Other', evaluationOrder: '2', enabled: 'true', ssoEnabled: 'true' });
    const before = await row(2);

    const bad = await post('/cas/admin/services/2/edit', { ...fields, evaluationOrder: 'first' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<p class="error-text" id="evaluationOrder-error">evaluationOrder: must be an integer</p>');
    const json = await post('/cas/admin/services/2/edit', { ...fields, json: (fields.json as string).replace('"attributeReleasePolicy"', '"atributeReleasePolicy"') });
    expect(json.statusCode).toBe(400);
    expect(json.body).toContain('<p class="error-text" id="json-error">atributeReleasePolicy: unknown field');
    expect(await row(2)).toEqual(before);

    const saved = await post('/cas/admin/services/2/edit', { ...fields, name: 'Other app', description: 'The other one' });
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe('/cas/admin/services/2?done=saved');
    const after = await row(2);
    expect(after).toMatchObject({ name: 'Other app', source: 'api' });
    // What no field holds is kept from the JSON; nothing else is added.
    expect(after.definition).toEqual({ ...before.definition, name: 'Other app', description: 'The other one' });
    expect((await get('/cas/admin/services')).body).toContain('>Other app</a>');
  });

  it('tells which service a URL matches, the way /login decides', async () => {
    const ask = async (url: string) => {
      const res = await get(`/cas/admin/services/match?url=${encodeURIComponent(url)}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-security-policy']).toMatch(CSP);
      return res.body;
    };
    const empty = await get('/cas/admin/services/match');
    expect(empty.body).toContain('<label for="url">Service URL</label>');
    expect(empty.body).not.toContain('class="panel result');

    const used = await ask('https://other.example.org/home');
    expect(used).toContain('<h2>Matched, and enabled</h2>');
    expect(used).toContain('<a href="/cas/admin/services/2">');
    expect(await ask('https://disabled.example.org/x')).toContain('<h2>Matched, but disabled</h2>');
    expect(await ask('https://nowhere.example.org/')).toContain('<h2>No service matches</h2>');
    const script = await ask('javascript:alert(1)//<b>');
    expect(script).toContain('<h2>Not a URL CAS accepts</h2>');
    expect(script).toContain('javascript:alert(1)//&lt;b&gt;');
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { CasMetrics } from '../../src/metrics/cas-metrics';
import { Browser, executionOf, ticketOf } from '../helpers/browser';
import { eventually } from '../helpers/eventually';
import { logoutReceiver, LogoutReceiver } from '../helpers/logout-receiver';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const TOKEN = 'prometheus:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const ENV = {
  CAS_ADMIN_TOKENS: TOKEN,
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,victim::victim-password',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '2',
};

/** One sample of the text format: `name{label="value",...} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}`;
// prom-client writes NaN as `Nan` (an event-loop gauge before its first sample); Prometheus reads
// values with Go's strconv.ParseFloat, which matches NaN and Inf ignoring case, so the case is free here too.
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|[Nn][Aa][Nn]|[+-]Inf)$`);
const COMMENT_LINE = new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`);

/**
 * The Prometheus text format (0.0.4), strictly: every line a HELP or TYPE comment, a sample, or
 * empty (between families: ignored by Prometheus), the text ending with a newline. Throws at the
 * first line that is none of these.
 */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; helps: Set<string> } {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (!COMMENT_LINE.test(line)) throw new Error(`not a HELP/TYPE line: ${line}`);
      const [, kind, name, rest] = line.split(' ');
      if (kind === 'TYPE') types.set(name, rest);
      else helps.add(name);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').match(new RegExp(LABEL, 'g')) ?? []) {
      const eq = l.indexOf('=');
      labels[l.slice(0, eq)] = JSON.parse(l.slice(eq + 1)) as string;
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types, helps };
}

describe('GET /cas/actuator/prometheus', () => {
  let t: TestApp;
  let receiver: LogoutReceiver;
  beforeAll(async () => {
    receiver = await logoutReceiver();
    t = await startTestApp({ env: { ...ENV, CAS_SLO_DISABLED: 'false' } });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const localApp = () => `http://127.0.0.1:${receiver.port}/app`;

  async function scrape(): Promise<Sample[]> {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: BEARER });
    expect(res.statusCode).toBe(200);
    return parse(res.body).samples;
  }

  /** The value of one series (0 when it was never recorded). */
  function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} names ${found.length} series`);
    return found[0]?.value ?? 0;
  }

  /** What each of `series` moved by between two scrapes. */
  function moved(before: Sample[], after: Sample[], series: [string, Record<string, string>?][]): Record<string, number> {
    return Object.fromEntries(series.map(([name, labels]) => [`${name}${JSON.stringify(labels ?? {})}`, value(after, name, labels) - value(before, name, labels)]));
  }

  const handler = () => t.config.acceptUsersHandler.name;

  it('answers only with an admin token: 401 without one; a refused scrape is audited, an answered one is not', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus' });
    expect(none.statusCode).toBe(401);
    expect(none.body).not.toContain('cas_');
    const wrong = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: { authorization: 'Bearer wrong' } });
    expect(wrong.statusCode).toBe(401);
    const ok = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: BEARER });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { rows } = await t.sql.query(`SELECT actor, status FROM admin_audit WHERE target LIKE '%prometheus%' ORDER BY at`);
    expect(rows).toEqual([
      { actor: 'anonymous', status: 401 },
      { actor: 'anonymous', status: 401 },
    ]);
  });

  it('is the text format, every metric with HELP and TYPE, Node default metrics included, names by convention', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: BEARER });
    const { samples, types, helps } = parse(res.body);
    const families = [...types.keys()];
    for (const name of families) expect(helps.has(name)).toBe(true);
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      expect(types.has(s.name) || types.get(family) === 'histogram').toBe(true);
    }
    expect(families).toEqual(expect.arrayContaining([
      'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds',
      'cas_logins_total', 'cas_password_failures_total', 'cas_mfa_failures_total', 'cas_login_throttled_total',
      'cas_tickets_granted_total', 'cas_validations_total', 'cas_sso_sessions_created_total', 'cas_sso_sessions_ended_total',
      'cas_sso_sessions', 'cas_logout_deliveries_total', 'cas_logout_outbox_pending', 'cas_logout_outbox_oldest_pending_age_seconds',
      'cas_cleaner_rows_total', 'cas_cleaner_run_duration_seconds', 'cas_cleaner_last_run_timestamp_seconds',
      'cas_db_pool_connections', 'cas_db_pool_waiting_requests', 'cas_db_query_duration_seconds', 'cas_http_request_duration_seconds',
    ]));
    // prom-client names a counter's family without its _total in TYPE; every cas_ counter ends in _total.
    for (const [name, type] of types) {
      if (!name.startsWith('cas_')) continue;
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (type === 'histogram') expect(name).toMatch(/_seconds$/);
    }
    expect(value(samples, 'cas_db_pool_connections', { state: 'idle' }) + value(samples, 'cas_db_pool_connections', { state: 'in_use' })).toBeGreaterThan(0);
    expect(value(samples, 'cas_db_query_duration_seconds_count', { kind: 'statement' })).toBeGreaterThan(0);
  });

  it('a login with a service, its validation, a second validation of the same ticket: each counted once, where it belongs', async () => {
    const before = await scrape();
    const b = new Browser(t.app);
    const ticket = ticketOf(await b.login('casuser', 'Mellon', APP));
    const first = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${ticket}` });
    expect(first.body).toContain('authenticationSuccess');
    const again = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${ticket}` });
    expect(again.body).toContain('INVALID_TICKET');
    const cas1 = await t.app.inject({ method: 'GET', url: `/cas/validate?service=${encodeURIComponent(APP)}&ticket=ST-nope` });
    expect(cas1.body).toBe('no\n\n');
    const after = await scrape();
    expect(moved(before, after, [
      ['cas_logins_total', { outcome: 'success', handler: handler() }],
      ['cas_logins_total', { outcome: 'failure' }],
      ['cas_sso_sessions_created_total'],
      ['cas_tickets_granted_total', { type: 'TGT' }],
      ['cas_tickets_granted_total', { type: 'ST' }],
      ['cas_validations_total', { endpoint: 'p3/serviceValidate', code: 'SUCCESS' }],
      ['cas_validations_total', { endpoint: 'p3/serviceValidate', code: 'INVALID_TICKET' }],
      ['cas_validations_total', { endpoint: 'validate', code: 'INVALID_TICKET' }],
      ['cas_sso_sessions'],
    ])).toEqual({
      [`cas_logins_total${JSON.stringify({ outcome: 'success', handler: handler() })}`]: 1,
      'cas_logins_total{"outcome":"failure"}': 0,
      'cas_sso_sessions_created_total{}': 1,
      'cas_tickets_granted_total{"type":"TGT"}': 1,
      'cas_tickets_granted_total{"type":"ST"}': 1,
      'cas_validations_total{"endpoint":"p3/serviceValidate","code":"SUCCESS"}': 1,
      'cas_validations_total{"endpoint":"p3/serviceValidate","code":"INVALID_TICKET"}': 1,
      'cas_validations_total{"endpoint":"validate","code":"INVALID_TICKET"}': 1,
      'cas_sso_sessions{}': 1,
    });
    // The HTTP histogram: by route pattern and status class, never the URL as sent.
    expect(value(after, 'cas_http_request_duration_seconds_count', { method: 'GET', route: '/cas/p3/serviceValidate', status_class: '2xx' })
      - value(before, 'cas_http_request_duration_seconds_count', { method: 'GET', route: '/cas/p3/serviceValidate', status_class: '2xx' })).toBe(2);
    // The console's overview: this minute holds the login and the three validations.
    const minute = t.app.get(CasMetrics).minuteCounts().at(-1)!;
    expect(minute.logins).toBeGreaterThanOrEqual(1);
    expect(minute.validations).toBeGreaterThanOrEqual(3);
  });

  it('failed logins by handler and reason, then a throttled attempt', async () => {
    const before = await scrape();
    const wrongPassword = await new Browser(t.app).loginFrom('192.0.2.7', 'victim', 'guess', APP);
    expect(wrongPassword.statusCode).toBe(401);
    const unknownUser = await new Browser(t.app).loginFrom('192.0.2.7', 'nobody', 'guess', APP);
    expect(unknownUser.statusCode).toBe(401);
    const middle = await scrape();
    // AUTHN_THROTTLE_ACCOUNT_THRESHOLD=2: the third attempt on the account is refused before any check.
    await new Browser(t.app).loginFrom('192.0.2.8', 'victim', 'guess', APP);
    const throttled = await new Browser(t.app).loginFrom('192.0.2.8', 'victim', 'guess', APP);
    expect(throttled.statusCode).toBe(429);
    const after = await scrape();
    expect(moved(before, middle, [
      ['cas_logins_total', { outcome: 'failure', handler: handler() }],
      ['cas_logins_total', { outcome: 'failure', handler: 'none' }],
      ['cas_password_failures_total', { reason: 'invalid-credentials' }],
      ['cas_login_throttled_total'],
      ['cas_sso_sessions_created_total'],
    ])).toEqual({
      [`cas_logins_total${JSON.stringify({ outcome: 'failure', handler: handler() })}`]: 1,
      'cas_logins_total{"outcome":"failure","handler":"none"}': 1,
      'cas_password_failures_total{"reason":"invalid-credentials"}': 2,
      'cas_login_throttled_total{}': 0,
      'cas_sso_sessions_created_total{}': 0,
    });
    expect(moved(middle, after, [['cas_login_throttled_total'], ['cas_password_failures_total', { reason: 'invalid-credentials' }]])).toEqual({
      'cas_login_throttled_total{}': 1,
      'cas_password_failures_total{"reason":"invalid-credentials"}': 1,
    });
  });

  it('a logout: the session ended (LOGOUT), the live-sessions gauge down by one, its logout request delivered', async () => {
    const b = new Browser(t.app);
    const ticket = ticketOf(await b.login('casuser', 'Mellon', localApp()));
    const before = await scrape();
    expect((await b.get('/cas/logout')).statusCode).toBe(200);
    await receiver.receivedAll([ticket]);
    // The outcome is counted when the answer is in, just before it is recorded.
    const after = await eventually(scrape, (s) => value(s, 'cas_logout_deliveries_total', { outcome: 'delivered' }) > value(before, 'cas_logout_deliveries_total', { outcome: 'delivered' }));
    expect(moved(before, after, [
      ['cas_sso_sessions_ended_total', { reason: 'LOGOUT' }],
      ['cas_sso_sessions'],
      ['cas_logout_deliveries_total', { outcome: 'delivered' }],
      ['cas_logout_deliveries_total', { outcome: 'retry' }],
    ])).toEqual({
      'cas_sso_sessions_ended_total{"reason":"LOGOUT"}': 1,
      'cas_sso_sessions{}': -1,
      'cas_logout_deliveries_total{"outcome":"delivered"}': 1,
      'cas_logout_deliveries_total{"outcome":"retry"}': 0,
    });
  });

  it('the logout backlog: a request not delivered yet is pending, its age on the clock; a failed attempt counts as retry', async () => {
    t.clock.freeze();
    const dead = 'http://127.0.0.1:9/app'; // discard port: nothing listens
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon', dead);
    // The previous test's request is recorded as delivered just after it is counted: wait for the row.
    const before = await eventually(scrape, (x) => value(x, 'cas_logout_outbox_pending') === 0);
    expect(value(before, 'cas_logout_outbox_oldest_pending_age_seconds')).toBe(0);
    await b.get('/cas/logout');
    // The first attempt is refused at once; the next waits 5 s on the (frozen) clock.
    const failed = await eventually(scrape, (s) => value(s, 'cas_logout_deliveries_total', { outcome: 'retry' }) > value(before, 'cas_logout_deliveries_total', { outcome: 'retry' }));
    expect(value(failed, 'cas_logout_deliveries_total', { outcome: 'retry' }) - value(before, 'cas_logout_deliveries_total', { outcome: 'retry' })).toBe(1);
    t.clock.advance(3);
    const later = await scrape();
    expect(value(later, 'cas_logout_outbox_pending')).toBe(1);
    expect(value(later, 'cas_logout_outbox_oldest_pending_age_seconds')).toBeCloseTo(3, 3);
  });

  it('no label value is a username, an address, a ticket or a URL as sent', async () => {
    await new Browser(t.app).loginFrom('198.51.100.23', 'casuser', 'Mellon', `${APP}?secret-query=1`);
    await t.app.inject({ method: 'GET', url: '/cas/no/such/route?x=casuser' });
    const samples = await scrape();
    const values = samples.flatMap((s) => Object.values(s.labels));
    for (const v of values) {
      expect(v).not.toMatch(/casuser|victim|nobody|198\.51\.100|192\.0\.2|127\.0\.0\.1|(TGT|ST|PT|PGT)-|secret-query|such/);
    }
    expect(value(samples, 'cas_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
  });
});

describe('the live SSO sessions gauge', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...ENV, AUTHN_THROTTLE_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  async function gauge(): Promise<number> {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: BEARER });
    const line = res.body.split('\n').find((l) => l.startsWith('cas_sso_sessions '));
    return Number(line?.split(' ')[1]);
  }

  /** A login with renew=true in a browser that has a session: the new session replaces it. */
  async function relogin(b: Browser): Promise<void> {
    const form = await b.get('/cas/login?renew=true');
    const res = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' });
    expect(res.statusCode).toBe(200);
  }

  async function tgtRows(): Promise<number> {
    return Number((await t.sql.query(`SELECT count(*) AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n);
  }

  it('equals count(*) of the TGT rows after logins, logouts, an admin end, a cleaner run and a DBA delete', async () => {
    t.clock.freeze();
    const browsers: Browser[] = [];
    for (let i = 0; i < 5; i++) {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon');
      browsers.push(b);
    }
    expect(await tgtRows()).toBe(5);
    expect(await gauge()).toBe(5);

    await browsers[0].get('/cas/logout');
    expect(await tgtRows()).toBe(4);
    expect(await gauge()).toBe(4);

    // A re-login in the same browser replaces its session: one in, one out.
    await relogin(browsers[1]);
    expect(await tgtRows()).toBe(4);
    expect(await gauge()).toBe(4);

    const { rows } = await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY id LIMIT 1`);
    expect((await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${rows[0].id}`, headers: BEARER })).statusCode).toBe(200);
    expect(await tgtRows()).toBe(3);
    expect(await gauge()).toBe(3);

    // Expired: still counted until the cleaner ends it, as the HELP text says.
    t.clock.advance(9 * 3600);
    expect(await gauge()).toBe(3);
    const fresh = new Browser(t.app);
    await fresh.login('casuser', 'Mellon');
    expect(await gauge()).toBe(4);
    const clean = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ticketRegistry/clean', headers: BEARER });
    expect(clean.json().removed.sessions).toBe(3);
    expect(await tgtRows()).toBe(1);
    expect(await gauge()).toBe(1);

    // A DBA's manual delete counts too (the triggers), and so does a TRUNCATE.
    await relogin(fresh);
    await new Browser(t.app).login('casuser', 'Mellon');
    expect(await gauge()).toBe(2);
    await t.sql.query(`DELETE FROM tickets WHERE type = 'TGT' AND id IN (SELECT id FROM tickets WHERE type = 'TGT' LIMIT 1)`);
    expect(await tgtRows()).toBe(1);
    expect(await gauge()).toBe(1);
    // Rolled back, wholly or to a savepoint: only what committed counts.
    await new Browser(t.app).login('casuser', 'Mellon');
    await new Browser(t.app).login('casuser', 'Mellon');
    expect(await gauge()).toBe(3);
    await t.sql.query('BEGIN');
    await t.sql.query(`DELETE FROM tickets WHERE type = 'TGT'`);
    await t.sql.query('ROLLBACK');
    expect(await gauge()).toBe(3);
    await t.sql.query('BEGIN');
    await t.sql.query(`DELETE FROM tickets WHERE id IN (SELECT id FROM tickets WHERE type = 'TGT' LIMIT 1)`);
    await t.sql.query('SAVEPOINT s');
    await t.sql.query(`DELETE FROM tickets WHERE type = 'TGT'`);
    await t.sql.query('ROLLBACK TO SAVEPOINT s');
    await t.sql.query('COMMIT');
    expect(await tgtRows()).toBe(2);
    expect(await gauge()).toBe(2);
    await t.sql.query(`TRUNCATE tickets, session_services`);
    expect(await gauge()).toBe(0);

    const text = (await t.app.inject({ method: 'GET', url: '/cas/actuator/prometheus', headers: BEARER })).body;
    const sample = (series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? 0);
    expect(['LOGOUT', 'REPLACED', 'ADMIN', 'EXPIRED'].map((r) => sample(`cas_sso_sessions_ended_total{reason="${r}"}`))).toEqual([1, 2, 1, 3]);
    expect(sample('cas_cleaner_rows_total')).toBe(3);
    expect(sample('cas_cleaner_run_duration_seconds_count')).toBe(1);
    expect(sample('cas_cleaner_last_run_timestamp_seconds')).toBe(t.clock.now().getTime() / 1000);
  });
});

describe('multi-factor failures', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...ENV, CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url') } });
    t.clock.freeze();
  });
  afterAll(() => t.close());

  it('a wrong TOTP code and a replayed one: counted by provider and reason, the login itself a success', async () => {
    const gauth = t.app.get(GauthCredentials);
    const e = await gauth.enrol('casuser', 'phone');
    const codeNow = () => authenticator.clone({ digits: 6, step: 30, epoch: t.clock.now().getTime() }).generate(e.secret);
    const used = codeNow();
    expect((await gauth.confirm(e.credentialId, used)).ok).toBe(true);
    const metrics = t.app.get(CasMetrics);
    const before = await metrics.registry.getSingleMetricAsString('cas_mfa_failures_total');
    expect(before).not.toContain('cas_mfa_failures_total{');

    const b = new Browser(t.app);
    const form = await b.get(`/cas/login?service=${encodeURIComponent(APP)}&authn_method=mfa-gauth`);
    const page = await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(form.body), _eventId: 'submit' });
    expect(page.body).toContain('name="token"');
    const wrong = await b.post('/cas/login', { execution: executionOf(page.body), token: String((Number(used) + 1) % 1_000_000).padStart(6, '0'), _eventId: 'mfa' });
    expect(wrong.statusCode).toBe(401);
    const replayed = await b.post('/cas/login', { execution: executionOf(wrong.body), token: used, _eventId: 'mfa' });
    expect(replayed.statusCode).toBe(401);

    const after = await metrics.registry.getSingleMetricAsString('cas_mfa_failures_total');
    expect(after).toContain('cas_mfa_failures_total{provider="mfa-gauth",reason="invalid"} 1');
    expect(after).toContain('cas_mfa_failures_total{provider="mfa-gauth",reason="replayed"} 1');
    expect(await metrics.registry.getSingleMetricAsString('cas_logins_total')).toContain(`cas_logins_total{outcome="success",handler="${t.config.acceptUsersHandler.name}"} 1`);
  });
});

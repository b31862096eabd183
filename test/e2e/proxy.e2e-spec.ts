import { Logger } from '@nestjs/common';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { TicketRegistryCleaner } from '../../src/tickets/logout/ticket-registry.cleaner';
import { Browser, ticketOf } from '../helpers/browser';
import { CallbackServer, startCallbackServer } from '../helpers/callback-server';
import { createAuthority, selfSigned } from '../helpers/certificates';
import { startTestApp, TestApp } from '../helpers/test-app';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: false, parseTagValue: false });
const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };

/** The application side: services on loopback receive back-channel logout requests here. */
async function sloCapture(): Promise<{
  port: number;
  bodies: { path: string; body: string }[];
  /** Resolves once `holds()` is true, checked now and after every request received. */
  until: (holds: () => boolean) => Promise<void>;
  close: () => Promise<void>;
}> {
  const bodies: { path: string; body: string }[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body });
      res.writeHead(200).end();
      waiters.forEach((check) => check());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const until = (holds: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!holds()) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { port: (server.address() as AddressInfo).port, bodies, until, close: () => new Promise((r) => server.close(() => r())) };
}

describe('proxy authentication (checklist 41-43, 54-63; T8)', () => {
  const ca = createAuthority();
  let good: CallbackServer; // certificate for 127.0.0.1 from the CA the server is told to trust
  let untrusted: CallbackServer; // self-signed
  let wrongHost: CallbackServer; // trusted CA, but issued to another host name
  let plain: CallbackServer; // http: must never be called
  let slo: Awaited<ReturnType<typeof sloCapture>>;
  let t: TestApp;
  let dir: string;
  let app: string;
  let FRONT: string;
  let BACKEND: string;
  let DEEP: string;
  let NOPROXY: string;

  beforeAll(async () => {
    good = await startCallbackServer({ tls: ca.issue({ dns: ['localhost'], ip: ['127.0.0.1'] }) });
    untrusted = await startCallbackServer({ tls: selfSigned({ ip: ['127.0.0.1'] }) });
    wrongHost = await startCallbackServer({ tls: ca.issue({ dns: ['wrong.example.org'] }) });
    plain = await startCallbackServer({});
    slo = await sloCapture();
    app = `http://127.0.0.1:${slo.port}`;
    FRONT = `${app}/front/`;
    BACKEND = `${app}/backend/api`;
    DEEP = `${app}/deep/`;
    NOPROXY = `${app}/noproxy/`;
    dir = mkdtempSync(join(tmpdir(), 'cas-proxy-ca-'));
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    const callbacks = { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern: '^(https?)://127\\.0\\.0\\.1:\\d+/.*' };
    const svc = (id: number, path: string, extra: Record<string, unknown> = {}) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      id,
      name: path,
      evaluationOrder: id,
      serviceId: `^http://127\\.0\\.0\\.1:${slo.port}/${path}/.*`,
      attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
      ...extra,
    });
    t = await startTestApp({
      env: { PROXY_CALLBACK_CA_FILE: join(dir, 'ca.pem'), CAS_SLO_DISABLED: 'false', CAS_ADMIN_TOKENS: TOKEN, AUTHN_THROTTLE_ENABLED: 'false' },
      services: [
        svc(1, 'front', { proxyPolicy: callbacks }),
        svc(2, 'backend', { proxyPolicy: callbacks }),
        svc(3, 'deep', { proxyTicketExpirationPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceProxyTicketExpirationPolicy', numberOfUses: 1, timeToLive: 30 } }),
        svc(4, 'noproxy'),
        svc(5, 'twice', { proxyPolicy: callbacks, serviceTicketExpirationPolicy: { numberOfUses: 2 } }),
        svc(6, 'nosso', { accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', ssoEnabled: false } }),
      ],
    });
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all([good, untrusted, wrongHost, plain].map((s) => s?.close()));
    await slo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const xml = (body: string) => {
    expect(XMLValidator.validate(body)).toBe(true);
    return parser.parse(body)['cas:serviceResponse'];
  };
  const failure = (body: string) => xml(body)['cas:authenticationFailure'];
  const validate = (endpoint: string, service: string, ticket: string, pgtUrl?: string, extra = '') =>
    get(
      `/cas/${endpoint}?service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket)}` +
        `${pgtUrl === undefined ? '' : `&pgtUrl=${encodeURIComponent(pgtUrl)}`}${extra}`,
    );
  const proxy = (pgt: string, targetService: string) =>
    get(`/cas/proxy?pgt=${encodeURIComponent(pgt)}&targetService=${encodeURIComponent(targetService)}`);
  const pgtRows = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'PGT'`)).rows[0].n as number;

  /** A logged-in browser and a fresh ST for `service`, with the session's TGT id. */
  async function login(service = FRONT) {
    const b = new Browser(t.app);
    const st = ticketOf(await b.login('casuser', 'Mellon', service));
    const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st]);
    return { b, st, tgt: rows[0].session_id as string };
  }

  /** The PGT the callback received for a PGTIOU, from its query. */
  function pgtDeliveredFor(iou: string): string {
    const hit = good.received.map((u) => new URL(u, 'https://x')).find((u) => u.searchParams.get('pgtIou') === iou);
    if (!hit) throw new Error(`no callback carried ${iou}`);
    return hit.searchParams.get('pgtId')!;
  }

  /** Logs in at FRONT and validates with a good pgtUrl: the session, PGT and PGTIOU. */
  async function proxiedSession() {
    const s = await login();
    const res = await validate('serviceValidate', FRONT, s.st, `${good.origin}/ok/cb`);
    const iou = xml(res.body)['cas:authenticationSuccess']['cas:proxyGrantingTicket'] as string;
    return { ...s, iou, pgt: pgtDeliveredFor(iou) };
  }

  describe('pgtUrl callback', () => {
    it('GETs the https callback with pgtId and pgtIou added to its own query (56) and answers the PGTIOU, never the PGT (57)', async () => {
      const { st, tgt } = await login();
      const before = good.received.length;
      const pgtUrl = `${good.origin}/ok/cb?app=front&x=a%20b`;
      const res = await validate('serviceValidate', FRONT, st, pgtUrl);
      expect(res.statusCode).toBe(200);
      const success = xml(res.body)['cas:authenticationSuccess'];
      expect(success['cas:user']).toBe('casuser');
      const iou = success['cas:proxyGrantingTicket'];
      expect(iou).toMatch(/^PGTIOU-[A-Za-z0-9-]+$/);
      expect(good.received.length).toBe(before + 1);
      const called = good.received[before];
      expect(called.startsWith('/ok/cb?app=front&x=a%20b&pgtId=PGT-')).toBe(true);
      const q = new URL(called, 'https://x').searchParams;
      expect(q.get('pgtIou')).toBe(iou);
      const pgt = q.get('pgtId')!;
      expect(pgt).toMatch(/^PGT-[A-Za-z0-9]{48}$/);
      expect(res.body).not.toContain(pgt);
      // Order of the XSD: user, attributes, proxyGrantingTicket; no cas:proxies for an ST.
      expect(res.body.indexOf('</cas:attributes>')).toBeLessThan(res.body.indexOf('<cas:proxyGrantingTicket>'));
      expect(res.body).not.toContain('cas:proxies');
      const { rows } = await t.sql.query(`SELECT type, session_id, parent_id, principal, proxied_by, proxy_chain, granted_from FROM tickets WHERE id = $1`, [pgt]);
      expect(rows).toEqual([{ type: 'PGT', session_id: tgt, parent_id: tgt, principal: 'casuser', proxied_by: FRONT, proxy_chain: [pgtUrl], granted_from: st }]);
    });

    it('answers the PGTIOU in JSON too, and at the p3 and proxyValidate endpoints', async () => {
      for (const ep of ['p3/serviceValidate', 'proxyValidate', 'p3/proxyValidate']) {
        const { st } = await login();
        const res = await validate(ep, FRONT, st, `${good.origin}/ok/json`, '&format=JSON');
        const success = res.json().serviceResponse.authenticationSuccess;
        expect(success.user).toBe('casuser');
        expect(success.proxyGrantingTicket).toMatch(/^PGTIOU-/);
        expect(res.body).not.toContain(pgtDeliveredFor(success.proxyGrantingTicket));
      }
    });

    it('refuses a service without proxy policy (58), and a callback its pattern does not allow, without calling anything', async () => {
      const before = await pgtRows();
      const calls = good.received.length;
      const { st } = await login(NOPROXY);
      const res = await validate('serviceValidate', NOPROXY, st, `${good.origin}/ok/noproxy`);
      expect(failure(res.body)['@code']).toBe('UNAUTHORIZED_SERVICE_PROXY');
      const other = await login();
      const off = await validate('serviceValidate', FRONT, other.st, 'https://localhost:1/ok/not-in-pattern');
      expect(failure(off.body)['@code']).toBe('UNAUTHORIZED_SERVICE_PROXY');
      expect(off.body).not.toContain('proxyGrantingTicket');
      expect(good.received.length).toBe(calls);
      expect(await pgtRows()).toBe(before);
    });

    // T8 and 54, 55: each fails with INVALID_PROXY_CALLBACK, no proxyGrantingTicket, no PGT row.
    const broken: [string, () => string][] = [
      ['an http callback (54), never called', () => `${plain.origin}/ok/http`],
      ['a self-signed certificate', () => `${untrusted.origin}/ok/self`],
      ['a certificate for another host name', () => `${wrongHost.origin}/ok/host`],
      ['a 404 (55)', () => `${good.origin}/notfound`],
      ['a 500', () => `${good.origin}/error`],
      ['a redirect (not followed: its target was never checked against the policy)', () => `${good.origin}/redirect`],
      ['nothing listening', () => 'https://127.0.0.1:9/ok/closed'],
      ['no URL at all', () => 'https://127.0.0.1:notaport/'],
    ];
    it.each(broken)('fails for %s', async (_name, url) => {
      const { st } = await login();
      const rows = await pgtRows();
      const res = await validate('serviceValidate', FRONT, st, url());
      expect(res.statusCode).toBe(200);
      expect(failure(res.body)['@code']).toBe('INVALID_PROXY_CALLBACK');
      expect(res.body).not.toContain('proxyGrantingTicket');
      expect(await pgtRows()).toBe(rows);
      // The ST was spent by the failed attempt.
      expect(failure((await validate('serviceValidate', FRONT, st)).body)['@code']).toBe('INVALID_TICKET');
    });

    it('takes a blank pgtUrl for none, as CAS does', async () => {
      const { st } = await login();
      const res = await validate('serviceValidate', FRONT, st, ' ');
      expect(xml(res.body)['cas:authenticationSuccess']['cas:user']).toBe('casuser');
      expect(res.body).not.toContain('proxyGrantingTicket');
    });

    it('never sends anything to an http callback', () => {
      expect(plain.received).toEqual([]);
    });

    it('gives up on a callback that never answers when its 5 s deadline passes, and answers then (T8)', async () => {
      const { st } = await login();
      const rows = await pgtRows();
      // The callback's deadline is an AbortSignal.timeout: the test takes its place, and passes
      // the 5 s by aborting it as the timer would, instead of waiting for them.
      const deadlines: { ms: number; pass: () => void }[] = [];
      const timeout = jest.spyOn(AbortSignal, 'timeout').mockImplementation((ms) => {
        const c = new AbortController();
        deadlines.push({ ms, pass: () => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) });
        return c.signal;
      });
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const arrived = good.nextRequest('/stall');
        let answered = false;
        const answer = Promise.resolve(validate('serviceValidate', FRONT, st, `${good.origin}/stall`)).finally(() => (answered = true));
        const callback = await arrived;
        await new Promise((r) => setImmediate(r));
        // The validation waits for the callback, whose only deadline is the 5 s one.
        expect(answered).toBe(false);
        expect(deadlines.map((d) => d.ms)).toEqual([5000]);
        deadlines[0].pass();
        const res = await answer;
        expect(failure(res.body)['@code']).toBe('INVALID_PROXY_CALLBACK');
        // CAS closed the request it gave up on (the callback never answered), and said why.
        await callback.closed;
        expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(expect.stringMatching(/proxy callback .* refused: no answer within 5 s$/));
        expect(await pgtRows()).toBe(rows);
      } finally {
        timeout.mockRestore();
        warn.mockRestore();
      }
    });

    it('mints at most one PGT per ST, even from a two-use ST', async () => {
      const twice = `${app}/twice/`;
      const { st } = await login(twice);
      const first = await validate('serviceValidate', twice, st, `${good.origin}/ok/twice1`);
      expect(xml(first.body)['cas:authenticationSuccess']['cas:proxyGrantingTicket']).toMatch(/^PGTIOU-/);
      const second = await validate('serviceValidate', twice, st, `${good.origin}/ok/twice2`);
      expect(failure(second.body)['@code']).toBe('INVALID_TICKET');
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE granted_from = $1`, [st])).rows[0].n).toBe(1);
    });
  });

  describe('/proxy and proxy tickets', () => {
    it('refuses a request without pgt or targetService (59), or with one given twice', async () => {
      for (const url of ['/cas/proxy', `/cas/proxy?pgt=PGT-${'a'.repeat(48)}`, `/cas/proxy?targetService=${encodeURIComponent(BACKEND)}`]) {
        const res = await get(url);
        expect(res.statusCode).toBe(200);
        const f = xml(res.body)['cas:proxyFailure'];
        expect(f['@code']).toBe('INVALID_REQUEST');
        expect(f['#text']).toBe("'pgt' and 'targetService' parameters are both required");
      }
      const twice = await get(`/cas/proxy?pgt=a&pgt=b&targetService=${encodeURIComponent(BACKEND)}`);
      expect(xml(twice.body)['cas:proxyFailure']['@code']).toBe('INVALID_REQUEST');
    });

    it('refuses an unknown or malformed PGT with INVALID_TICKET, malformed ones without SQL', async () => {
      expect(xml((await proxy(`PGT-${'a'.repeat(48)}`, BACKEND)).body)['cas:proxyFailure']['@code']).toBe('INVALID_TICKET');
      const query = jest.spyOn(t.app.get(DataSource), 'query');
      for (const bad of ['PGT-<x>', `TGT-${'a'.repeat(48)}`, `ST-${'a'.repeat(32)}`, 'PGTIOU-abcdefghijklmnopqrstuvwxyz0123456789', '']) {
        const res = await proxy(bad, BACKEND);
        expect(res.statusCode).toBe(200);
        expect(['INVALID_TICKET', 'INVALID_REQUEST']).toContain(xml(res.body)['cas:proxyFailure']['@code']);
        expect(res.body).not.toContain('<x>');
      }
      expect(query).not.toHaveBeenCalled();
      query.mockRestore();
    });

    it('grants PTs (60), several from one PGT (61), each for its target, recorded for single logout', async () => {
      const { pgt, tgt } = await proxiedSession();
      const pts: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await proxy(pgt, BACKEND);
        expect(res.statusCode).toBe(200);
        const pt = xml(res.body)['cas:proxySuccess']['cas:proxyTicket'];
        expect(pt).toMatch(/^PT-[A-Za-z0-9]{32}$/);
        pts.push(pt);
      }
      expect(new Set(pts).size).toBe(3);
      const { rows } = await t.sql.query(`SELECT id, type, session_id, parent_id, service FROM tickets WHERE id = ANY($1) ORDER BY id`, [pts]);
      expect(rows.every((r) => r.type === 'PT' && r.session_id === tgt && r.parent_id === pgt && r.service === BACKEND)).toBe(true);
      const tracked = await t.sql.query(`SELECT ticket_id, granted_by FROM session_services WHERE session_id = $1 AND ticket_id = ANY($2)`, [tgt, pts]);
      expect(tracked.rows).toHaveLength(3);
      expect(tracked.rows.every((r) => r.granted_by === pgt)).toBe(true);
      const pgtRow = await t.sql.query(`SELECT use_count FROM tickets WHERE id = $1`, [pgt]);
      expect(pgtRow.rows[0].use_count).toBe(3);
    });

    it('refuses targets that are not registered, disabled for SSO, or the PGTIOU in place of the PGT', async () => {
      const { pgt, iou } = await proxiedSession();
      expect(xml((await proxy(pgt, 'https://unregistered.example.org/')).body)['cas:proxyFailure']['@code']).toBe('UNAUTHORIZED_SERVICE');
      expect(xml((await proxy(pgt, `${app}/nosso/`)).body)['cas:proxyFailure']['@code']).toBe('UNAUTHORIZED_SERVICE');
      expect(xml((await proxy(iou, BACKEND)).body)['cas:proxyFailure']['@code']).toBe('INVALID_TICKET');
    });

    it('validates a PT at /proxyValidate, listing cas:proxies (43), once only', async () => {
      const { pgt } = await proxiedSession();
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const res = await validate('proxyValidate', BACKEND, pt);
      const success = xml(res.body)['cas:authenticationSuccess'];
      expect(success['cas:user']).toBe('casuser');
      expect(success['cas:proxies']['cas:proxy']).toBe(`${good.origin}/ok/cb`);
      expect(success['cas:attributes']['cas:isFromNewLogin']).toBe('false');
      expect(failure((await validate('proxyValidate', BACKEND, pt)).body)['@code']).toBe('INVALID_TICKET');
      const json = await validate('p3/proxyValidate', BACKEND, xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'], undefined, '&format=JSON');
      expect(json.json().serviceResponse.authenticationSuccess.proxies).toEqual([`${good.origin}/ok/cb`]);
    });

    it('refuses a PT at /serviceValidate (41) and /validate (42), and spends it there', async () => {
      const { pgt } = await proxiedSession();
      for (const ep of ['serviceValidate', 'p3/serviceValidate']) {
        const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
        expect(failure((await validate(ep, BACKEND, pt)).body)['@code']).toBe('INVALID_TICKET');
        expect(failure((await validate('proxyValidate', BACKEND, pt)).body)['@code']).toBe('INVALID_TICKET');
      }
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      expect((await validate('validate', BACKEND, pt)).body).toBe('no\n\n');
    });

    it('refuses a PT for another service (INVALID_SERVICE), and after 10 s; the target service policy can lengthen that', async () => {
      const { pgt } = await proxiedSession();
      const pt1 = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      expect(failure((await validate('proxyValidate', DEEP, pt1)).body)['@code']).toBe('INVALID_SERVICE');
      const pt2 = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const pt3 = xml((await proxy(pgt, DEEP)).body)['cas:proxySuccess']['cas:proxyTicket'];
      t.clock.advance(11);
      expect(failure((await validate('proxyValidate', BACKEND, pt2)).body)['@code']).toBe('INVALID_TICKET');
      // DEEP's proxyTicketExpirationPolicy: 30 s.
      expect(xml((await validate('proxyValidate', DEEP, pt3)).body)['cas:authenticationSuccess']['cas:user']).toBe('casuser');
    });

    it('grows the chain: a PT validated with its own pgtUrl yields a PGT whose PTs list the most recent proxy first (63)', async () => {
      const { pgt, tgt } = await proxiedSession();
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const backendCallback = `${good.origin}/ok/backend-cb`;
      const res = await validate('proxyValidate', BACKEND, pt, backendCallback);
      const success = xml(res.body)['cas:authenticationSuccess'];
      expect(success['cas:proxies']['cas:proxy']).toBe(`${good.origin}/ok/cb`);
      expect(res.body.indexOf('<cas:proxyGrantingTicket>')).toBeLessThan(res.body.indexOf('<cas:proxies>'));
      const pgt2 = pgtDeliveredFor(success['cas:proxyGrantingTicket']);
      const { rows } = await t.sql.query(`SELECT session_id, parent_id, proxied_by, granted_from FROM tickets WHERE id = $1`, [pgt2]);
      expect(rows[0]).toEqual({ session_id: tgt, parent_id: pgt, proxied_by: BACKEND, granted_from: pt });
      const pt2 = xml((await proxy(pgt2, DEEP)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const deep = xml((await validate('p3/proxyValidate', DEEP, pt2)).body)['cas:authenticationSuccess'];
      expect(deep['cas:proxies']['cas:proxy']).toEqual([backendCallback, `${good.origin}/ok/cb`]);
    });

    // 40 rounds: without the lock order in grantProxyTicket, a deadlock (40P01, a 500) showed within them.
    it('survives a logout racing the PT grants: every answer is a protocol answer, no PT outlives the session', async () => {
      for (let round = 0; round < 40; round++) {
        const { b, pgt, tgt } = await proxiedSession();
        const grants = Array.from({ length: 8 }, () => proxy(pgt, BACKEND));
        const [out] = await Promise.all([b.get('/cas/logout'), ...grants]);
        expect(out.statusCode).toBe(200);
        for (const res of await Promise.all(grants)) {
          expect(res.statusCode).toBe(200);
          const body = xml(res.body);
          expect(body['cas:proxySuccess'] ?? body['cas:proxyFailure']['@code'] === 'INVALID_TICKET').toBeTruthy();
        }
        expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [tgt])).rows[0].n).toBe(0);
      }
    });
  });

  describe('the session owns its PGTs and PTs', () => {
    const sessionRows = async (tgt: string) =>
      (await t.sql.query(`SELECT type, count(*)::int AS n FROM tickets WHERE session_id = $1 GROUP BY type ORDER BY type`, [tgt])).rows;

    it('logout destroys PGTs and PTs, /proxy fails afterwards (62), and the back-end service gets single logout', async () => {
      const { b, pgt, tgt } = await proxiedSession();
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      expect(await sessionRows(tgt)).toEqual([{ type: 'PGT', n: 1 }, { type: 'PT', n: 1 }, { type: 'TGT', n: 1 }]);
      await b.get('/cas/logout');
      expect(await sessionRows(tgt)).toEqual([]);
      expect(xml((await proxy(pgt, BACKEND)).body)['cas:proxyFailure']['@code']).toBe('INVALID_TICKET');
      expect(failure((await validate('proxyValidate', BACKEND, pt)).body)['@code']).toBe('INVALID_TICKET');
      const sessionIndexes = () =>
        slo.bodies
          .filter((x) => x.path.startsWith('/backend/'))
          .map((x) => /<samlp:SessionIndex>([^<]+)</.exec(new URLSearchParams(x.body).get('logoutRequest') ?? '')?.[1]);
      await t.app.get(SingleLogoutDelivery).kick();
      await slo.until(() => sessionIndexes().includes(pt));
      expect(sessionIndexes()).toContain(pt);
    });

    it('admin DELETE of the session and its expiry destroy them too', async () => {
      const a = await proxiedSession();
      await proxy(a.pgt, BACKEND);
      const del = await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${a.tgt}`, headers: BEARER });
      expect(del.statusCode).toBe(200);
      expect(await sessionRows(a.tgt)).toEqual([]);

      const e = await proxiedSession();
      await proxy(e.pgt, BACKEND);
      t.clock.advance(7201);
      expect(xml((await proxy(e.pgt, BACKEND)).body)['cas:proxyFailure']['@code']).toBe('INVALID_TICKET');
      await t.app.get(TicketRegistryCleaner).clean();
      expect(await sessionRows(e.tgt)).toEqual([]);
    });
  });

  describe('/actuator/ssoSessions', () => {
    const admin = async (query: string) => (await t.app.inject({ method: 'GET', url: `/cas/actuator/ssoSessions${query}`, headers: BEARER })).json();

    it('lists PGTs as proxied sessions (PROXIED), excludes them from DIRECT, counts them in the totals', async () => {
      const { pgt, tgt } = await proxiedSession();
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const proxied = await admin('?type=PROXIED&count=1000');
      const entry = proxied.activeSsoSessions.find((s: Record<string, unknown>) => s.ticket_granting_ticket === pgt);
      expect(entry).toMatchObject({ authenticated_principal: 'casuser', is_proxied: true, proxied_by: FRONT, number_of_uses: 1 });
      expect(Object.keys(entry.authenticated_services)).toEqual([pt]);
      expect(proxied.activeSsoSessions.every((s: Record<string, unknown>) => s.is_proxied === true)).toBe(true);
      const keys = Object.keys(entry);
      expect(keys.indexOf('proxied_by')).toBe(keys.indexOf('is_proxied') + 1);

      const direct = await admin('?type=DIRECT&count=1000');
      expect(direct.activeSsoSessions.some((s: Record<string, unknown>) => s.ticket_granting_ticket === pgt)).toBe(false);
      const own = direct.activeSsoSessions.find((s: Record<string, unknown>) => s.ticket_granting_ticket === tgt);
      expect(own).toBeDefined();
      expect(direct.activeSsoSessions.every((s: Record<string, unknown>) => !('is_proxied' in s) && !('proxied_by' in s))).toBe(true);
      // The TGT's services are its STs; the PT is the PGT's.
      expect(Object.keys(own.authenticated_services)).not.toContain(pt);

      const all = await admin('?count=1000');
      const kinds = all.activeSsoSessions.map((s: Record<string, unknown>) => [s.ticket_granting_ticket, s.is_proxied]);
      expect(kinds).toContainEqual([pgt, true]);
      expect(kinds).toContainEqual([tgt, false]);
      const { rows } = await t.sql.query(`SELECT count(*) FILTER (WHERE type = 'PGT')::int AS pgts, count(*) FILTER (WHERE type = 'TGT')::int AS tgts FROM tickets`);
      expect(all).toMatchObject({ totalProxyGrantingTickets: rows[0].pgts, totalTicketGrantingTickets: rows[0].tgts, totalTickets: rows[0].pgts + rows[0].tgts });
      expect(proxied.activeSsoSessions).toHaveLength(rows[0].pgts);
    });

    it('pages PROXIED then DIRECT sessions with the cursor, without gaps or repeats', async () => {
      await proxiedSession();
      const seen: string[] = [];
      let cursor = '';
      for (;;) {
        const page = await admin(`?count=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket));
        if (!page.next) break;
        cursor = page.next;
      }
      const all = (await admin('?count=1000')).activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket);
      expect(seen).toEqual(all);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.some((id) => id.startsWith('PGT-'))).toBe(true);
    });

    it('does not list a PGT whose session went idle, though the PGT itself was used since', async () => {
      const { pgt } = await proxiedSession();
      t.clock.advance(3600);
      await proxy(pgt, BACKEND);
      t.clock.advance(3601);
      const listed = (await admin('?type=PROXIED&count=1000')).activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket);
      expect(listed).not.toContain(pgt);
      expect(xml((await proxy(pgt, BACKEND)).body)['cas:proxyFailure']['@code']).toBe('INVALID_TICKET');
      await t.app.get(TicketRegistryCleaner).clean();
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id = $1`, [pgt])).rows[0].n).toBe(0);
    });

    it('DELETE of a PGT ends that proxied session only; type=PROXIED ends every PGT', async () => {
      const { pgt, tgt } = await proxiedSession();
      const pt = xml((await proxy(pgt, BACKEND)).body)['cas:proxySuccess']['cas:proxyTicket'];
      const del = await t.app.inject({ method: 'DELETE', url: `/cas/actuator/ssoSessions/${pgt}`, headers: BEARER });
      expect(del.statusCode).toBe(200);
      expect(del.json().singleLogoutRequests.map((r: { ticketId: string }) => r.ticketId)).toEqual([pt]);
      expect((await t.sql.query(`SELECT type FROM tickets WHERE session_id = $1 ORDER BY type`, [tgt])).rows).toEqual([{ type: 'TGT' }]);
      await proxiedSession();
      const all = await t.app.inject({ method: 'DELETE', url: '/cas/actuator/ssoSessions?type=PROXIED', headers: BEARER });
      expect(all.json().ended).toBeGreaterThanOrEqual(1);
      expect(await pgtRows()).toBe(0);
    });
  });
});

describe("proxy callback trust: Node's store and NODE_EXTRA_CA_CERTS", () => {
  const FRONT = 'https://app.example.org/';
  const ca = createAuthority('CA outside PROXY_CALLBACK_CA_FILE');
  let server: CallbackServer;
  let dir: string;
  beforeAll(async () => {
    server = await startCallbackServer({ tls: ca.issue({ ip: ['127.0.0.1'] }) });
    dir = mkdtempSync(join(tmpdir(), 'cas-extra-ca-'));
    writeFileSync(join(dir, 'extra.pem'), ca.cert);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A PGTIOU, or the failure code, for a validation with a callback on `server`. */
  async function validateWith(env: Record<string, string>): Promise<string> {
    const t = await startTestApp({
      env,
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          id: 1,
          name: 'front',
          serviceId: '^https://app\\.example\\.org/.*',
          proxyPolicy: { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern: '^https://127\\.0\\.0\\.1:\\d+/.*' },
        },
      ],
    });
    try {
      const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', FRONT));
      const res = await t.app.inject({
        method: 'GET',
        url: `/cas/serviceValidate?service=${encodeURIComponent(FRONT)}&ticket=${st}&pgtUrl=${encodeURIComponent(`${server.origin}/ok`)}`,
      });
      const body = parser.parse(res.body)['cas:serviceResponse'];
      return body['cas:authenticationSuccess']?.['cas:proxyGrantingTicket'] ?? body['cas:authenticationFailure']['@code'];
    } finally {
      await t.close();
    }
  }

  it('refuses a callback whose CA is configured nowhere: Node trusts only its own store', async () => {
    expect(await validateWith({})).toBe('INVALID_PROXY_CALLBACK');
    expect(server.received).toEqual([]);
  });

  it('trusts a CA given in NODE_EXTRA_CA_CERTS, which an explicit CA list would otherwise drop', async () => {
    expect(await validateWith({ NODE_EXTRA_CA_CERTS: join(dir, 'extra.pem') })).toMatch(/^PGTIOU-/);
    expect(server.received).toHaveLength(1);
  });
});

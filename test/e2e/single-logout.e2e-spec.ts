import { XMLParser } from 'fast-xml-parser';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { Sql } from '../../src/database/sql';
import { SingleLogoutOutbox } from '../../src/tickets/logout/single-logout-outbox';
import { SingleLogoutDelivery } from '../../src/tickets/logout/single-logout.delivery';
import { Browser, executionOf, setCookies, ticketOf } from '../helpers/browser';
import { selfSigned } from '../helpers/certificates';
import { eventually } from '../helpers/eventually';
import { startTestApp, TestApp } from '../helpers/test-app';

interface Captured {
  path: string;
  contentType: string;
  body: string;
}

/** Services that answer back-channel logout requests: 200, 500, or not until released. */
async function captureServer(): Promise<{ port: number; captured: Captured[]; release: () => void; close: () => Promise<void> }> {
  const captured: Captured[] = [];
  const stalled: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      captured.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body });
      if (req.url?.startsWith('/slow')) stalled.push(res);
      else if (req.url?.startsWith('/err')) res.writeHead(500).end();
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    captured,
    release: () => stalled.splice(0).forEach((r) => r.writeHead(200).end()),
    close: () => new Promise((r) => { stalled.splice(0).forEach((x) => x.destroy()); server.close(() => r()); }),
  };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

describe('single logout (back channel, durable outbox)', () => {
  let t: TestApp;
  let cap: Awaited<ReturnType<typeof captureServer>>;
  let base: string;
  const DEAD = 'http://127.0.0.1:9/'; // discard port: nothing listens

  beforeAll(async () => {
    cap = await captureServer();
    base = `http://127.0.0.1:${cap.port}`;
    const svc = (id: number, path: string, extra: Record<string, unknown> = {}) => ({
      '@class': 'org.apereo.cas.services.CasRegisteredService',
      id,
      name: `svc${id}`,
      evaluationOrder: id,
      serviceId: `^http://127\\.0\\.0\\.1:${cap.port}/${path}.*`,
      ...extra,
    });
    t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon,bob::bob-password' },
      services: [
        svc(1, 'a'),
        svc(2, 'b', { logoutUrl: `${base}/b-logout` }),
        svc(3, 'none', { logoutType: 'NONE' }),
        svc(4, 'slow'),
        svc(5, 'err'),
        svc(7, 'front', { logoutType: 'FRONT_CHANNEL', logoutUrl: `${base}/front-logout?app=1` }),
        { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 6, name: 'dead', evaluationOrder: 6, serviceId: '^http://127\\.0\\.0\\.1:9/.*' },
      ],
    });
  });
  afterAll(async () => {
    cap.release();
    await t.close();
    await cap.close();
  });

  const outbox = async (sessionId: string) =>
    (await t.sql.query(`SELECT service, logout_url, status, attempts, last_http_status, reason FROM slo_outbox WHERE session_id = $1 ORDER BY service`, [sessionId])).rows;

  /** The session's outbox rows once the predicate holds on them (re-read with no timer; the jest timeout bounds it). */
  const until = (sessionId: string, ok: (rows: { service: string; status: string }[]) => boolean) => eventually(() => outbox(sessionId), ok);

  it('logout sends one SAML LogoutRequest per service, never waiting for slow or dead ones (70-76, T23)', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const st = async (service: string) => ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(service)}`));
    await st(`${base}/a/page?x=1`);
    const latestA = await st(`${base}/a/page?x=2`);
    const stB = await st(`${base}/b/home`);
    await st(`${base}/none/x`);
    await st(`${base}/slow/x`);
    await st(`${base}/err/x`);
    await st(`${DEAD}x`);
    const { rows } = await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [latestA]);
    const session = rows[0].session_id as string;

    const res = await b.get('/cas/logout');
    expect(res.statusCode).toBe(200);
    // The answer did not wait for the slow service: it holds its request until released below, so
    // no attempt of it can have ended (waiting would have meant its 5 s deadline, then an error).
    expect((await t.sql.query(`SELECT last_error FROM slo_outbox WHERE session_id = $1 AND service LIKE '%/slow/%'`, [session])).rows).toEqual([{ last_error: null }]);
    expect(setCookies(res).find((c) => c.name === 'TGC')?.attributes['max-age']).toBe('0');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [session])).rows[0].n).toBe(0);

    // Queued in the same transaction: one per service URL (query ignored), none for logoutType NONE.
    const queued = await outbox(session);
    expect(queued.map((r) => r.service)).toEqual([`${base}/a/page?x=2`, `${base}/b/home`, `${base}/err/x`, `${base}/slow/x`, `${DEAD}x`]);
    expect(queued.every((r) => r.reason === 'LOGOUT')).toBe(true);
    expect(queued.find((r) => r.service.includes('/b/'))!.logout_url).toBe(`${base}/b-logout`);

    // The slow service holds its request; the others are done meanwhile.
    const rows2 = await until(session, (r) => r.filter((x) => x.status === 'SUCCESS').length === 2 && r.some((x) => x.service.includes('/err/') && x.status === 'PENDING'));
    const byPath = (p: string) => rows2.find((r) => r.service.includes(p))!;
    expect(byPath('/a/').status).toBe('SUCCESS');
    expect(byPath('/b/').status).toBe('SUCCESS');
    expect(byPath('/err/')).toMatchObject({ status: 'PENDING', attempts: 1, last_http_status: 500 });
    expect(byPath('/slow/').status).toBe('SENDING');

    const a = cap.captured.filter((c) => c.path.startsWith('/a/'));
    expect(a).toHaveLength(1);
    expect(a[0].path).toBe('/a/page?x=2');
    expect(a[0].contentType).toBe('application/x-www-form-urlencoded');
    expect(a[0].body.length).toBeLessThan(1024);
    const xml = new URLSearchParams(a[0].body).get('logoutRequest')!;
    expect(xml.startsWith('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"')).toBe(true);
    const req = parser.parse(xml)['samlp:LogoutRequest'];
    expect(req['@ID']).toMatch(/^LR-[A-Za-z0-9]+$/);
    expect(req['@Version']).toBe('2.0');
    expect(req['@IssueInstant']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(req['saml:NameID']['#text']).toBe('casuser');
    expect(req['samlp:SessionIndex']).toBe(latestA);
    // The row stores no XML: the message is built from it when sent (ID, IssueInstant = created_at).
    const rowA = (await t.sql.query(`SELECT id, message, created_at FROM slo_outbox WHERE session_id = $1 AND service LIKE '%/a/%'`, [session])).rows[0];
    expect(rowA.message).toBeNull();
    expect(req['@ID']).toBe(rowA.id);
    expect(req['@IssueInstant']).toBe(new Date(rowA.created_at).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const bReq = cap.captured.find((c) => c.path === '/b-logout')!;
    expect(new URLSearchParams(bReq.body).get('logoutRequest')).toContain(`<samlp:SessionIndex>${stB}</samlp:SessionIndex>`);
    expect(cap.captured.some((c) => c.path.startsWith('/none'))).toBe(false);

    // A failed request is retried after its backoff.
    t.clock.advance(6);
    // attempts counts claims: wait for the second attempt's outcome (recorded after the POST was answered), not its claim.
    await until(session, (r) => r.some((x) => x.service.includes('/err/') && Number((x as unknown as { attempts: number }).attempts) >= 2 && x.status !== 'SENDING'));
    const attempts = cap.captured.filter((c) => c.path.startsWith('/err/'));
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    // A retry sends the same request, byte for byte (same ID and IssueInstant).
    expect(attempts[1].body).toBe(attempts[0].body);
    cap.release();
  }, 20000);

  it('queues nothing when SLO is disabled (cas.slo.disabled)', async () => {
    // No JSON import of its own: the default test services would overwrite this suite's ids 1-5 in
    // the shared table, and the first node, reloading, would match later URLs to them.
    const off = await startTestApp({ databaseUrl: t.config.databaseUrl, env: { CAS_SLO_DISABLED: 'true' }, services: [] });
    try {
      const b = new Browser(off.app);
      await b.login('casuser', 'Mellon', `${base}/a/x`);
      const before = (await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox`)).rows[0].n;
      expect((await b.get('/cas/logout')).statusCode).toBe(200);
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox`)).rows[0].n).toBe(before);
    } finally {
      await off.close();
    }
  });

  it('has the browser tell a FRONT_CHANNEL service, with no server-side POST (77)', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const st = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(`${base}/front/x`)}`));
    const before = cap.captured.length;
    const res = await b.get('/cas/logout');
    const src = /<img src="([^"]+)"/.exec(res.body)![1].replace(/&amp;/g, '&');
    const url = new URL(src);
    expect(`${url.origin}${url.pathname}`).toBe(`${base}/front-logout`);
    expect(url.searchParams.get('app')).toBe('1');
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('logoutRequest')!, 'base64')).toString('utf8');
    expect(xml).toContain(`<samlp:SessionIndex>${st}</samlp:SessionIndex>`);
    expect(res.headers['content-security-policy']).toContain(`img-src ${base}`);
    await t.app.get(SingleLogoutDelivery).kick();
    expect(cap.captured.slice(before).some((c) => c.path.startsWith('/front'))).toBe(false);
  });

  /** Logs in again over the browser's session (renew=true), as `username`; returns the new session id. */
  async function reauthenticate(b: Browser, username: string, password: string, service: string): Promise<string> {
    const form = await b.get(`/cas/login?service=${encodeURIComponent(service)}&renew=true`);
    const st = ticketOf(await b.post('/cas/login', { username, password, execution: executionOf(form.body) }));
    return (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id;
  }

  const sessionOf = async (st: string) => (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [st])).rows[0].session_id as string;

  it('a new login of the same user takes over the services of the session it replaces: none is logged out now, all are at logout', async () => {
    const b = new Browser(t.app);
    const first = await sessionOf(ticketOf(await b.login('casuser', 'Mellon', `${base}/a/renew`)));
    const second = await reauthenticate(b, 'casuser', 'Mellon', `${base}/b/renew`);
    expect(second).not.toBe(first);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE session_id = $1`, [first])).rows[0].n).toBe(0);
    expect(await outbox(first)).toEqual([]);
    const { rows: reached } = await t.sql.query(`SELECT service FROM session_services WHERE session_id = $1 ORDER BY service`, [second]);
    expect(reached.map((r) => r.service)).toEqual([`${base}/a/renew`, `${base}/b/renew`]);

    expect((await b.get('/cas/logout')).statusCode).toBe(200);
    const rows = await until(second, (r) => r.length === 2 && r.every((x) => x.status === 'SUCCESS'));
    expect(rows.map((r) => [r.service, r.reason, r.status])).toEqual([
      [`${base}/a/renew`, 'LOGOUT', 'SUCCESS'],
      [`${base}/b/renew`, 'LOGOUT', 'SUCCESS'],
    ]);
  });

  it("another user's login in the browser ends the previous user's session with single logout", async () => {
    const b = new Browser(t.app);
    const first = await sessionOf(ticketOf(await b.login('casuser', 'Mellon', `${base}/a/switch`)));
    const second = await reauthenticate(b, 'bob', 'bob-password', `${base}/b/switch`);
    const rows = await until(first, (r) => r.length === 1 && r[0].status === 'SUCCESS');
    expect(rows.map((r) => [r.service, r.reason, r.status])).toEqual([[`${base}/a/switch`, 'REPLACED', 'SUCCESS']]);
    const { rows: reached } = await t.sql.query(`SELECT t.principal, s.service FROM session_services s JOIN tickets t ON t.id = s.session_id WHERE s.session_id = $1`, [second]);
    expect(reached).toEqual([{ principal: 'bob', service: `${base}/b/switch` }]);
  });

  it('sends nothing when the browser had no session (78)', async () => {
    const before = (await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox`)).rows[0].n;
    expect((await t.app.inject({ method: 'GET', url: '/cas/logout' })).statusCode).toBe(200);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM slo_outbox`)).rows[0].n).toBe(before);
  });
});

describe('single logout survives the node that queued it', () => {
  it('a request queued by a node that stopped before delivering is delivered once by another node', async () => {
    const cap = await captureServer();
    const services = [
      { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'a', serviceId: `^http://127\\.0\\.0\\.1:${cap.port}/.*` },
    ];
    const nodeA = await startTestApp({ services, env: { CAS_SLO_DISABLED: 'false' } });
    // Node A stops delivering (as if killed right after the commit).
    await nodeA.app.get(SingleLogoutDelivery).onApplicationShutdown();
    const b = new Browser(nodeA.app);
    await b.login('casuser', 'Mellon', `http://127.0.0.1:${cap.port}/app`);
    await b.get(`/cas/login?service=${encodeURIComponent(`http://127.0.0.1:${cap.port}/other`)}`);
    await b.get('/cas/logout');
    const pending = await nodeA.sql.query(`SELECT id, status FROM slo_outbox`);
    expect(pending.rows.length).toBeGreaterThan(0);
    expect(pending.rows.every((r) => r.status === 'PENDING')).toBe(true);
    // One more row as if a node died while sending: claimed, claim expired.
    await nodeA.sql.query(
      `INSERT INTO slo_outbox (id, session_id, ticket_id, principal, service, logout_url, message, reason, status, attempts, next_attempt_at, claimed_until, created_at)
       VALUES ('LR-crashedwhilesending', 'TGT-gone', 'ST-x', 'casuser', 'http://x/', $1, '<x/>', 'LOGOUT', 'SENDING', 1, now(), now() - interval '1 minute', now())`,
      [`http://127.0.0.1:${cap.port}/crashed`],
    );
    const url = nodeA.config.databaseUrl!;
    const nodeB = await startTestApp({ databaseUrl: url, services, env: { CAS_SLO_DISABLED: 'false' } });
    try {
      await nodeB.app.get(SingleLogoutDelivery).kick();
      const { rows } = await nodeB.sql.query(`SELECT id, status, attempts FROM slo_outbox ORDER BY id`);
      expect(rows.every((r) => r.status === 'SUCCESS')).toBe(true);
      expect(cap.captured).toHaveLength(rows.length);
      expect(cap.captured.map((c) => c.path).sort()).toEqual(['/app', '/crashed', '/other'].sort());
      // A row from before messages were built at delivery is sent with the XML it stored.
      expect(new URLSearchParams(cap.captured.find((c) => c.path === '/crashed')!.body).get('logoutRequest')).toBe('<x/>');
      // Further passes send nothing again.
      await nodeB.app.get(SingleLogoutDelivery).kick();
      expect(cap.captured).toHaveLength(rows.length);
    } finally {
      await nodeB.close();
      await nodeA.close();
      await cap.close();
    }
  });
});

/** 150 expired sessions' logout requests to the capture server, as a cleaner batch queues them. */
async function queueBacklog(node: TestApp, port: number, prefix: string): Promise<void> {
  const outbox = node.app.get(SingleLogoutOutbox);
  await node.app.get(Sql).transaction((tx) =>
    outbox.enqueue(tx, 'EXPIRED', Array.from({ length: 150 }, (_, i) => ({
      id: `LR-${prefix}${String(i).padStart(20, '0')}`, sessionId: `TGT-${prefix}-${i}`, ticketId: `ST-${prefix}-${i}`, principal: 'casuser',
      service: `http://127.0.0.1:${port}/app`, logoutUrl: `http://127.0.0.1:${port}/app`, issuedAt: node.clock.now(), channel: 'BACK_CHANNEL' as const,
    }))),
  );
}

describe('single logout delivery of a backlog', () => {
  it('a pass goes on claiming while claims come back full: a backlog goes MAX_INFLIGHT (100) at a time, not one claim (20) per pass', async () => {
    const cap = await captureServer();
    const services = [
      { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'a', serviceId: `^http://127\\.0\\.0\\.1:${cap.port}/.*` },
    ];
    const node = await startTestApp({ services, env: { CAS_SLO_DISABLED: 'false' } });
    try {
      await queueBacklog(node, cap.port, 'backlog');
      // One pass: it claims until it has 100 in flight (the old code claimed 20, the rest waited for the next passes, one a second).
      await node.app.get(SingleLogoutDelivery).kick();
      expect(cap.captured.length).toBeGreaterThanOrEqual(100);
      // The slots its deliveries freed were filled at once: the rest go with no further pass.
      await eventually(async () => (await node.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE status = 'SUCCESS'`)).rows[0].n, (n) => n === 150);
      expect(new Set(cap.captured.map((c) => new URLSearchParams(c.body).get('logoutRequest'))).size).toBe(150);
    } finally {
      await node.close();
      await cap.close();
    }
  });
});

describe('single logout delivery while the cleaner runs', () => {
  it('a backlog is not chased while this node cleans (one claim per pass), and is chased at once when the run ends', async () => {
    const cap = await captureServer();
    const services = [
      { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'a', serviceId: `^http://127\\.0\\.0\\.1:${cap.port}/.*` },
    ];
    const node = await startTestApp({ services, env: { CAS_SLO_DISABLED: 'false' } });
    try {
      const delivery = node.app.get(SingleLogoutDelivery);
      await queueBacklog(node, cap.port, 'held');
      const delivered = async () => (await node.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE status = 'SUCCESS'`)).rows[0].n as number;
      let endRun!: () => void;
      const run = delivery.holdBacklog(() => new Promise<void>((r) => (endRun = r)));
      // A pass while the cleaner runs: one claim (20), its freed slots not refilled. kick()
      // resolves once the deliveries it started are sent and recorded; a chasing pass claims
      // until 100 are in flight and refills as they end, so it resolves with 100 or more
      // delivered. The node's one-second poll may have added one claim meanwhile.
      await delivery.kick();
      const duringRun = await delivered();
      expect(duringRun).toBeGreaterThanOrEqual(20);
      expect(duringRun).toBeLessThanOrEqual(40);
      // The run ends: the rest goes with no further pass.
      endRun();
      await run;
      await eventually(delivered, (n) => n === 150);
    } finally {
      await node.close();
      await cap.close();
    }
  });
});

describe('single logout delivery with every slot taken', () => {
  it('a pass that finds no room (100 requests in flight to a service that does not answer) leaves the next passes free to claim', async () => {
    const cap = await captureServer();
    const services = [
      { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'a', serviceId: `^http://127\\.0\\.0\\.1:${cap.port}/.*` },
    ];
    const node = await startTestApp({ services, env: { CAS_SLO_DISABLED: 'false' } });
    const outbox = node.app.get(SingleLogoutOutbox);
    const delivery = node.app.get(SingleLogoutDelivery);
    const enqueue = (n: number, path: string) =>
      node.app.get(Sql).transaction((tx) =>
        outbox.enqueue(tx, 'EXPIRED', Array.from({ length: n }, (_, i) => ({
          id: `LR-${path}${String(i).padStart(24, '0')}`, sessionId: `TGT-${path}-${i}`, ticketId: `ST-${path}-${i}`, principal: 'casuser',
          service: `http://127.0.0.1:${cap.port}/${path}`, logoutUrl: `http://127.0.0.1:${cap.port}/${path}`, issuedAt: node.clock.now(), channel: 'BACK_CHANNEL' as const,
        }))),
      );
    try {
      // 100 requests held by a service that answers only when released: every slot is taken.
      await enqueue(100, 'slow');
      for (let k = 1; cap.captured.length < 100; k++) {
        void delivery.kick();
        await eventually(async () => cap.captured.length, (n) => n >= Math.min(100, 20 * k));
      }
      // A request queued now, and a pass that finds no room for it.
      await enqueue(1, 'app');
      void delivery.kick();
      cap.release();
      // The held ones answered, their slots free again: the request is delivered (the old code's
      // pass with no room left the node believing a pass was still under way, and it sent nothing more).
      await eventually(async () => (await node.sql.query(`SELECT count(*)::int AS n FROM slo_outbox WHERE status = 'SUCCESS'`)).rows[0].n, (n) => n === 100);
      await eventually(async () => {
        await delivery.kick();
        return cap.captured.filter((c) => c.path === '/app').length;
      }, (n) => n === 1);
    } finally {
      await node.close();
      await cap.close();
    }
  }, 20_000);
});

describe('single logout delivery over the wire', () => {
  it('verifies https certificates, does not follow redirects, and gives up on an answer after 5 s', async () => {
    const hits: string[] = [];
    let stallArrived!: () => void;
    let stallClosed!: () => void;
    const stall = { arrived: new Promise<void>((r) => (stallArrived = r)), closed: new Promise<void>((r) => (stallClosed = r)) };
    const plain = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      if (req.url?.startsWith('/moved')) res.writeHead(302, { location: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/target` }).end();
      else if (req.url?.startsWith('/stall')) {
        // Never answers; says when the request arrived and when the server gave up on it.
        res.on('close', stallClosed);
        stallArrived();
      } else res.writeHead(200).end();
    });
    const tlsHits: string[] = [];
    const tls = createHttpsServer(selfSigned({ ip: ['127.0.0.1'] }), (req, res) => {
      tlsHits.push(req.url ?? '');
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    const p = (plain.address() as AddressInfo).port;
    const q = (tls.address() as AddressInfo).port;
    const t = await startTestApp({
      env: { CAS_SLO_DISABLED: 'false' },
      services: [
        { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'plain', evaluationOrder: 1, serviceId: `^http://127\\.0\\.0\\.1:${p}/.*` },
        { '@class': 'org.apereo.cas.services.CasRegisteredService', id: 2, name: 'tls', evaluationOrder: 2, serviceId: `^https://127\\.0\\.0\\.1:${q}/.*` },
      ],
    });
    try {
      const b = new Browser(t.app);
      await b.login('casuser', 'Mellon', `http://127.0.0.1:${p}/moved`);
      await b.get(`/cas/login?service=${encodeURIComponent(`http://127.0.0.1:${p}/stall`)}`);
      await b.get(`/cas/login?service=${encodeURIComponent(`https://127.0.0.1:${q}/app`)}`);
      const outbox = async () => (await t.sql.query(`SELECT service, status, last_http_status, last_error FROM slo_outbox ORDER BY service`)).rows;
      // The 5 s deadline is a timer: only setTimeout and clearTimeout are faked, so it moves when
      // the test moves it and everything else (I/O, the delivery poll, Date) runs for real.
      jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'] });
      const fakeStart = jest.now();
      await b.get('/cas/logout');
      // The logout's own delivery pass: the stalled request is held, the other two are answered.
      await stall.arrived;
      let rows = await eventually(outbox, (r) => r.length === 3 && r.filter((x) => x.status === 'SENDING').length === 1);
      expect(rows.find((r) => r.status === 'SENDING').service).toContain('/stall');
      // The first timer due is the request's deadline, 5 s after it was sent; firing it ends the request.
      jest.advanceTimersToNextTimer();
      expect(jest.now() - fakeStart).toBe(5000);
      await stall.closed;
      rows = await eventually(outbox, (r) => r.every((x) => x.status !== 'SENDING'));
      const of = (part: string) => rows.find((r) => r.service.includes(part));
      // A redirect is an answer (CAS counts 302 as delivered); its target is never requested.
      expect(of('/moved')).toMatchObject({ status: 'SUCCESS', last_http_status: 302 });
      expect(hits.filter((h) => h.startsWith('/target'))).toEqual([]);
      // A certificate no CA vouches for: nothing reaches the service, the error names the cause.
      expect(of('https://')).toMatchObject({ status: 'PENDING', last_http_status: null });
      expect(of('https://').last_error).toMatch(/SELF_SIGNED|CERT/);
      expect(tlsHits).toEqual([]);
      // The stalled service: one deadline of 5 s for the whole request.
      expect(of('/stall')).toMatchObject({ status: 'PENDING', last_error: 'timeout after 5 s' });
    } finally {
      jest.useRealTimers();
      await t.close();
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
      await new Promise((r) => tls.close(r));
    }
  });
});

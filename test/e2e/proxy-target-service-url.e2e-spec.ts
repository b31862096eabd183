import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, ticketOf } from '../helpers/browser';
import { CallbackServer, startCallbackServer } from '../helpers/callback-server';
import { createAuthority } from '../helpers/certificates';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Item 7 at /proxy: a targetService that a permissive registry pattern matches but that does not
 * parse as a URL gets no proxy ticket (UNAUTHORIZED_SERVICE), as /login refuses such a service.
 */
const FRONT = 'https://front.example.org/app';

describe('/proxy with a targetService that does not parse', () => {
  const ca = createAuthority();
  let callback: CallbackServer;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    callback = await startCallbackServer({ tls: ca.issue({ ip: ['127.0.0.1'] }) });
    dir = mkdtempSync(join(tmpdir(), 'cas-proxy-url-'));
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    t = await startTestApp({
      env: { PROXY_CALLBACK_CA_FILE: join(dir, 'ca.pem') },
      services: [
        {
          '@class': 'org.apereo.cas.services.CasRegisteredService',
          serviceId: '^https://front\\.example\\.org/.*',
          name: 'Front (proxy)',
          id: 1,
          evaluationOrder: 1,
          proxyPolicy: { '@class': 'org.apereo.cas.services.RegexMatchingRegisteredServiceProxyPolicy', pattern: '^https://127\\.0\\.0\\.1:\\d+/.*' },
        },
        // As permissive as the development registry: any https URL.
        { '@class': 'org.apereo.cas.services.CasRegisteredService', serviceId: '^https://.*', name: 'Any https', id: 2, evaluationOrder: 2 },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
    await callback?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pts = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'PT'`)).rows[0].n as number;
  const proxy = (pgt: string, targetService: string) =>
    t.app.inject({ method: 'GET', url: `/cas/proxy?pgt=${encodeURIComponent(pgt)}&targetService=${encodeURIComponent(targetService)}` });

  it('answers UNAUTHORIZED_SERVICE and grants no PT; a parseable target under the same pattern gets one', async () => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', FRONT));
    const pgtUrl = `${callback.origin}/ok/cb`;
    const validated = await t.app.inject({
      method: 'GET',
      url: `/cas/serviceValidate?service=${encodeURIComponent(FRONT)}&ticket=${st}&pgtUrl=${encodeURIComponent(pgtUrl)}`,
    });
    const iou = /<cas:proxyGrantingTicket>([^<]+)</.exec(validated.body)?.[1];
    expect(iou).toMatch(/^PGTIOU-/);
    const delivered = callback.received.map((u) => new URL(u, 'https://x')).find((u) => u.searchParams.get('pgtIou') === iou);
    const pgt = delivered!.searchParams.get('pgtId')!;

    const before = await pts();
    for (const target of ['https://[x]/', 'https://%zz/', 'https://a:b:c/']) {
      const res = await proxy(pgt, target);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<cas:proxyFailure code="UNAUTHORIZED_SERVICE">');
      expect(res.body).not.toContain('PT-');
    }
    expect(await pts()).toBe(before);
    const ok = await proxy(pgt, 'https://backend.example.net/api');
    expect(ok.body).toMatch(/<cas:proxyTicket>PT-[A-Za-z0-9]+<\/cas:proxyTicket>/);
    expect(await pts()).toBe(before + 1);
  });
});

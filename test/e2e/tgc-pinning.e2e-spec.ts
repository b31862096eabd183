import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const SSO = `/cas/login?service=${encodeURIComponent(APP)}`;
const isForm = (body: string) => body.includes('name="password"');
const key = (bytes: number) => randomBytes(bytes).toString('base64url');

/** The same cookie jar presented by another client. */
function replay(from: Browser, app: TestApp['app'], headers: Record<string, string> = {}): Browser {
  const other = new Browser(app, { ...from.headers, ...headers });
  from.cookies.forEach((v, k) => other.cookies.set(k, v));
  return other;
}

describe('TGC pinning (cas.tgc.pin-to-session)', () => {
  let t: TestApp;
  const stCount = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'ST'`)).rows[0].n as number;

  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN: '10\\.9\\.\\d+\\.\\d+' } });
  });
  afterAll(() => t.close());

  it('accepts the cookie from the client it was issued to', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    expect((await b.get(SSO)).statusCode).toBe(302);
  });

  it('ignores the cookie from another User-Agent, and logs it without the cookie value', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const before = await stCount();
    const res = await replay(b, t.app, { 'user-agent': 'curl/8.0' }).get(SSO);
    expect(res.statusCode).toBe(200);
    expect(isForm(res.body)).toBe(true);
    expect(await stCount()).toBe(before);
    const logged = warn.mock.calls.map((c) => String(c[0])).join('\n');
    expect(logged).toContain('presented by another User-Agent');
    expect(logged).not.toContain(b.cookies.get('TGC'));
    warn.mockRestore();
    // The session itself is intact for its own browser.
    expect((await b.get(SSO)).statusCode).toBe(302);
  });

  it('ignores the cookie from another IP address unless the allowed pattern matches it', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const elsewhere = await replay(b, t.app).request({ method: 'GET', url: SSO, remoteAddress: '192.0.2.44' });
    expect(isForm(elsewhere.body)).toBe(true);
    const allowed = await replay(b, t.app).request({ method: 'GET', url: SSO, remoteAddress: '10.9.0.7' });
    expect(allowed.statusCode).toBe(302);
  });
});

describe('trusted proxies (X-Forwarded-For)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
  });
  afterAll(() => t.close());

  it('pins to the forwarded client address when the peer is a trusted proxy', async () => {
    const b = new Browser(t.app, { 'user-agent': 'ua', 'x-forwarded-for': '203.0.113.5' });
    await b.login('casuser', 'Mellon');
    expect((await b.get(SSO)).statusCode).toBe(302);
    const moved = await replay(b, t.app, { 'x-forwarded-for': '203.0.113.6' }).get(SSO);
    expect(isForm(moved.body)).toBe(true);
  });

  it('ignores X-Forwarded-For from a peer that is not trusted', async () => {
    const b = new Browser(t.app, { 'user-agent': 'ua' });
    const form = await b.request({ method: 'GET', url: '/cas/login', remoteAddress: '198.51.100.1' });
    expect(form.statusCode).toBe(200);
    await b.login('casuser', 'Mellon');
    // Issued to 127.0.0.1 (inject's default peer); a spoofed header from an untrusted peer does not make it match.
    const spoofed = await replay(b, t.app, { 'x-forwarded-for': '127.0.0.1' }).request({ method: 'GET', url: SSO, remoteAddress: '198.51.100.1' });
    expect(isForm(spoofed.body)).toBe(true);
  });
});

describe('pinning switched off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_TGC_PIN_TO_SESSION: 'false' } });
  });
  afterAll(() => t.close());

  it('accepts the cookie from another User-Agent and IP', async () => {
    const b = new Browser(t.app);
    await b.login('casuser', 'Mellon');
    const res = await replay(b, t.app, { 'user-agent': 'other' }).request({ method: 'GET', url: SSO, remoteAddress: '192.0.2.9' });
    expect(res.statusCode).toBe(302);
  });
});

describe('TGC key rotation', () => {
  it('new keys sign new cookies, old keys still verify until they are removed', async () => {
    const [oldEnc, oldSig, newEnc, newSig] = [key(32), key(64), key(32), key(64)];
    const first = await startTestApp({ env: { CAS_TGC_CRYPTO_ENCRYPTION_KEY: oldEnc, CAS_TGC_CRYPTO_SIGNING_KEY: oldSig } });
    const url = first.config.databaseUrl!;
    const rotated = await startTestApp({
      databaseUrl: url,
      env: { CAS_TGC_CRYPTO_ENCRYPTION_KEY: `${newEnc},${oldEnc}`, CAS_TGC_CRYPTO_SIGNING_KEY: `${newSig},${oldSig}` },
    });
    const retired = await startTestApp({ databaseUrl: url, env: { CAS_TGC_CRYPTO_ENCRYPTION_KEY: newEnc, CAS_TGC_CRYPTO_SIGNING_KEY: newSig } });
    try {
      const b = new Browser(first.app);
      await b.login('casuser', 'Mellon');
      // A node with the rotated list accepts the old cookie.
      expect((await replay(b, rotated.app).get(SSO)).statusCode).toBe(302);
      // Its own new cookies verify on a node that has only the new keys...
      const c = new Browser(rotated.app);
      await c.login('casuser', 'Mellon');
      expect((await replay(c, retired.app).get(SSO)).statusCode).toBe(302);
      // ...which no longer accepts cookies made with the retired keys.
      expect(isForm((await replay(b, retired.app).get(SSO)).body)).toBe(true);
    } finally {
      await retired.close();
      await rotated.close();
      await first.close();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { Browser, executionOf, setCookies } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * Item 6, login CSRF: the attacker prepares a login form for their own account and has the
 * victim's browser post it, so the victim works in the attacker's account. The form's execution
 * is bound to the browser key cookie; these tests show the key must be one this server issued,
 * and under https one that a sibling host cannot plant (`__Host-`).
 */
const alnum32 = () => randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 32);
const tgts = async (t: TestApp) => (await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT'`)).rows[0].n as number;

describe('CASLOGIN browser key (http prefix)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('refuses a key the attacker chose: the victim posting the attacker’s form is not logged in', async () => {
    const planted = alnum32();
    // The attacker fetches the form presenting the key they will plant in the victim's browser.
    const attacker = new Browser(t.app);
    attacker.cookies.set('CASLOGIN', planted);
    const form = await attacker.get('/cas/login');
    const execution = executionOf(form.body);

    const before = await tgts(t);
    const victim = new Browser(t.app);
    victim.cookies.set('CASLOGIN', planted);
    const res = await victim.post('/cas/login', { username: 'casuser', password: 'Mellon', execution });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Your login form has expired or was already used.');
    expect(setCookies(res).some((c) => c.name === 'TGC')).toBe(false);
    expect(await tgts(t)).toBe(before);
    // The server did not adopt the key it never issued: it set its own on the attacker's form.
    const issued = setCookies(form).find((c) => c.name === 'CASLOGIN');
    expect(issued?.value).toBeDefined();
    expect(issued!.value).not.toBe(planted);
  });

  it('replaces a key of the issued shape whose signature is not the server’s', async () => {
    const b = new Browser(t.app);
    await b.get('/cas/login');
    const real = b.cookies.get('CASLOGIN')!;
    const [id, mac] = real.split('.');
    expect(id).toMatch(/^[A-Za-z0-9]{32}$/);
    for (const forged of [`${alnum32()}.${mac}`, `${id}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`, `${id}.`, id]) {
      const c = new Browser(t.app);
      c.cookies.set('CASLOGIN', forged);
      const res = await c.get('/cas/login');
      const set = setCookies(res).find((x) => x.name === 'CASLOGIN');
      expect(set?.value).toBeDefined();
      expect(set!.value).not.toBe(forged);
    }
    // The issued key is kept, and its form logs in.
    const again = await b.get('/cas/login');
    expect(setCookies(again).some((c) => c.name === 'CASLOGIN')).toBe(false);
    expect((await b.post('/cas/login', { username: 'casuser', password: 'Mellon', execution: executionOf(again.body) })).statusCode).toBe(200);
  });

  it('is a browser-session cookie on the context path without the prefix under http', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/login' });
    const c = setCookies(res).find((x) => x.name === 'CASLOGIN')!;
    expect(c.attributes).toMatchObject({ path: '/cas', httponly: true, samesite: 'Lax' });
    expect(c.attributes.secure).toBeUndefined();
    expect(c.attributes['max-age']).toBeUndefined();
  });
});

describe('CASLOGIN browser key (https prefix)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_SERVER_PREFIX: 'https://cas.example.org/cas' } });
  });
  afterAll(() => t.close());

  it('is __Host-CASLOGIN: Path=/, Secure, no Domain', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/login' });
    const cookies = setCookies(res);
    expect(cookies.some((c) => c.name === 'CASLOGIN')).toBe(false);
    const c = cookies.find((x) => x.name === '__Host-CASLOGIN')!;
    expect(c).toBeDefined();
    expect(c.attributes).toMatchObject({ path: '/', secure: true, httponly: true, samesite: 'Lax' });
    expect(c.attributes.domain).toBeUndefined();
  });

  it('ignores a CASLOGIN cookie tossed by a sibling host, even with a value this server issued', async () => {
    // The attacker fetches a form for their account and gets a genuine key with it...
    const attacker = new Browser(t.app);
    const execution = executionOf((await attacker.get('/cas/login')).body);
    const genuine = attacker.cookies.get('__Host-CASLOGIN') ?? attacker.cookies.get('CASLOGIN');
    expect(genuine).toBeDefined();
    // ...but a sibling host can only set a cookie without the __Host- prefix in the victim's browser.
    const before = await tgts(t);
    const victim = new Browser(t.app);
    victim.cookies.set('CASLOGIN', genuine!);
    const res = await victim.post('/cas/login', { username: 'casuser', password: 'Mellon', execution });
    expect(res.statusCode).toBe(403);
    expect(await tgts(t)).toBe(before);

    // The browser holding the real __Host- cookie logs in.
    const user = new Browser(t.app);
    expect((await user.login('casuser', 'Mellon')).statusCode).toBe(200);
    expect(user.cookies.get('__Host-CASLOGIN')).toBeDefined();
  });
});

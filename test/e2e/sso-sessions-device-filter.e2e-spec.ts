import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };

/**
 * `device` among the session filters (sso-session-filters.ts, shared by the API, the CLI and the
 * console): a device type, or a device summary group (`browser / OS / type`), so that each group
 * of `summary?groupBy=device` leads to its sessions.
 */
describe('/actuator/ssoSessions?device=', () => {
  let t: TestApp;
  const ids: Record<string, string> = {};

  async function login(name: string, user: string, device: [string | null, string | null, string | null]) {
    expect((await new Browser(t.app).login(user, 'Secret1')).statusCode).toBe(200);
    const id = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' AND principal = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, [user])).rows[0].id;
    await t.sql.query(`UPDATE tickets SET device_browser = $2, device_os = $3, device_type = $4 WHERE id = $1`, [id, ...device]);
    ids[name] = id;
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: { CAS_ADMIN_TOKENS: 'ops:0123456789abcdefghijklmnopqrstuv', AUTHN_THROTTLE_ENABLED: 'false', CAS_AUTHN_ACCEPT_USERS: 'alice::Secret1,bob::Secret1,carol::Secret1' },
    });
    await login('firefox', 'alice', ['Firefox 133', 'Linux', 'desktop']);
    await login('phone', 'bob', ['Safari 18', 'iOS 18', 'mobile']);
    await login('unknown', 'carol', [null, null, null]);
  });
  afterAll(() => t.close());

  const listed = async (device: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/cas/actuator/ssoSessions?type=DIRECT&device=${encodeURIComponent(device)}`, headers: BEARER });
    expect(res.statusCode).toBe(200);
    return res.json().activeSsoSessions.map((s: { ticket_granting_ticket: string }) => s.ticket_granting_ticket).sort();
  };

  it('finds the sessions of a device type, any case', async () => {
    expect(await listed('mobile')).toEqual([ids.phone]);
    expect(await listed('Desktop')).toEqual([ids.firefox]);
    expect(await listed('tablet')).toEqual([]);
  });

  it("finds each device summary group's sessions by its key, '?' for an unknown part", async () => {
    const summary = await t.app.inject({ method: 'GET', url: '/cas/actuator/ssoSessions/summary?groupBy=device', headers: BEARER });
    const keys: string[] = summary.json().groups.map((g: { key: string }) => g.key);
    expect(keys.sort()).toEqual(['? / ? / ?', 'Firefox 133 / Linux / desktop', 'Safari 18 / iOS 18 / mobile']);
    expect(await listed('? / ? / ?')).toEqual([ids.unknown]);
    expect(await listed('Firefox 133 / Linux / desktop')).toEqual([ids.firefox]);
    expect(await listed('Firefox 133 / Linux / mobile')).toEqual([]);
  });

  it('refuses anything else with a 400 that says what it takes', async () => {
    for (const bad of ['phone', 'Firefox / Linux', ' / Linux / desktop']) {
      const res = await t.app.inject({ method: 'GET', url: `/cas/actuator/ssoSessions?device=${encodeURIComponent(bad)}`, headers: BEARER });
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json())).toContain("'device' must be a device type");
    }
  });
});

import { startTestApp, TestApp } from '../helpers/test-app';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const SECRET = '0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: `Bearer ${SECRET}` };

interface Row {
  actor: string;
  action: string;
  target: string;
  status: number;
}

/** The audit log of the admin API: every admin request however spelled, and no secret in it. */
describe('admin audit log', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN } });
  });
  afterAll(() => t.close());

  /** Sends one request and answers its status and the audit rows it added. */
  async function audited(url: string, headers: Record<string, string> = {}, method: 'GET' | 'DELETE' = 'GET') {
    const { rows: before } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);
    const res = await t.app.inject({ method, url, headers });
    const { rows } = await t.sql.query<Row>(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [before[0].id]);
    return { status: res.statusCode, rows };
  }

  it("records /cas/%61ctuator/... (the router decodes it to the admin route), refused and accepted", async () => {
    const refused = await audited('/cas/%61ctuator/ssoSessions');
    expect(refused.status).toBe(401);
    expect(refused.rows).toEqual([{ actor: 'anonymous', action: 'GET', target: '/%61ctuator/ssoSessions', status: 401 }]);
    const accepted = await audited('/cas/%61ctuator/ssoSessions', BEARER);
    expect(accepted.status).toBe(200);
    expect(accepted.rows).toEqual([{ actor: 'ops', action: 'GET', target: '/%61ctuator/ssoSessions', status: 200 }]);
    const deleted = await audited('/cas/%61ctuator/ssoSessions/TGT-none', BEARER, 'DELETE');
    expect(deleted.status).toBe(404);
    expect(deleted.rows).toEqual([{ actor: 'ops', action: 'DELETE', target: '/%61ctuator/ssoSessions/TGT-none', status: 404 }]);
  });

  it('records every other spelling of an admin URL, whether a route matched it or not', async () => {
    for (const url of [
      '/cas/actuator/%73soSessions',
      '/cas/%2561ctuator/ssoSessions',
      '/cas//actuator/ssoSessions',
      '/cas/actuator//ssoSessions',
      '/cas/actuator/ssoSessions/',
      '/cas/ACTUATOR/ssoSessions',
      '/cas/actuator/nothing-here',
    ]) {
      for (const headers of [{}, BEARER]) {
        const { status, rows } = await audited(url, headers);
        expect({ url, rows }).toEqual({ url, rows: [expect.objectContaining({ action: 'GET', target: url.slice('/cas'.length), status })] });
      }
    }
  });

  it('never records health checks', async () => {
    expect((await audited('/cas/actuator/health')).rows).toEqual([]);
  });

  it('stores secret query values as a fingerprint (a password as ***), never as given, nor the Authorization header', async () => {
    const { status, rows } = await audited(
      '/cas/actuator/sso?tgc=tgc-secret-value&token=secret&ACCESS_TOKEN=at-secret&%70assword=hunter2&ticket=ST-secret&type=x',
      BEARER,
    );
    expect(status).toBe(400);
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]);
    for (const secret of ['tgc-secret-value', '=secret', 'at-secret', 'hunter2', 'ST-secret', SECRET]) expect(stored).not.toContain(secret);
    // sha256("secret") begins 2bb80d53; the other parameters stay as written.
    expect(rows[0].target).toBe(
      '/actuator/sso?tgc=sha256:' + sha8('tgc-secret-value') + '&token=sha256:2bb80d53&ACCESS_TOKEN=sha256:' + sha8('at-secret') + '&%70assword=***&ticket=sha256:' + sha8('ST-secret') + '&type=x',
    );
    // The audit log's own API shows the same.
    const page = await t.app.inject({ method: 'GET', url: '/cas/actuator/auditLog?count=2', headers: BEARER });
    expect(page.body).not.toContain('hunter2');
    expect(page.body).not.toContain('tgc-secret-value');
  });
});

function sha8(s: string): string {
  return require('node:crypto').createHash('sha256').update(s).digest('hex').slice(0, 8);
}

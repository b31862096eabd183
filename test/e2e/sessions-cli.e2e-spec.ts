import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';

// Test service 5 (loopback) where nothing listens: single logout is queued, never leaves the machine.
const LOCAL = 'http://127.0.0.1:9/app';

/** `npm run sessions` as built (tsc), against the test app's database, with the app serving logins beside it. */
describe('npm run sessions (the compiled command)', () => {
  let t: TestApp;
  let out: string;
  const cli = (args: string[], input = '') =>
    spawnSync(process.execPath, [join(out, 'src/cli/sessions.js'), ...args], {
      input,
      encoding: 'utf8',
      // Built outside the checkout: NODE_PATH lets it find the project's node_modules.
      env: {
        ...process.env,
        NODE_PATH: join(process.cwd(), 'node_modules'),
        DATABASE_URL: t.config.databaseUrl,
        CAS_SERVICE_REGISTRY_JSON_LOCATION: t.config.serviceRegistryLocation,
        CAS_SLO_DISABLED: 'false',
      },
    });
  const tgts: Record<string, string> = {};

  async function login(name: string, user: string, ip: string) {
    const res = await new Browser(t.app).login(user, 'Secret1', LOCAL);
    const tgt = (await t.sql.query(`SELECT session_id FROM tickets WHERE id = $1`, [ticketOf(res)])).rows[0].session_id;
    await t.sql.query(`UPDATE tickets SET client_ip = $2, device_browser = 'Firefox 133', device_os = 'Linux', device_type = 'desktop' WHERE id = $1`, [tgt, ip]);
    tgts[name] = tgt;
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: { AUTHN_THROTTLE_ENABLED: 'false', CAS_SLO_DISABLED: 'false', CAS_AUTHN_ACCEPT_USERS: ['alice', 'alicia', 'bob'].map((u) => `${u}::Secret1`).join(',') },
    });
    out = mkdtempSync(join(tmpdir(), 'cas-cli-'));
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo')]);
    await login('a1', 'alice', '10.0.0.5');
    await login('a2', 'alice', '10.0.1.6');
    await login('c1', 'alicia', '192.168.1.1');
    await login('b1', 'bob', '2001:db8::1');
  }, 180_000);
  afterAll(async () => {
    await t.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('count and list with the API filters: table and --json', () => {
    expect(cli(['count']).stdout).toBe('4\n');
    expect(cli(['count', '--ip', '10.0.0.0/8']).stdout).toBe('2\n');
    expect(cli(['count', '--user', 'ALICE']).stdout).toBe('2\n');
    expect(cli(['count', '--user', 'ali*']).stdout).toBe('3\n');
    expect(cli(['count', '--user', 'ali*', '--since', '1h', '--service', '5', '--mfa', 'false', '--remember-me', 'false']).stdout).toBe('3\n');
    expect(cli(['count', '--ip', '2001:db8::/32', '--idle-since', '1h']).stdout).toBe('0\n');

    const table = cli(['list', '--ip', '10.0.0.0/8']);
    expect(table.status).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SESSION +USER +CREATED +LAST USED +IP +DEVICE +SERVICES$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/).slice(0, 2))).toEqual([[tgts.a1, 'alice'], [tgts.a2, 'alice']].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
    expect(lines[1]).toContain('Firefox 133 / Linux / desktop');

    const json = JSON.parse(cli(['list', '--user', 'bob', '--json']).stdout);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ authenticated_principal: 'bob', ticket_granting_ticket: tgts.b1 });
    expect(Object.values(json[0].authenticated_services)).toEqual([expect.objectContaining({ id: LOCAL })]);
    expect(cli(['list', '--limit', '1']).stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(cli(['list', '--user', 'nobody']).stdout).toBe('no session matches\n');
  });

  it('show: one session, or exit 1 when there is none', () => {
    const show = cli(['show', tgts.c1]);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(/^session +TGT-/);
    expect(show.stdout).toContain('192.168.1.1');
    expect(show.stdout).toContain(`service      ${LOCAL}`);
    const missing = cli(['show', 'TGT-nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('error: no live session TGT-nope\n');
  });

  it('refuses bad input with exit 2 and a message naming the flag', () => {
    const cases: [string[], string][] = [
      [['list', '--ip', '10.0.0.0/33'], 'error: --ip: must be an IPv4 or IPv6 address or a CIDR range'],
      [['count', '--since', 'soon'], 'error: --since: must be a time ago'],
      [['count', '--mfa', 'maybe?'], 'error: --mfa:'],
      [['count', '--type', 'SOME'], 'error: --type must be DIRECT, PROXIED or ALL'],
      [['list', '--frobnicate'], "error: unknown argument '--frobnicate'"],
      [['list', '--ip'], 'error: --ip needs a value'],
      [['show'], 'error: show needs a session id'],
      [['kill'], 'error: kill needs a session id or at least one filter'],
      [['kill', tgts.a1, '--user', 'alice'], 'error: give a session id or filters, not both'],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect([args, r.status, r.stderr]).toEqual([args, 2, expect.stringContaining(message)]);
    }
    expect(cli([]).stderr).toContain('usage: npm run sessions');
  });

  it('kill asks first: no answer or "n" ends nothing', async () => {
    for (const input of ['', 'n\n']) {
      const r = cli(['kill', '--user', 'alicia'], input);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('End 1 session(s) through the logout pipeline');
      expect(r.stderr).toContain('nothing ended');
    }
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE id = $1`, [tgts.c1])).rows[0].n).toBe(1);
  });

  it('kill ends the matching sessions through the logout pipeline: reason ADMIN, single logout queued in the outbox', async () => {
    const r = cli(['kill', '--ip', '10.0.0.0/8'], 'y\n');
    expect([r.status, r.stdout]).toEqual([0, '2 session(s) ended; single logout queued for the services they reached\n']);
    const { rows } = await t.sql.query(`SELECT session_id, service, reason FROM slo_outbox ORDER BY session_id`);
    expect(rows).toEqual([tgts.a1, tgts.a2].sort().map((s) => ({ session_id: s, service: LOCAL, reason: 'ADMIN' })));
    const left = (await t.sql.query(`SELECT id FROM tickets WHERE type = 'TGT' ORDER BY id`)).rows.map((x) => x.id);
    expect(left).toEqual([tgts.c1, tgts.b1].sort());
    // Their history rows say who ended them: the command line, not an admin token.
    const history = await t.sql.query(`SELECT session_id, reason, ended_by FROM session_history ORDER BY session_id`);
    expect(history.rows).toEqual([tgts.a1, tgts.a2].sort().map((s) => ({ session_id: s, reason: 'ADMIN', ended_by: 'cli' })));
    // One session by its id, --yes: no question.
    const one = cli(['kill', tgts.b1, '--yes']);
    expect([one.status, one.stdout, one.stderr]).toEqual([0, '1 session(s) ended; single logout queued for the services they reached\n', '']);
    expect(cli(['kill', tgts.b1, '--yes']).stdout).toBe('no session matches: nothing ended\n');
  });

  it('kill of thousands shows progress and ends every one', async () => {
    await t.sql.query(`
      INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at, idle_timeout_seconds, client_ip)
      SELECT 'TGT-bulk-' || g, 'TGT', 'TGT-bulk-' || g, 'bulk', 'bulk', now(), now(), now() + interval '2 hours', now() + interval '8 hours', 7200, '10.9.0.1'
        FROM generate_series(1, 1001) g`);
    const r = cli(['kill', '--user', 'bulk', '--yes']);
    expect(r.status).toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toEqual(['ended 500 of 1001', 'ended 1000 of 1001', 'ended 1001 of 1001']);
    expect(r.stdout).toBe('1001 session(s) ended; single logout queued for the services they reached\n');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE principal = 'bulk'`)).rows[0].n).toBe(0);
    expect(cli(['count']).stdout).toBe('1\n');
  }, 120_000);
});

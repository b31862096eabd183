import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsersService } from '../../src/auth/users.service';
import { Browser, setCookies, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

// Small argon2 memory keeps the suite quick; the production default is OWASP's m=19 MiB, t=2.
const FAST_ARGON2 = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };

describe('users table', () => {
  let t: TestApp;
  let users: UsersService;
  beforeAll(async () => {
    t = await startTestApp({ env: FAST_ARGON2 });
    users = t.app.get(UsersService);
    await users.add('Alice', 'correct horse battery', { mail: ['alice@example.org'] });
  });
  afterAll(() => t.close());

  it('stores an argon2id hash, never the password', async () => {
    const { rows } = await t.sql.query(`SELECT password_hash FROM users WHERE username = 'Alice'`);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
    expect(rows[0].password_hash).not.toContain('correct horse');
  });

  it('logs a table user in, by name ignoring case, with their attributes', async () => {
    const res = await new Browser(t.app).login('alice', 'correct horse battery', APP);
    expect(res.statusCode).toBe(302);
    const v = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&service=${encodeURIComponent(APP)}&ticket=${ticketOf(res)}` });
    const success = v.json().serviceResponse.authenticationSuccess;
    expect(success.user).toBe('Alice');
    expect(success.attributes.mail).toEqual(['alice@example.org']);
  });

  it('refuses a second account whose name differs only in case', async () => {
    await expect(users.add('ALICE', 'another password')).rejects.toThrow(/already exists/);
  });

  it('checks the table before the static list', async () => {
    await users.add('casuser', 'table password 1');
    expect((await new Browser(t.app).login('casuser', 'Mellon', APP)).statusCode).toBe(401);
    expect((await new Browser(t.app).login('casuser', 'table password 1', APP)).statusCode).toBe(302);
  });

  it('gives unknown user, wrong password and a disabled account with a wrong password the same answer; the right one shows the disabled page', async () => {
    await users.add('bob', 'bob password 1');
    const unknown = await new Browser(t.app).login('nobody', 'whatever', APP);
    const wrong = await new Browser(t.app).login('bob', 'wrong password', APP);
    await users.disable('bob');
    const disabledWrong = await new Browser(t.app).login('bob', 'wrong password', APP);
    const disabled = await new Browser(t.app).login('bob', 'bob password 1', APP);
    for (const res of [unknown, wrong, disabledWrong, disabled]) {
      expect(res.statusCode).toBe(401);
      // Every Set-Cookie line, parsed: a header holding several cookies is an array, which a
      // string matcher never matched, so a TGC among other cookies went unseen.
      expect(setCookies(res).map((c) => c.name)).not.toContain(t.config.tgc.name);
    }
    for (const res of [unknown, wrong, disabledWrong]) {
      expect(res.body).toContain('Invalid credentials.');
      expect(res.body).not.toContain('disabled');
    }
    // CAS's QueryDatabaseAuthenticationHandler: AccountDisabledException once the password is right.
    expect(disabled.body).toContain('This account has been disabled.');
    expect(disabled.body).not.toContain('Invalid credentials.');
  });

  it('ends every session of an account when it is disabled', async () => {
    await users.add('carol', 'carol password 1');
    const a = new Browser(t.app);
    const b = new Browser(t.app);
    await a.login('carol', 'carol password 1', APP);
    await b.login('carol', 'carol password 1');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE type = 'TGT' AND principal = 'carol'`)).rows[0].n).toBe(2);
    expect(await users.disable('carol')).toBe(2);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM tickets WHERE principal = 'carol'`)).rows[0].n).toBe(0);
    const sso = await a.get(`/cas/login?service=${encodeURIComponent(APP)}`);
    expect(sso.statusCode).toBe(200);
    expect(sso.body).toContain('name="password"');
  });

  it('rejects short passwords and bad usernames with a clear message', async () => {
    await expect(users.add('dave', 'short')).rejects.toThrow(/at least 8 characters/);
    await expect(users.add('has space', 'long enough pw')).rejects.toThrow(/username/);
    // Unassigned today: a later Unicode version could give it a case mapping, and the name another key.
    await expect(users.add('al\u{50000}ice', 'long enough pw')).rejects.toThrow(/unassigned/);
    await expect(users.setPassword('nobody', 'long enough pw')).rejects.toThrow(/no user 'nobody'/);
  });
});

describe('npm run users (the compiled command)', () => {
  let t: TestApp;
  let out: string;
  const cli = (args: string[], input = '') =>
    spawnSync(process.execPath, [join(out, 'src/cli/users.js'), ...args], {
      input,
      encoding: 'utf8',
      // Built outside the checkout: NODE_PATH lets it find the project's node_modules.
      env: { ...process.env, NODE_PATH: join(process.cwd(), 'node_modules'), DATABASE_URL: t.config.databaseUrl, ...FAST_ARGON2, CAS_SERVICE_REGISTRY_JSON_LOCATION: t.config.serviceRegistryLocation },
    });

  beforeAll(async () => {
    t = await startTestApp({ env: { ...FAST_ARGON2, AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '3' } });
    out = mkdtempSync(join(tmpdir(), 'cas-cli-'));
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo')]);
  }, 120_000);
  afterAll(async () => {
    await t.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('adds a user with the password from stdin, lists, disables; the user can log in until disabled', async () => {
    const add = cli(['add', 'erin', '--attributes', '{"mail":"erin@example.org"}'], 'erin password 1\n');
    expect(add.stderr).toBe('');
    expect(add.stdout).toContain("user 'erin' added");
    expect(add.status).toBe(0);
    expect((await new Browser(t.app).login('erin', 'erin password 1', APP)).statusCode).toBe(302);

    const list = cli(['list']);
    expect(list.stdout).toContain('erin\tenabled\t{"mail":["erin@example.org"]}');

    const disable = cli(['disable', 'erin']);
    expect(disable.stdout).toContain("user 'erin' disabled, 1 SSO session(s) ended");
    expect((await new Browser(t.app).login('erin', 'erin password 1', APP)).statusCode).toBe(401);
  });

  it('unthrottle lifts a lockout: the next correct login succeeds', async () => {
    expect(cli(['add', 'gina'], 'gina password 1\n').status).toBe(0);
    for (let i = 0; i < 3; i++) expect((await new Browser(t.app).login('gina', 'wrong password', APP)).statusCode).toBe(401);
    expect((await new Browser(t.app).login('gina', 'gina password 1', APP)).statusCode).toBe(429);
    const unthrottle = cli(['unthrottle', 'GINA']);
    expect(unthrottle.stderr).toBe('');
    expect(unthrottle.stdout).toBe("user 'GINA': 1 throttle counter(s) cleared\n");
    expect(unthrottle.status).toBe(0);
    expect((await new Browser(t.app).login('gina', 'gina password 1', APP)).statusCode).toBe(302);
    expect(cli(['unthrottle']).status).toBe(2);
  });

  it('answers bad use with a message and a non-zero status, never a stack trace', () => {
    const unknown = cli(['passwd', 'nobody'], 'long enough pw\n');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe("error: no user 'nobody'\n");
    const usage = cli(['frobnicate']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: npm run users');
    const badJson = cli(['add', 'frank', '--attributes', '{nope'], 'long enough pw\n');
    expect(badJson.status).toBe(1);
    expect(badJson.stderr).toContain('--attributes must be a JSON object');
  });
});

import { TEST_KEYS } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';
import { buildServer, ServerProcess, startServerProcess } from '../helpers/server-process';

/** ACCESS_LOG_ENABLED on the compiled server: one line per request, tied to the others by its request id. */
describe('access log', () => {
  let build: ReturnType<typeof buildServer> | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let json: ServerProcess | undefined;
  let text: ServerProcess | undefined;

  beforeAll(async () => {
    build = buildServer();
    db = await createTestDatabase();
    [json, text] = await Promise.all([
      startServerProcess(build.mainJs, { DATABASE_URL: db.url, ...TEST_KEYS, LOG_FORMAT: 'json', ACCESS_LOG_ENABLED: 'true' }),
      startServerProcess(build.mainJs, { DATABASE_URL: db.url, ...TEST_KEYS, ACCESS_LOG_ENABLED: 'true' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([json?.stop(), text?.stop()]);
    await db?.drop();
    build?.remove();
  });

  it('writes a JSON line per request with method, path, status, duration, client and the request id, never the query', async () => {
    const ticket = 'ST-1-secretsecretsecretsecret-cas';
    const res = await fetch(`${json!.url}/cas/p3/serviceValidate?service=${encodeURIComponent('https://app.example.org/')}&ticket=${ticket}`);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    await json!.untilOutput((o) => o.includes(id));
    const line = json!
      .output()
      .split('\n')
      .filter((l) => l.includes(id))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.context === 'Access');
    expect(line).toEqual({
      time: expect.any(String),
      level: 'log',
      context: 'Access',
      requestId: id,
      message: expect.stringMatching(/^GET \/cas\/p3\/serviceValidate 200 [\d.]+ ms 127\.0\.0\.1$/),
      method: 'GET',
      path: '/cas/p3/serviceValidate',
      status: 200,
      durationMs: expect.any(Number),
      ip: '127.0.0.1',
    });
    expect(json!.output()).not.toContain(ticket);
    expect(json!.output()).not.toContain('app.example.org');
  });

  it('writes a readable line in the default text format', async () => {
    const res = await fetch(`${text!.url}/cas/login?locale=the-query`);
    expect(res.status).toBe(200);
    await text!.untilOutput((o) => /\[Access\].*GET \/cas\/login 200 [\d.]+ ms 127\.0\.0\.1/.test(o));
    expect(text!.output()).not.toContain('the-query');
  });
});

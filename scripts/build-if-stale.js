#!/usr/bin/env node
/**
 * `npm start`'s prestart: compiles the server (`tsc -b tsconfig.build.json`, as `npm run build`)
 * only when something it is built from changed since the last build this script ran, so an
 * up-to-date build starts without a second npm and without loading the TypeScript compiler
 * (about 0.6 s of CPU and a second or more of wall time on a busy 2-vCPU box, per start).
 *
 * Stale when dist/src/main.js or the stamp (dist/.build-stamp, written after a successful build,
 * dated from the moment that build began) is missing, or when anything under src/ or migrations/
 * (a file or a directory: a directory's time changes when an entry is added, removed or renamed),
 * a tsconfig*.json, package.json, package-lock.json or the installed TypeScript is as new as the
 * stamp or newer. Generous on purpose: a false alarm costs one `tsc -b`, which finds the build
 * up to date by its own (content) check; the stamp then moves on.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const STAMP = join('dist', '.build-stamp');
const SOURCE_DIRS = ['src', 'migrations'];
const FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json', join('node_modules', 'typescript', 'package.json')];

/** The first input at least as new as `sinceMs` under `root`, or null. */
function newerInput(root, sinceMs) {
  for (const f of FILES) {
    const p = join(root, f);
    if (existsSync(p) && statSync(p).mtimeMs >= sinceMs) return f;
  }
  const walk = (rel) => {
    const st = statSync(join(root, rel));
    if (st.mtimeMs >= sinceMs) return rel;
    if (!st.isDirectory()) return null;
    for (const e of readdirSync(join(root, rel))) {
      const hit = walk(join(rel, e));
      if (hit) return hit;
    }
    return null;
  };
  for (const d of SOURCE_DIRS) {
    if (!existsSync(join(root, d))) continue;
    const hit = walk(d);
    if (hit) return hit;
  }
  return null;
}

/** Why the build in `root` must be (re)built, or null when it is up to date. */
function staleReason(root) {
  if (!existsSync(join(root, 'dist', 'src', 'main.js'))) return 'no dist/src/main.js';
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return `no ${STAMP}`;
  const newer = newerInput(root, statSync(stamp).mtimeMs);
  return newer ? `${newer} changed` : null;
}

/** Builds `root` with its own TypeScript; the stamp dates from before the compiler read anything. */
function build(root) {
  const began = new Date();
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const r = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return r.status ?? 1;
  writeFileSync(join(root, STAMP), `${began.toISOString()}\n`);
  utimesSync(join(root, STAMP), began, began);
  return 0;
}

module.exports = { staleReason, build, STAMP };

if (require.main === module) {
  const root = join(__dirname, '..');
  const reason = staleReason(root);
  if (reason) {
    console.error(`prestart: ${reason}, compiling (tsc -b tsconfig.build.json)`);
    process.exitCode = build(root);
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The server's version, from its package.json: the nearest one above this file, which is the
 * project's both when run from `src/` (ts-node, jest) and from `dist/src/` (npm start), where the
 * depth differs. 'unknown' when none is found (never throws: it only labels this node).
 */
export function appVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
        if (typeof version === 'string') cached = version;
      } catch {
        // An unreadable package.json leaves 'unknown'.
      }
      return cached;
    }
    if (dirname(dir) === dir) return cached;
  }
}

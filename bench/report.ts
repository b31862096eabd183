/** The goals table as printed, and the results file it is kept in: bench/results/<YYYY-MM-DD>.md. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GoalRow } from './goals';
import { ROOT } from './settings';

export function table(rows: GoalRow[]): string {
  const head = ['figure', 'measured', 'ratio / reference', 'goal', ''];
  const body = rows.map((r) => [r.figure, r.measured, r.ratio, r.goal, r.verdict]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export const verdicts = (rows: GoalRow[]) =>
  `${rows.filter((r) => r.verdict === 'PASS').length} PASS, ${rows.filter((r) => r.verdict === 'MISS').length} MISS`;

/**
 * Appends the run (environment lines, the table, the verdict count) to the day's results file, a
 * run per section, and returns its path: results are kept beside the bench, not pasted into docs.
 */
export function writeResults(startedAt: Date, environment: string[], summary: string, rows: GoalRow[]): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().slice(0, 10)}.md`);
  const section = [`## npm run bench, ${startedAt.toISOString()}`, '', ...environment.map((l) => `- ${l}`), `- ${summary}`, '', table(rows), '', verdicts(rows), '', ''];
  appendFileSync(file, section.join('\n'));
  return file;
}

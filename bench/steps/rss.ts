/**
 * BENCH_ONLY=rss: a node's memory under each hot load, one node (A) as the full run has it:
 * validation, SSO re-entry, then password login (each after its ceiling, as in the full run), the
 * RSS max of each from /proc, and where that memory is: process.memoryUsage() at the highest RSS of
 * the load (the bench's memory probe, loaded into the node with `-r`), V8's new space, and the
 * node's largest anonymous mappings from /proc/<pid>/smaps (V8 pages are 256 KiB pieces; glibc's
 * thread arenas are 64 MiB reservations; argon2id's 19 MiB blocks show as such when mmapped).
 *
 * BENCH_RSS_NODE_FLAGS: node flag sets to compare, separated by `|` (an empty set is the shipped flags alone, bench/nodes.ts SHIPPED_NODE_FLAGS; `--max-semi-space-size=16` is V8's own default),
 * e.g. `--max-semi-space-size=16|`: the whole sequence on a fresh node A for each, back to back.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { BENCH_TABLE, log, sleep } from '../lib';
import { describe, type LoadResult } from '../measure';
import { type Node, startNode } from '../nodes';
import { loginStep } from './login';
import { preIssue } from './pre-issue';
import { ssoStep } from './sso';
import { validationStep } from './validation';

const mb = (bytes: number) => (bytes / 1048576).toFixed(0);

export async function rssStep(ctx: BenchContext): Promise<void> {
  const sets = (process.env.BENCH_RSS_NODE_FLAGS ?? '').split('|').map((s) => s.split(' ').filter(Boolean));
  const results: [string, LoadResult[]][] = [];
  for (const flags of sets) results.push([flags.join(' ') || 'no node flags', await rssRun(ctx, flags)]);
  for (const [label, rs] of results) {
    console.log(`\nRSS of node A under each load, ${label}:\n`);
    for (const r of rs) console.log(`  ${describe(r)}`);
  }
}

async function rssRun(ctx: BenchContext, flags: string[]): Promise<LoadResult[]> {
  await ctx.sql.query(BENCH_TABLE);
  log(`memory of node A, node flags: ${flags.join(' ') || 'none'}`);
  const probeFile = join(ctx.dir, 'memory-probe.json');
  const a = await startNode('A', ctx.dir, { DATABASE_URL: ctx.url, MEMORY_PROBE_FILE: probeFile }, [...flags, '-r', join(__dirname, '..', 'memory-probe.js')]);
  ctx.nodes.push(a);
  try {
    const issued = await preIssue(ctx, a);
    await breakdown(a, probeFile, 'after pre-issue (idle)');
    const { g1 } = await validationStep(ctx, a, issued.sts);
    await breakdown(a, probeFile, 'validation load');
    const { g2 } = await ssoStep(ctx, a, issued.tgcs);
    await breakdown(a, probeFile, 'SSO re-entry load');
    const { g3 } = await loginStep(ctx, a, issued.forms);
    await breakdown(a, probeFile, 'password login load');
    return [g1, g2, g3];
  } finally {
    await a.stop();
    ctx.nodes.length = 0;
  }
}

/** The probe's sample at the highest RSS since the last call, and the node's largest anonymous mappings now. */
async function breakdown(a: Node, probeFile: string, label: string): Promise<void> {
  if (existsSync(probeFile)) unlinkSync(probeFile);
  a.proc.kill('SIGUSR2');
  for (let i = 0; i < 50 && !existsSync(probeFile); i++) await sleep(20);
  const { peak, heapUsedAfterGc } = JSON.parse(readFileSync(probeFile, 'utf8')) as { peak: Record<string, number> & { spacesKb: Record<string, number> }; heapUsedAfterGc?: number };
  const status = readFileSync(`/proc/${a.pid}/status`, 'utf8');
  const field = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const heapOutside = peak.rss - peak.heapTotal - peak.arrayBuffers;
  log(
    `memory, ${label}, at the highest RSS: rss ${mb(peak.rss)} MB = V8 heap ${mb(peak.heapTotal)} MB (used ${mb(peak.heapUsed)}, new space ${(peak.spacesKb.new_space / 1024).toFixed(0)} MB, ` +
      `old ${(peak.spacesKb.old_space / 1024).toFixed(0)} MB, code ${(peak.spacesKb.code_space / 1024).toFixed(0)} MB, large objects ${(peak.spacesKb.large_object_space / 1024).toFixed(0)} MB) ` +
      `+ array buffers ${mb(peak.arrayBuffers)} MB (external ${mb(peak.external)}) + the rest (native: code, libraries, malloc) ${mb(heapOutside)} MB; ` +
      `${heapUsedAfterGc === undefined ? '' : `heap used after a full GC ${mb(heapUsedAfterGc)} MB; `}now: RSS ${(field('VmRSS') / 1024).toFixed(0)} MB (anonymous ${(field('RssAnon') / 1024).toFixed(0)}, files ${(field('RssFile') / 1024).toFixed(0)}), ${field('Threads')} threads`,
  );
  log(`  largest anonymous mappings now (size → resident, MB): ${largestMappings(a.pid).join(', ')}`);
}

function largestMappings(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const maps: { name: string; size: number; rss: number }[] = [];
  let cur: { name: string; size: number; rss: number } | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { name: head[3] || 'anon', size: 0, rss: 0 };
      if (!head[3] || head[3] === '[heap]') maps.push(cur);
      continue;
    }
    const m = /^(Size|Rss):\s+(\d+) kB/.exec(line);
    if (m && cur) cur[m[1] === 'Size' ? 'size' : 'rss'] = Number(m[2]) / 1024;
  }
  const total = maps.reduce((s, m) => s + m.rss, 0);
  return [`all ${maps.length} anonymous ${total.toFixed(0)} MB resident`, ...maps.sort((x, y) => y.rss - x.rss).slice(0, 10).map((m) => `${m.name === 'anon' ? '' : m.name + ' '}${m.size.toFixed(1)}→${m.rss.toFixed(1)}`)];
}

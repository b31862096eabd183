/**
 * Loaded into a node by the bench only (`node -r dist-bench/bench/memory-probe.js`, BENCH_ONLY=rss):
 * samples process.memoryUsage() and V8's new space every 100 ms and keeps the sample taken at the
 * highest RSS; on SIGUSR2 it writes that sample and the current one to MEMORY_PROBE_FILE as JSON
 * and starts over; with --expose-gc (BENCH_RSS_NODE_FLAGS, or BENCH_CLEAN_NODE_FLAGS for the cleaner's node B) also heapUsed and RSS after a full collection, which tells
 * live objects (a leak would stay) from garbage V8 has not collected yet. Nothing of it is in the product: the bench reads a node's memory as /proc does,
 * and this says how much of it is V8's heap, buffers, or native memory outside them.
 */
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.MEMORY_PROBE_FILE;
if (file) {
  const sample = () => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.physical_space_size / 1024)]));
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spacesKb: spaces };
  };
  let peak = sample();
  setInterval(() => {
    const s = sample();
    if (s.rss > peak.rss) peak = s;
  }, 100).unref();
  process.on('SIGUSR2', () => {
    const now = sample();
    const gc = (globalThis as { gc?: () => void }).gc;
    let heapUsedAfterGc: number | undefined;
    let rssAfterGc: number | undefined;
    if (gc) {
      gc();
      ({ heapUsed: heapUsedAfterGc, rss: rssAfterGc } = process.memoryUsage());
    }
    writeFileSync(file, JSON.stringify({ peak: peak.rss > now.rss ? peak : now, now, heapUsedAfterGc, rssAfterGc }));
    peak = now;
  });
}

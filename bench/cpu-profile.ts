/** Summaries of a node's `--cpu-prof` profile (BENCH_CPU_PROF, BENCH_CLEAN_PROF). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { f0, log } from './lib';

/** A performance.now() time on process.hrtime's clock, in µs (the clock V8 stamps profile samples with). */
export const hrMicros = (perfNow: number) => Number(process.hrtime.bigint() / 1000n) - Math.round((performance.now() - perfNow) * 1000);

/** Self time of a .cpuprofile by where the code lives (package, app, Node core, GC, native). */
export function summariseProfile(profDir: string, window: [number, number], label = 'the server during /p3/serviceValidate', byFunction = false): void {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return log('no CPU profile written');
  const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  // V8 stamps samples on the same monotonic clock as process.hrtime: keep the measured run only
  // (not module loading at boot, nor warm-up).
  let t = prof.startTime;
  const inWindow = prof.timeDeltas.map((d) => ((t += d), t >= window[0] && t <= window[1]));
  const cut = inWindow.some(Boolean);
  const where = new Map<number, string>();
  for (const n of prof.nodes) {
    const { url, functionName } = n.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const place = pkg ?? (url.includes('/dist/src/') ? 'app (dist/src)' : url.startsWith('node:') ? 'node core (JS)' : url ? url : functionName || '(native)');
    where.set(n.id, byFunction && url ? `${place}: ${functionName || '(anonymous)'} ${url.split('/').pop()}` : place);
  }
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    if (cut && !inWindow[i]) return;
    const k = where.get(id) ?? '?';
    self.set(k, (self.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const busy = [...self].filter(([k]) => k !== '(idle)').reduce((s, [, v]) => s + v, 0);
  console.log(`#   node --cpu-prof of ${label}: self time by ${byFunction ? 'function' : 'location'} (${f0(busy / 1000)} ms busy; idle excluded; ${cut ? 'measured run only' : 'whole process life: clocks did not match'})`);
  for (const [k, v] of [...self].filter(([k2]) => k2 !== '(idle)').sort((x, y) => y[1] - x[1]).slice(0, byFunction ? 25 : 12)) {
    console.log(`#     ${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
}

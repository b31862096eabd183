/** Cold start: main.ts with its own embedded Postgres, the cluster already initialised by a first, untimed run. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { f0, log } from '../lib';
import { startNode } from '../nodes';

/** Ms from spawn to the first 200 on /cas/login; `warmBootMs`, `firstBootMs`: the DATABASE_URL boots, for the log line. */
export async function coldStartStep(ctx: BenchContext, warmBootMs: number, firstBootMs: number): Promise<number> {
  log('cold start: node dist/src/main.js with its embedded Postgres (initialised by a first run, not timed)');
  const coldDir = join(ctx.dir, 'cold');
  const init = await startNode('cold-init', ctx.dir, { CAS_DATA_DIR: coldDir });
  await init.stop();
  const cold = await startNode('cold', ctx.dir, { CAS_DATA_DIR: coldDir });
  await cold.stop();
  const coldLog = readFileSync(cold.logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const bootMs = Number(/ready at \S+ \(port \d+\) in (\d+) ms/.exec(coldLog)?.[1] ?? NaN);
  log(`cold start to first 200 on /cas/login: ${f0(cold.readyMs)} ms (embedded Postgres initialised): ` +
    `${f0(bootMs)} ms in bootstrap() (embedded Postgres start, Nest init, migrations check), the rest Node start and module loading; with DATABASE_URL ${f0(warmBootMs)} ms; first boot with migrations ${f0(firstBootMs)} ms`);
  return cold.readyMs;
}

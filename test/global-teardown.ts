import { rmSync } from 'node:fs';
import type { EmbeddedCluster } from '../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__CAS_TEST_PG__ as { cluster: EmbeddedCluster; base: string } | undefined;
  if (!state) return;
  await state.cluster.stop();
  rmSync(state.base, { recursive: true, force: true });
}

import type { CasConfig } from '../config/cas-config';
import { runningEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';

/** The database a process uses, and how it lets go of it. */
export interface ResolvedDatabase {
  url: string;
  /** Whether this process started the embedded cluster, so that stop() stops it. */
  startedEmbedded: boolean;
  /** Stops the embedded cluster this process started; does nothing otherwise. */
  stop(): Promise<void>;
}

export interface ResolveOptions {
  /**
   * With DATABASE_URL unset, use the embedded cluster a running server already has up on the same
   * data directory, instead of failing on Postgres's lock file. True for the commands (users,
   * migrations), which run beside `npm start`; false for the server, which owns its cluster and
   * stops it at shutdown (a second server on one data directory fails to start instead).
   */
  attachToRunning: boolean;
}

/**
 * The one answer to "which database?" for the server, the users command and the migrations:
 * DATABASE_URL when set; else, for a command, the embedded cluster a running server started;
 * else an embedded cluster of its own under the data directory, which stop() stops.
 */
export async function resolveDatabase(config: Pick<CasConfig, 'databaseUrl' | 'dataDir'>, o: ResolveOptions): Promise<ResolvedDatabase> {
  const nothingToStop = async () => undefined;
  if (config.databaseUrl) return { url: config.databaseUrl, startedEmbedded: false, stop: nothingToStop };
  const running = o.attachToRunning ? runningEmbeddedPostgres(config.dataDir) : null;
  if (running) return { url: running, startedEmbedded: false, stop: nothingToStop };
  const embedded = await startEmbeddedPostgres(config.dataDir);
  return { url: embedded.url, startedEmbedded: true, stop: embedded.stop };
}

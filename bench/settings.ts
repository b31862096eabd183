/**
 * The settings of `npm run bench`, read once from the environment (BENCH_*, ARGON2_*), and the
 * per-run secrets its server nodes share. Defaults are the full run; scale down for a quick one:
 * BENCH_TICKETS=100000 BENCH_DURATION=5 npm run bench
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const env = process.env;
const tickets = Number(env.BENCH_TICKETS ?? 1_000_000);

export const settings = {
  /** Seconds of each measured run, after WARMUP seconds of the same load. */
  duration: Number(env.BENCH_DURATION ?? 10),
  warmup: Number(env.BENCH_WARMUP ?? 3),
  connections: Number(env.BENCH_CONNECTIONS ?? 50),
  /** Expired tickets the cleaner removes (1 TGT : 4 STs), also the bulk the admin listing runs over. */
  tickets,
  /** Live tickets seeded beside them (must all survive the cleaner). */
  liveTickets: Number(env.BENCH_LIVE_TICKETS ?? Math.round(tickets / 10)),
  adminRequests: Number(env.BENCH_REQUESTS ?? 300),
  ssoSessions: Number(env.BENCH_SSO_SESSIONS ?? 200),
  /**
   * Single-use login forms fetched beforehand: enough for the bare login route's rate on a
   * 2-vCPU box over warm-up and run, with room (a reused form counts as a failure).
   */
  loginForms: Number(env.BENCH_LOGIN_FORMS ?? 3000),
  /**
   * Users with a TOTP device for the multi-factor login step: each login takes a new one (a code
   * is accepted once per device and 30 s step), so enough for both runs' warm-up and run at the
   * hash's rate, with room.
   */
  mfaUsers: Number(env.BENCH_MFA_USERS ?? 6000),
  /** Sessions per cleaner batch; unset: the product's default. */
  cleanerBatch: env.BENCH_CLEANER_BATCH,
  cleanTimeout: Number(env.BENCH_CLEAN_TIMEOUT ?? 300),
  /**
   * Validation load while the cleaner runs, as a share of the /p3/serviceValidate rate measured
   * before: 0.5 is a soak level, a box with room to spare as a production one has; `max` is
   * closed-loop saturation, where any extra work shows as queueing in the p99.
   */
  cleanLoad: env.BENCH_CLEAN_LOAD ?? '0.5',
  /** Single-connection load streams per node for a rate-limited load, started evenly through a second. */
  cleanStreams: 10,
  /** BENCH_CLEAN_NODES=1: only node B cleans, C serves validations only. */
  oneCleaner: env.BENCH_CLEAN_NODES === '1',
  /** BENCH_CLEAN_PROF=1: node B runs the clean under --cpu-prof. */
  cleanProfile: Boolean(env.BENCH_CLEAN_PROF),
  /** BENCH_CPU_PROF=1: an extra /p3/serviceValidate run under --cpu-prof. */
  cpuProfile: Boolean(env.BENCH_CPU_PROF),
  /** BENCH_PG_SETTINGS="wal_compression=on max_wal_size=4GB": Postgres settings on top of production's (the embedded cluster only). */
  pgSettings: (env.BENCH_PG_SETTINGS ?? '').split(/\s+/).filter((kv) => /^[a-z_.]+=\S+$/.test(kv)),
  explain: env.BENCH_EXPLAIN !== '0',
  cleanerCeiling: env.BENCH_CEILING !== '0',
  statements: env.BENCH_PGSS !== '0',
  keep: Boolean(env.BENCH_KEEP),
  /** Sequential scrapes of GET /cas/actuator/prometheus the scrape step times (BENCH_ONLY=scrape). */
  scrapes: Number(env.BENCH_SCRAPES ?? 1000),
  /**
   * BENCH_ONLY=flat: the table size of the first measure and the size it grows to (tickets, 1 live
   * : 10 expired as the default seed); quick: BENCH_FLAT_TO=1000000. 10M tickets take about 8 GB
   * of disk with session_services and WAL.
   */
  flatFrom: Number(env.BENCH_FLAT_FROM ?? 100_000),
  flatTo: Number(env.BENCH_FLAT_TO ?? 10_000_000),
  /** BENCH_ONLY=mfa-login: only that step (its own node), its goal rows printed and kept. */
  only: env.BENCH_ONLY,
  databaseUrl: env.DATABASE_URL,
};

export const ARGON2 = {
  ARGON2_MEMORY_KIB: env.ARGON2_MEMORY_KIB ?? '19456',
  ARGON2_TIME_COST: env.ARGON2_TIME_COST ?? '2',
  ARGON2_PARALLELISM: env.ARGON2_PARALLELISM ?? '1',
};
export const UA = 'cas-bench/1.0';
/** The repository, from dist-bench/bench/. */
export const ROOT = resolve(__dirname, '../..');
export const ADMIN_SECRET = randomBytes(24).toString('base64url');
export const TGC_KEYS = {
  CAS_TGC_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  CAS_TGC_CRYPTO_SIGNING_KEY: randomBytes(64).toString('base64url'),
};

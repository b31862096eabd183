import { availableParallelism } from 'node:os';

// Imported first by main.ts, before anything uses libuv's thread pool (which reads this once).
// Password hashing (argon2id, 19 MiB a verify) runs on that pool: its default of 4 threads lets 4
// hashes hold memory at once on a 2-vCPU box while only 2 make progress. One thread per CPU gives
// the same logins/s with less memory (docs/benchmarks.md).
// An explicit UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));

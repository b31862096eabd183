/**
 * Every "now" that decides expiry comes from here and is passed to SQL as a parameter, so tests
 * move time instead of sleeping. Production nodes are expected to be NTP-synchronised. Durations
 * (how long a batch took) and waits (the cleaner's pauses and schedule) come from here too, so a
 * test decides when a wait ends instead of waiting for it.
 */
export abstract class Clock {
  abstract now(): Date;

  /** Milliseconds from an arbitrary origin, for measuring durations: never jumps like now() can. */
  monotonicMs(): number {
    return performance.now();
  }

  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

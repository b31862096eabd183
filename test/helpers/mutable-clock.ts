import { Clock } from '../../src/common/clock';

interface Sleeper {
  /** now() in ms at which it ends. */
  until: number;
  end: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * A clock tests move forward instead of sleeping. It starts at the real time and runs with it,
 * moved on by advance(); its sleeps end after their real time, or earlier when advance() passes
 * their end. Once frozen, it moves only by advance(): durations measured with it are what the test
 * advanced while the work ran, and sleeps end exactly when advance() reaches their end.
 */
export class MutableClock extends Clock {
  private offsetMs = 0;
  /** While frozen: the clock's time (ms since the epoch) and its monotonic reading. */
  private frozen: { wallMs: number; monoMs: number } | null = null;
  private readonly sleepers = new Set<Sleeper>();
  /** Every sleep asked of this clock, in ms, in the order asked. */
  readonly sleeps: number[] = [];
  private waiters: { count: number; resolve: (sleeps: number[]) => void }[] = [];

  now(): Date {
    return new Date(this.frozen ? this.frozen.wallMs : Date.now() + this.offsetMs);
  }

  override monotonicMs(): number {
    return this.frozen ? this.frozen.monoMs : performance.now();
  }

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    const asked = this.waiters.filter((w) => this.sleeps.length >= w.count);
    this.waiters = this.waiters.filter((w) => !asked.includes(w));
    const slept = new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = {
        until: this.now().getTime() + ms,
        end: () => {
          clearTimeout(sleeper.timer);
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.end);
          resolve();
        },
      };
      if (!this.frozen) sleeper.timer = setTimeout(sleeper.end, ms);
      signal?.addEventListener('abort', sleeper.end, { once: true });
      this.sleepers.add(sleeper);
    });
    asked.forEach((w) => w.resolve([...this.sleeps]));
    return slept;
  }

  /** Moves the clock on; sleeps whose end it reaches end now, in the order they would have. */
  advance(seconds: number): void {
    const ms = seconds * 1000;
    if (this.frozen) {
      this.frozen.wallMs += ms;
      this.frozen.monoMs += ms;
    } else this.offsetMs += ms;
    const now = this.now().getTime();
    [...this.sleepers].filter((s) => s.until <= now).sort((a, b) => a.until - b.until).forEach((s) => s.end());
  }

  /** From now on the clock moves only by advance(); sleeps under way lose their real timers. */
  freeze(): void {
    // The monotonic reading restarts at 0 (its origin is arbitrary): whole numbers of ms stay exact.
    this.frozen ??= { wallMs: this.now().getTime(), monoMs: 0 };
    this.sleepers.forEach((s) => clearTimeout(s.timer));
  }

  /** The time left, in ms, of each sleep not ended yet. */
  pendingSleeps(): number[] {
    const now = this.now().getTime();
    return [...this.sleepers].map((s) => s.until - now);
  }

  /** Resolves, with every sleep asked so far, once `count` sleeps in all have been asked. */
  sleepsAsked(count: number): Promise<number[]> {
    if (this.sleeps.length >= count) return Promise.resolve([...this.sleeps]);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

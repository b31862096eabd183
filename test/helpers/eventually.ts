import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Re-checks `check` until it holds, with a turn of the event loop between checks instead of a
 * timer; the test's jest timeout is the only bound. For state with no event to wait on (rows
 * another process writes). Each check is a query or a request, so the loop paces itself.
 */
export async function eventually<T>(check: () => Promise<T>, holds: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await check();
    if (holds(value)) return value;
    await nextTurn();
  }
}

/**
 * The message of the error of class `type` that `run` throws; a test failure when it throws none,
 * and the other error itself when it throws another kind (a TypeError is a bug, not a refusal).
 */
export function messageOf(type: abstract new (...args: never[]) => Error, run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof type) return e.message;
    throw e;
  }
  throw new Error(`expected a ${type.name}`);
}

/**
 * Every "now" that decides expiry comes from here and is passed to SQL as a parameter, so tests
 * move time instead of sleeping. Production nodes are expected to be NTP-synchronised.
 */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

import { Clock } from '../../src/common/clock';

/** A clock tests move forward instead of sleeping. Starts at the real time. */
export class MutableClock extends Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

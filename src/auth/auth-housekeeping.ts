import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { LoginFlows } from './login-flows';
import { LoginThrottle } from './login-throttle';

const BATCH = 10_000;
const MAX_BATCHES = 20;

/**
 * Every minute on every node: the single-use records of login-form tokens that have expired, and
 * throttle windows that have passed, are deleted in bounded batches. The deletes are idempotent,
 * so nodes running them at once do no harm.
 */
@Injectable()
export class AuthHousekeeping {
  private readonly logger = new Logger('AuthHousekeeping');

  constructor(
    private readonly flows: LoginFlows,
    private readonly throttle: LoginThrottle,
  ) {}

  @Interval(60_000)
  async run(): Promise<{ usedExecutions: number; throttleWindows: number }> {
    try {
      // Posting a form adds a row, so a flood of posts could outgrow one batch a minute: go on
      // while batches come back full, within a bound that keeps one run short.
      let usedExecutions = 0;
      for (let batches = 0; batches < MAX_BATCHES; batches++) {
        const deleted = await this.flows.deleteExpired(BATCH);
        usedExecutions += deleted;
        if (deleted < BATCH) break;
      }
      const throttleWindows = await this.throttle.deletePastWindows(BATCH);
      return { usedExecutions, throttleWindows };
    } catch (e) {
      this.logger.warn(`housekeeping failed: ${(e as Error).message}`);
      return { usedExecutions: 0, throttleWindows: 0 };
    }
  }
}

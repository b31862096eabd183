import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { LoginFlows } from './login-flows';
import { LoginThrottle } from './login-throttle';

/**
 * Every minute on every node: expired login-form tokens (abandoned forms) and throttle windows
 * that have passed are deleted in bounded batches. The deletes are idempotent, so nodes running
 * them at once do no harm.
 */
@Injectable()
export class AuthHousekeeping {
  private readonly logger = new Logger('AuthHousekeeping');

  constructor(
    private readonly flows: LoginFlows,
    private readonly throttle: LoginThrottle,
  ) {}

  @Interval(60_000)
  async run(): Promise<{ flows: number; throttleWindows: number }> {
    try {
      const flows = await this.flows.deleteExpired(10_000);
      const throttleWindows = await this.throttle.deletePastWindows(10_000);
      return { flows, throttleWindows };
    } catch (e) {
      this.logger.warn(`housekeeping failed: ${(e as Error).message}`);
      return { flows: 0, throttleWindows: 0 };
    }
  }
}

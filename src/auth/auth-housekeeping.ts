import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { LoginFlows } from './login-flows';
import { LoginThrottle } from './login-throttle';
import { GauthCredentials } from './mfa/gauth/gauth-credentials';
import { TrustedDevices } from './mfa/trusted/trusted-devices';

const BATCH = 10_000;
const MAX_BATCHES = 20;

/**
 * A pending TOTP enrolment (QR code shown, first code not typed yet) older than this is abandoned
 * and deleted with its scratch codes. An hour is four times the life of the login form that shows
 * the QR code (15 minutes), so nobody still looking at the page loses the device being set up, and
 * an encrypted secret nobody will confirm does not stay for more than an hour.
 */
export const PENDING_ENROLMENT_MAX_AGE_SECONDS = 3600;

export interface HousekeepingResult {
  usedExecutions: number;
  throttleWindows: number;
  gauthUsedCodes: number;
  gauthPendingEnrolments: number;
  trustedDevices: number;
}

/**
 * Every minute on every node: the single-use records of login-form tokens that have expired,
 * throttle windows that have passed, TOTP codes whose step has left the window, abandoned TOTP
 * enrolments and expired trusted-device records are deleted in bounded batches. The deletes are
 * idempotent and skip rows another node holds (FOR UPDATE SKIP LOCKED), so nodes running them at
 * once do no harm.
 */
@Injectable()
export class AuthHousekeeping {
  private readonly logger = new Logger('AuthHousekeeping');

  constructor(
    private readonly flows: LoginFlows,
    private readonly throttle: LoginThrottle,
    private readonly gauth: GauthCredentials,
    private readonly trustedDevices: TrustedDevices,
  ) {}

  @Interval(60_000)
  async run(): Promise<HousekeepingResult> {
    const result: HousekeepingResult = { usedExecutions: 0, throttleWindows: 0, gauthUsedCodes: 0, gauthPendingEnrolments: 0, trustedDevices: 0 };
    try {
      // Posting a form adds a row, so a flood of posts could outgrow one batch a minute: go on
      // while batches come back full, within a bound that keeps one run short. Accepted TOTP codes
      // are a row each too, and grow with logins the same way.
      result.usedExecutions = await batches(() => this.flows.deleteExpired(BATCH));
      result.throttleWindows = await this.throttle.deletePastWindows(BATCH);
      result.gauthUsedCodes = await batches(() => this.gauth.deleteExpiredUsedCodes(BATCH));
      result.gauthPendingEnrolments = await this.gauth.deleteAbandonedEnrolments(PENDING_ENROLMENT_MAX_AGE_SECONDS, BATCH);
      // Expired trust records are never honoured (the lookup compares expires_at); this only keeps the table small.
      result.trustedDevices = await this.trustedDevices.deleteExpired(BATCH);
    } catch (e) {
      this.logger.warn(`housekeeping failed: ${(e as Error).message}`);
    }
    return result;
  }
}

/** Runs `deleteBatch` while it deletes full batches, at most MAX_BATCHES times; the total deleted. */
async function batches(deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const deleted = await deleteBatch();
    total += deleted;
    if (deleted < BATCH) break;
  }
  return total;
}

import { MutableClock } from '../../test/helpers/mutable-clock';
import { CasMetrics } from './cas-metrics';

describe('CasMetrics.minuteCounts', () => {
  it('counts per minute of the clock over the last hour, oldest first, missing minutes as zeros', () => {
    const clock = new MutableClock();
    clock.freeze();
    const metrics = new CasMetrics(clock);
    metrics.loginSucceeded('users');
    metrics.loginFailed(undefined, 'invalid-credentials');
    clock.advance(60);
    metrics.validated('serviceValidate', 'SUCCESS');
    metrics.validated('serviceValidate', 'INVALID_TICKET');

    const counts = metrics.minuteCounts();
    expect(counts).toHaveLength(60);
    const now = Math.floor(clock.now().getTime() / 60_000) * 60_000;
    expect(counts[59]).toEqual({ minute: new Date(now).toISOString(), logins: 0, loginFailures: 0, validations: 2 });
    expect(counts[58]).toEqual({ minute: new Date(now - 60_000).toISOString(), logins: 1, loginFailures: 1, validations: 0 });
    expect(counts[0].minute).toBe(new Date(now - 59 * 60_000).toISOString());
    expect(counts.slice(0, 58).every((c) => c.logins + c.loginFailures + c.validations === 0)).toBe(true);
  });

  it('forgets a minute once it is an hour old, even when its slot of the ring is reused', () => {
    const clock = new MutableClock();
    clock.freeze();
    const metrics = new CasMetrics(clock);
    metrics.loginSucceeded('users');
    clock.advance(60 * 60);
    expect(metrics.minuteCounts().every((c) => c.logins === 0)).toBe(true);
    metrics.validated('validate', 'SUCCESS');
    expect(metrics.minuteCounts()[59]).toMatchObject({ logins: 0, validations: 1 });
  });

  it('keeps its registry to itself: two instances in one process register the same names', async () => {
    const clock = new MutableClock();
    const a = new CasMetrics(clock);
    const b = new CasMetrics(clock);
    a.loginSucceeded('users');
    expect(await a.scrape()).toContain('cas_logins_total{outcome="success",handler="users"} 1');
    expect(await b.scrape()).not.toContain('cas_logins_total{outcome="success"');
  });
});

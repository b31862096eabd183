import { loadCasConfig } from '../../config/cas-config';
import { duration, overviewWarnings } from './overview';
import { axisTop, clusterMinutes } from './overview-chart';

const QUIET = { ldap: [], backlog: { pending: 0, capped: false, oldestAgeSeconds: null } };

describe('overview warnings', () => {
  it('a development server (demo user, open registry, no admin tokens): all three, each with what to do', () => {
    const warnings = overviewWarnings(loadCasConfig({}), QUIET);
    expect(warnings.map((w) => w.key)).toEqual(['demo-user', 'development-registry', 'no-admin-tokens']);
    expect(warnings.every((w) => w.fix.length > 0)).toBe(true);
  });

  it('a configured server: none', () => {
    const config = loadCasConfig({ CAS_SERVER_PREFIX: 'https://cas.example.org/cas', CAS_AUTHN_ACCEPT_USERS: 'a::x', CAS_ADMIN_TOKENS: 'ops:0123456789abcdefghijklmnopqrstuv' });
    expect(overviewWarnings(config, QUIET)).toEqual([]);
  });

  it('the outbox: an oldest request of 5 minutes is fine, a second more is not', () => {
    const config = loadCasConfig({ CAS_SERVER_PREFIX: 'https://cas.example.org/cas', CAS_AUTHN_ACCEPT_USERS: 'a::x', CAS_ADMIN_TOKENS: 'ops:0123456789abcdefghijklmnopqrstuv' });
    const at = (oldestAgeSeconds: number) => overviewWarnings(config, { ldap: [], backlog: { pending: 1, capped: false, oldestAgeSeconds } }).map((w) => w.key);
    expect(at(300)).toEqual([]);
    expect(at(301)).toEqual(['outbox-stuck']);
  });
});

describe('overview chart', () => {
  it('sums the nodes minute by minute over the 60 minutes ending now, dropping older minutes', () => {
    const now = new Date('2026-12-03T10:30:20Z');
    const m = (minute: string, logins: number) => ({ minute, logins, loginFailures: 0, validations: logins });
    const minutes = clusterMinutes([[m('2026-12-03T10:30:00.000Z', 2), m('2026-12-03T09:31:00.000Z', 1), m('2026-12-03T09:30:00.000Z', 7)], [m('2026-12-03T10:30:00.000Z', 3)]], now);
    expect(minutes).toHaveLength(60);
    expect(minutes[0]).toEqual({ minute: '2026-12-03T09:31:00.000Z', logins: 1, loginFailures: 0, validations: 1 });
    expect(minutes[59]).toEqual({ minute: '2026-12-03T10:30:00.000Z', logins: 5, loginFailures: 0, validations: 5 });
    expect(minutes.reduce((t, x) => t + x.logins, 0)).toBe(6);
  });

  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 2, 3, 6, 11, 49, 51, 101].map(axisTop)).toEqual([1, 1, 2, 5, 10, 20, 50, 100, 200]);
  });

  it('says durations the way people do', () => {
    expect([0, 59, 60, 3599, 3600, 3660, 86_400 * 2 + 3600 * 4].map(duration)).toEqual(['0 s', '59 s', '1 min', '59 min', '1 h', '1 h 1 min', '2 days 4 h']);
  });
});

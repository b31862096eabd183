import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { loadSessionLimitsConfig } from './session-limits-config';
import { messageOf } from '../../test/helpers/thrown';

const P = 'CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_';
const errorOf = (env: Record<string, string>): string => messageOf(ConfigurationError, () => loadSessionLimitsConfig(env));

describe('session-limit settings (cas.authn.policy.unique-principal.*, SESSION_LIMIT_ACTION)', () => {
  it("CAS's defaults: off, one session when on, refuse; loadCasConfig carries them", () => {
    expect(loadSessionLimitsConfig({})).toEqual({ enabled: false, maximumSessions: 1, action: 'REFUSE' });
    expect(loadCasConfig({}).sessionLimits).toEqual({ enabled: false, maximumSessions: 1, action: 'REFUSE' });
    expect(loadSessionLimitsConfig({ [`${P}ENABLED`]: 'true' })).toEqual({ enabled: true, maximumSessions: 1, action: 'REFUSE' });
  });

  it('reads every setting by its relaxed-binding name; 0 (CAS default) and 1 both mean one session', () => {
    expect(loadSessionLimitsConfig({ [`${P}ENABLED`]: 'TRUE', [`${P}MAXIMUM_ALLOWED_SESSIONS`]: '3', SESSION_LIMIT_ACTION: 'end_oldest' })).toEqual({
      enabled: true,
      maximumSessions: 3,
      action: 'END_OLDEST',
    });
    expect(loadSessionLimitsConfig({ [`${P}ENABLED`]: 'true', [`${P}MAXIMUM_ALLOWED_SESSIONS`]: '0' }).maximumSessions).toBe(1);
    expect(loadSessionLimitsConfig({ [`${P}ENABLED`]: 'true', [`${P}MAXIMUM_ALLOWED_SESSIONS`]: '1' }).maximumSessions).toBe(1);
  });

  it('names each bad value, and a maximum set while the policy is off', () => {
    const message = errorOf({ [`${P}ENABLED`]: 'yes', [`${P}MAXIMUM_ALLOWED_SESSIONS`]: '-1', SESSION_LIMIT_ACTION: 'KICK' });
    expect(message).toContain(`${P}ENABLED: must be true or false`);
    expect(message).toContain(`${P}MAXIMUM_ALLOWED_SESSIONS: must be a whole number from 0 to 100000`);
    expect(message).toContain('SESSION_LIMIT_ACTION: must be one of REFUSE, END_OLDEST');
    expect(errorOf({ [`${P}MAXIMUM_ALLOWED_SESSIONS`]: '2' })).toContain(`${P}MAXIMUM_ALLOWED_SESSIONS: has no effect unless ${P}ENABLED=true`);
    expect(() => loadCasConfig({ [`${P}MAXIMUM_ALLOWED_SESSIONS`]: 'many' })).toThrow(ConfigurationError);
  });
});

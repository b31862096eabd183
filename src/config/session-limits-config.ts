import { ConfigurationError } from './env.validation';

/**
 * What a login does when the user already holds the most sessions allowed: `REFUSE` (CAS's unique
 * principal policy: no session, the refusal page) or `END_OLDEST` (Keycloak's "terminate oldest
 * session": the oldest sessions end through the logout pipeline, single logout sent).
 */
export const SESSION_LIMIT_ACTIONS = ['REFUSE', 'END_OLDEST'] as const;
export type SessionLimitAction = (typeof SESSION_LIMIT_ACTIONS)[number];

/**
 * `cas.authn.policy.unique-principal.*` (CAS 7's UniquePrincipalAuthenticationPolicyProperties),
 * and this server's `SESSION_LIMIT_ACTION`.
 *
 * - `enabled` (default false) switches the global limit on.
 * - `maximum-allowed-sessions` (default 0): CAS documents it as the "total number of allowed
 *   sessions that users can use simultaneously", 0 meaning one. Here it is exactly that: the live
 *   sessions a user may hold once the new one exists, and 0 is 1. (CAS 7's code refuses only when
 *   the existing sessions outnumber it, so it lets 2 through for 1: the documentation is followed.)
 *
 * A registered service's `maximumAllowedSessions` property replaces the global maximum for logins
 * to it, whether or not the global limit is on (services/registered-service.ts).
 */
export interface SessionLimitsConfig {
  enabled: boolean;
  /** Live sessions a user may hold, the new one included; at least 1. */
  maximumSessions: number;
  action: SessionLimitAction;
}

const PREFIX = 'CAS_AUTHN_POLICY_UNIQUE_PRINCIPAL_';
/** Far beyond any sane limit, and a bound that keeps the value an ordinary integer. */
const MAX_SESSIONS = 100_000;

/** The session-limit settings of the environment; every bad value is named in one ConfigurationError. */
export function loadSessionLimitsConfig(env: Record<string, string | undefined>): SessionLimitsConfig {
  const errors: string[] = [];
  const get = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const rawEnabled = get(`${PREFIX}ENABLED`)?.toLowerCase();
  if (rawEnabled !== undefined && rawEnabled !== 'true' && rawEnabled !== 'false') errors.push(`${PREFIX}ENABLED: must be true or false`);
  const enabled = rawEnabled === 'true';

  const rawMaximum = get(`${PREFIX}MAXIMUM_ALLOWED_SESSIONS`);
  let maximumSessions = 1;
  if (rawMaximum !== undefined) {
    if (!/^\d{1,6}$/.test(rawMaximum) || Number(rawMaximum) > MAX_SESSIONS) {
      errors.push(`${PREFIX}MAXIMUM_ALLOWED_SESSIONS: must be a whole number from 0 to ${MAX_SESSIONS} (0 and 1 both allow one session)`);
    } else {
      maximumSessions = Math.max(1, Number(rawMaximum));
      // CAS ignores it while the policy is off; an operator who set it expects a limit.
      if (rawEnabled === 'false' || rawEnabled === undefined) {
        errors.push(`${PREFIX}MAXIMUM_ALLOWED_SESSIONS: has no effect unless ${PREFIX}ENABLED=true`);
      }
    }
  }

  const rawAction = get('SESSION_LIMIT_ACTION')?.toUpperCase() ?? 'REFUSE';
  const action = SESSION_LIMIT_ACTIONS.find((a) => a === rawAction);
  if (!action) errors.push(`SESSION_LIMIT_ACTION: must be one of ${SESSION_LIMIT_ACTIONS.join(', ')}`);

  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return { enabled, maximumSessions, action: action ?? 'REFUSE' };
}

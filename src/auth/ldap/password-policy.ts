import { InvalidCredentialsError } from 'ldapts';
import type { AccountState, PasswordWarning } from '../handlers/authentication-handler';

/**
 * `cas.authn.ldap[n].password-policy.*`: how a directory's account states are read.
 * `GENERIC`: OpenLDAP's ppolicy response control; `AD`: Active Directory's bind error sub-codes
 * and account attributes.
 */
export interface PasswordPolicySettings {
  enabled: boolean;
  type: 'GENERIC' | 'AD';
  /** A password expiring within this many days gives a warning after login. */
  warningDays: number;
  /** Where the warning page sends the user to change the password. */
  passwordChangeUrl?: string;
}

/** What the user's bind means for the login. */
export type BindOutcome =
  | { kind: 'success'; warning?: PasswordWarning }
  | { kind: 'rejected'; state?: AccountState }
  | { kind: 'unavailable'; error: unknown };

/**
 * The outcome of binding as the user: `error` is what the bind threw (undefined when it
 * succeeded). FIRST SLICE: no account states yet — a refused password is `rejected`, anything
 * else `unavailable`. The password-policy work replaces this with the ppolicy control and AD
 * sub-codes.
 */
export function bindOutcome(_settings: PasswordPolicySettings, error: unknown): BindOutcome {
  if (error === undefined) return { kind: 'success' };
  if (error instanceof InvalidCredentialsError) return { kind: 'rejected' };
  return { kind: 'unavailable', error };
}

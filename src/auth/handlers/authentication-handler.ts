import type { Attributes } from '../../common/attributes';
import type { AccountLookup } from '../user-store';

/**
 * Why a source that knows the user refuses it, when it says so (CAS's account exceptions:
 * AccountLockedException, AccountDisabledException, AccountExpiredException,
 * AccountPasswordMustChangeException, CredentialExpiredException, InvalidLoginTimeException,
 * InvalidLoginLocationException). Each has its own page; without one the generic failure is shown.
 */
export type AccountState =
  | 'locked'
  | 'disabled'
  | 'account-expired'
  | 'password-expired'
  | 'must-change-password'
  | 'invalid-login-time'
  | 'invalid-workstation';

/**
 * What a successful login should still tell the user (CAS's MessageDescriptor warnings of the
 * password policy): the password expires in `passwordExpiresInDays`, or only
 * `graceLoginsRemaining` logins are left with an expired one.
 */
export interface PasswordWarning {
  passwordExpiresInDays?: number;
  graceLoginsRemaining?: number;
  /** Where the user changes the password (`password-policy.password-change-url` style setting). */
  changeUrl?: string;
}

/**
 * What one source of accounts answers for a username and password (CAS's AuthenticationHandler,
 * with its exceptions as values):
 * - `success`: the principal as this source spells it, with its attributes, and a password
 *   warning to show before going on to the service;
 * - `unknown`: this source has no such user, the next handler is asked;
 * - `rejected`: it has the user and refuses: the chain stops. `state` says why when the source
 *   told (locked, expired, …); a wrong password has none. `changeUrl` is where the user changes
 *   an expired password (`password-expired`, `must-change-password`), when the source has one;
 * - `unavailable`: the source could not answer (down, timed out); `error` is for the log only.
 */
export type HandlerResult =
  | { kind: 'success'; username: string; attributes: Attributes; warning?: PasswordWarning }
  | { kind: 'unknown' }
  | { kind: 'rejected'; state?: AccountState; changeUrl?: string }
  | { kind: 'unavailable'; error: unknown };

export interface AuthenticationHandler {
  /** CAS's handler name: released as `successfulAuthenticationHandlers` and `authenticationMethod`. */
  readonly name: string;
  /** Lower is asked first (CAS's `order`); equal orders keep the order of the handler list. */
  readonly order: number;
  /**
   * Checks the credentials. A handler finds the user by the canonical form of the name typed
   * (common/username.ts) where its source allows it. Throwing counts as `unavailable`.
   * `lookedUp`: the users-table account of this name, read ahead with the form token's use (only
   * the users-table handler reads it).
   */
  authenticate(username: string, password: string, lookedUp?: AccountLookup): Promise<HandlerResult>;
}

/**
 * The handlers of the chain (an array), in the order they are listed; the Authenticator sorts them
 * by `order`. One provider assembles them (auth.module.ts), so a source configured by environment
 * (an LDAP directory) is one more entry there, and a test can override the provider.
 */
export const AUTHENTICATION_HANDLERS = Symbol('AUTHENTICATION_HANDLERS');

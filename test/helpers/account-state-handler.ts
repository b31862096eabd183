import type { AccountState, AuthenticationHandler, HandlerResult, PasswordWarning } from '../../src/auth/handlers/authentication-handler';

/** The one password every account of this handler has. */
export const STATE_PASSWORD = 'state password 1';
/** The configured change-password URL the handler gives, with characters that must be escaped in HTML. */
export const CHANGE_URL = 'https://pm.example.org/change?from=cas&lang="en"&x=<b>';

type Answer = { state: AccountState; changeUrl?: string } | { warning: PasswordWarning };

/** Username → what the account's source says about it (as the LDAP handlers will from ppolicy or AD). */
export const ACCOUNTS: Record<string, Answer> = {
  'locked-user': { state: 'locked' },
  'disabled-user': { state: 'disabled' },
  'expired-account-user': { state: 'account-expired' },
  'expired-password-user': { state: 'password-expired', changeUrl: CHANGE_URL },
  'must-change-user': { state: 'must-change-password' },
  'script-link-user': { state: 'password-expired', changeUrl: 'javascript:alert(1)' },
  'bad-hours-user': { state: 'invalid-login-time' },
  'bad-workstation-user': { state: 'invalid-workstation' },
  'warned-user': { warning: { passwordExpiresInDays: 3, changeUrl: CHANGE_URL } },
  'grace-user': { warning: { graceLoginsRemaining: 1 } },
};

/**
 * A source of accounts that answers per username, as a directory with a password policy would:
 * the account's state (or a success with a warning) with the right password, a plain refusal with
 * a wrong one, and `unknown` for any other name (the next handler is asked).
 */
export class AccountStateHandler implements AuthenticationHandler {
  readonly name = 'AccountStateHandler';
  readonly order = -1;

  async authenticate(username: string, password: string): Promise<HandlerResult> {
    const answer = Object.hasOwn(ACCOUNTS, username) ? ACCOUNTS[username] : undefined;
    if (!answer) return { kind: 'unknown' };
    if (password !== STATE_PASSWORD) return { kind: 'rejected' };
    if ('warning' in answer) return { kind: 'success', username, attributes: { mail: [`${username}@example.org`] }, warning: answer.warning };
    return { kind: 'rejected', state: answer.state, changeUrl: answer.changeUrl };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Attributes } from '../common/attributes';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { SessionEvents } from '../tickets/session-events';
import { AUTHENTICATION_HANDLERS, type AuthenticationHandler } from './handlers/authentication-handler';
import { QueryDatabaseAuthenticationHandler } from './handlers/query-database.handler';
import { LoginThrottle } from './login-throttle';
import { GauthCredentials } from './mfa/gauth/gauth-credentials';
import { TrustedDevices } from './mfa/trusted/trusted-devices';
import { WebAuthnCredentials } from './mfa/webauthn/webauthn-credentials';
import { PasswordHasher } from './password-hasher';
import { UserStore, UserSummary } from './user-store';

/** What resetting a user's second factors removed. */
export interface MfaReset {
  totpDevices: number;
  securityKeys: number;
  trustedBrowsers: number;
}

/** A refused account change; `field` names the input at fault (for a form to show the message beside it). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly field?: 'username' | 'password',
  ) {
    super(message);
  }
}

const USERNAME = /^[^\s:,]{1,256}$/;
/** Unassigned code points: a later Unicode version could give them a case mapping, changing the name's key. */
const UNASSIGNED = /\p{Cn}/u;

/** Account management (the users command and the admin console). */
@Injectable()
export class UsersService {
  constructor(
    private readonly store: UserStore,
    private readonly hasher: PasswordHasher,
    private readonly terminator: SessionTerminator,
    private readonly throttle: LoginThrottle,
    private readonly events: SessionEvents,
    private readonly gauth: GauthCredentials,
    private readonly trusted: TrustedDevices,
    private readonly webauthn: WebAuthnCredentials,
    @Inject(AUTHENTICATION_HANDLERS) private readonly handlers: AuthenticationHandler[],
  ) {}

  /** Whether the `users` table is in the authentication chain: its accounts can log in. */
  get tableIsSource(): boolean {
    return this.handlers.some((h) => h instanceof QueryDatabaseAuthenticationHandler);
  }

  /** The chain's handlers by name, in the order they are asked (for the console to show where the table stands). */
  get sources(): string[] {
    return [...this.handlers].sort((a, b) => a.order - b.order).map((h) => h.name);
  }

  async add(username: string, password: string, attributes: Attributes = {}): Promise<void> {
    if (!USERNAME.test(username)) throw new UserError('username: 1 to 256 characters, no spaces, colons or commas', 'username');
    if (UNASSIGNED.test(username)) throw new UserError('username: no unassigned Unicode code points', 'username');
    checkPassword(password);
    if (!(await this.store.add(username, await this.hasher.hash(password), attributes))) {
      throw new UserError(`user '${username}' already exists (usernames ignore case and Unicode compatibility forms)`, 'username');
    }
  }

  /**
   * Sets a new password and ends every SSO session of the account (ASVS 3.3.3: a session opened
   * with the old password, perhaps by whoever learnt it, does not outlive it). Returns the sessions ended.
   */
  async setPassword(username: string, password: string): Promise<number> {
    checkPassword(password);
    if (!(await this.store.setPassword(username, await this.hasher.hash(password)))) throw new UserError(`no user '${username}'`);
    // credential-change first: a receiver learns why the session-revoked events that follow came.
    if (this.events.enabled) await this.events.credentialChanged((await this.store.find(username))?.username ?? username);
    return this.terminator.endAllOf(username, 'PASSWORD_CHANGE');
  }

  /** Disables the account and ends all of its SSO sessions (ASVS 7.4.2). Returns the sessions ended. */
  async disable(username: string): Promise<number> {
    if (!(await this.store.setDisabled(username, true))) throw new UserError(`no user '${username}'`);
    return this.terminator.endAllOf(username, 'DISABLED');
  }

  async enable(username: string): Promise<void> {
    if (!(await this.store.setDisabled(username, false))) throw new UserError(`no user '${username}'`);
  }

  list(): Promise<UserSummary[]> {
    return this.store.list();
  }

  /** A keyset page of accounts whose name starts with `prefix` (ignoring case), after the key `after`. */
  async page(prefix: string | undefined, after: string | undefined, limit: number): Promise<{ users: UserSummary[]; next?: string }> {
    // One more row than shown: `next` only when there is a next page.
    const rows = await this.store.page({ prefix, after }, limit + 1);
    const shown = rows.slice(0, limit);
    return { users: shown.map(({ key: _key, ...u }) => u), ...(rows.length > limit ? { next: shown[shown.length - 1].key } : {}) };
  }

  /** One account as the console shows it; null for an unknown name. */
  async get(username: string): Promise<UserSummary | null> {
    return this.store.summary(username);
  }

  /**
   * A lost device: removes the user's TOTP devices with their recovery codes, security keys and
   * passkeys, and the browsers trusted to skip them (a browser trusted with the lost phone's codes
   * must not go on skipping the new device's). Any user (the table, LDAP, the static list): the
   * devices are keyed by the canonical username alone. The user enrols again at the next login
   * that needs a second factor.
   */
  async resetMfa(username: string): Promise<MfaReset> {
    return {
      totpDevices: await this.gauth.remove(username),
      securityKeys: await this.webauthn.remove(username),
      trustedBrowsers: await this.trusted.removeForUser(username),
    };
  }

  /**
   * Lifts a lockout: clears the throttle counters of the account (any name, existing or not:
   * attackers' counters name accounts that may not exist). Returns the counters cleared.
   */
  unthrottle(username: string): Promise<number> {
    return this.throttle.clearAccount(username);
  }
}

/** ASVS 2.1: at least 8 characters (12 recommended), at most 4096, no composition rules, no truncation. */
function checkPassword(password: string): void {
  if (password.length < 8) throw new UserError('password: at least 8 characters', 'password');
  if (password.length > 4096) throw new UserError('password: at most 4096 characters', 'password');
}

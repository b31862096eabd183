import { Injectable } from '@nestjs/common';
import type { Attributes } from '../common/attributes';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { SessionEvents } from '../tickets/session-events';
import { LoginThrottle } from './login-throttle';
import { PasswordHasher } from './password-hasher';
import { UserStore, UserSummary } from './user-store';

export class UserError extends Error {}

const USERNAME = /^[^\s:,]{1,256}$/;
/** Unassigned code points: a later Unicode version could give them a case mapping, changing the name's key. */
const UNASSIGNED = /\p{Cn}/u;

/** Account management (the users command; later the admin API). */
@Injectable()
export class UsersService {
  constructor(
    private readonly store: UserStore,
    private readonly hasher: PasswordHasher,
    private readonly terminator: SessionTerminator,
    private readonly throttle: LoginThrottle,
    private readonly events: SessionEvents,
  ) {}

  async add(username: string, password: string, attributes: Attributes = {}): Promise<void> {
    if (!USERNAME.test(username)) throw new UserError('username: 1 to 256 characters, no spaces, colons or commas');
    if (UNASSIGNED.test(username)) throw new UserError('username: no unassigned Unicode code points');
    checkPassword(password);
    if (!(await this.store.add(username, await this.hasher.hash(password), attributes))) {
      throw new UserError(`user '${username}' already exists (usernames ignore case and Unicode compatibility forms)`);
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
  if (password.length < 8) throw new UserError('password: at least 8 characters');
  if (password.length > 4096) throw new UserError('password: at most 4096 characters');
}

import { Injectable } from '@nestjs/common';
import { PasswordHasher } from '../password-hasher';
import { type AccountLookup, UserStore } from '../user-store';
import type { AuthenticationHandler, HandlerResult } from './authentication-handler';

/**
 * The `users` table. Named after CAS's QueryDatabaseAuthenticationHandler (`cas.authn.jdbc.query`):
 * like it, it looks the account up by name with one query, compares the password with the stored
 * hash through a password encoder, and refuses an account its disabled column marks (with the
 * right password only: CAS checks the password first, then throws AccountDisabledException, so
 * the disabled page tells nothing to someone who does not know the password). CAS's other
 * JDBC handlers do not fit: SearchModeSearchDatabase compares the password in SQL,
 * BindModeSearchDatabase logs in to the database as the user, QueryAndEncodeDatabase salts and
 * hashes by columns of the row.
 */
@Injectable()
export class QueryDatabaseAuthenticationHandler implements AuthenticationHandler {
  readonly name = 'QueryDatabaseAuthenticationHandler';
  /** Before the static list, as the server always checked them. */
  readonly order = 0;

  constructor(
    private readonly users: UserStore,
    private readonly hasher: PasswordHasher,
  ) {}

  /** `lookedUp`: the account read with the form token's use (one round trip less); read here otherwise. */
  async authenticate(username: string, password: string, lookedUp?: AccountLookup): Promise<HandlerResult> {
    const stored = lookedUp ? lookedUp.user : await this.users.find(username);
    if (!stored) return { kind: 'unknown' };
    // The password is checked even for a disabled account: its answer must cost what any other does.
    const ok = await this.hasher.verify(stored.passwordHash, password);
    if (!ok) return { kind: 'rejected' };
    if (stored.disabled) return { kind: 'rejected', state: 'disabled' };
    return { kind: 'success', username: stored.username, attributes: stored.attributes };
  }
}

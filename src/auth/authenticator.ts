import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { usernameKey } from '../common/username';
import type { Attributes } from '../common/attributes';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ConfigurationError } from '../config/env.validation';
import { PasswordHasher } from './password-hasher';
import { UserStore } from './user-store';

export interface AuthenticatedPrincipal {
  username: string;
  attributes: Attributes;
}

/**
 * Password authentication: the `users` table first, then the static CAS_AUTHN_ACCEPT_USERS list
 * (CAS's AcceptUsersAuthenticationHandler). Every attempt costs exactly one argon2id verify —
 * static passwords are hashed at boot and unknown names are checked against a dummy hash — so
 * response times do not tell which usernames exist. Both find a user by the canonical form of
 * the name typed (common/username.ts), and the principal is the account's own spelling.
 */
@Injectable()
export class Authenticator implements OnModuleInit {
  private readonly logger = new Logger('Authentication');
  /** Static users by canonical username. */
  private readonly staticUsers = new Map<string, { username: string; hash: string; attributes: Attributes }>();
  private dummyHash: string;

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly hasher: PasswordHasher,
    private readonly users: UserStore,
  ) {}

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hasher.hash('\u0000no-such-user\u0000');
    for (const u of this.config.users) {
      const key = usernameKey(u.username);
      const taken = this.staticUsers.get(key);
      if (taken) {
        // Either could log in as the other: refuse to start rather than pick one.
        throw new ConfigurationError(`CAS_AUTHN_ACCEPT_USERS: '${taken.username}' and '${u.username}' are one username (case and Unicode forms are not told apart)`);
      }
      this.staticUsers.set(key, { username: u.username, hash: await this.hasher.hash(u.password), attributes: u.attributes });
    }
    if (this.config.usingDefaultUsers) {
      this.logger.warn('CAS_AUTHN_ACCEPT_USERS not set: the demo user casuser is enabled. Set your own users in production.');
    }
  }

  /** The principal for these credentials, or null: one outcome for unknown user, wrong password and disabled account. */
  async authenticate(username: string, password: string): Promise<AuthenticatedPrincipal | null> {
    const stored = await this.users.find(username);
    if (stored) {
      const ok = await this.hasher.verify(stored.passwordHash, password);
      return ok && !stored.disabled ? { username: stored.username, attributes: stored.attributes } : null;
    }
    const fixed = this.staticUsers.get(usernameKey(username));
    const ok = await this.hasher.verify(fixed?.hash ?? this.dummyHash, password);
    return ok && fixed ? { username: fixed.username, attributes: fixed.attributes } : null;
  }
}

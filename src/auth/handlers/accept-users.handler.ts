import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Attributes } from '../../common/attributes';
import { usernameKey } from '../../common/username';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { ConfigurationError } from '../../config/env.validation';
import { PasswordHasher } from '../password-hasher';
import type { AuthenticationHandler, HandlerResult } from './authentication-handler';

/**
 * The static list CAS_AUTHN_ACCEPT_USERS (CAS's AcceptUsersAuthenticationHandler, `cas.authn.accept.*`,
 * with its `name` and `order`). The passwords are hashed at boot, so checking one costs the
 * argon2id verify any other check costs; users are found by the canonical form of their name.
 */
@Injectable()
export class AcceptUsersAuthenticationHandler implements AuthenticationHandler, OnModuleInit {
  private readonly logger = new Logger('Authentication');
  readonly name: string;
  readonly order: number;
  /** Static users by canonical username. */
  private readonly users = new Map<string, { username: string; hash: string; attributes: Attributes }>();

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly hasher: PasswordHasher,
  ) {
    this.name = config.acceptUsersHandler.name;
    this.order = config.acceptUsersHandler.order;
  }

  async onModuleInit(): Promise<void> {
    for (const u of this.config.users) {
      const key = usernameKey(u.username);
      const taken = this.users.get(key);
      if (taken) {
        // Either could log in as the other: refuse to start rather than pick one.
        throw new ConfigurationError(`CAS_AUTHN_ACCEPT_USERS: '${taken.username}' and '${u.username}' are one username (case and Unicode forms are not told apart)`);
      }
      this.users.set(key, { username: u.username, hash: await this.hasher.hash(u.password), attributes: u.attributes });
    }
    if (this.config.usingDefaultUsers) {
      this.logger.warn('CAS_AUTHN_ACCEPT_USERS not set: the demo user casuser is enabled. Set your own users in production.');
    }
  }

  async authenticate(username: string, password: string): Promise<HandlerResult> {
    const user = this.users.get(usernameKey(username));
    if (!user) return { kind: 'unknown' };
    return (await this.hasher.verify(user.hash, password))
      ? { kind: 'success', username: user.username, attributes: user.attributes }
      : { kind: 'rejected' };
  }
}

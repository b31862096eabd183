import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Attributes, CAS_CONFIG, type CasConfig } from '../config/cas-config';

export interface AuthenticatedPrincipal {
  username: string;
  attributes: Attributes;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
// Unknown usernames are compared against this so they cost the same as a wrong password.
const DUMMY = digest('\u0000no-such-user\u0000');

/**
 * Static users from CAS_AUTHN_ACCEPT_USERS (CAS's AcceptUsersAuthenticationHandler). Passwords
 * are compared as SHA-256 digests with timingSafeEqual: constant time whatever their lengths.
 */
@Injectable()
export class Authenticator implements OnModuleInit {
  private readonly logger = new Logger('Authentication');
  private readonly users = new Map<string, { digest: Buffer; attributes: Attributes }>();

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {
    for (const u of config.users) this.users.set(u.username, { digest: digest(u.password), attributes: u.attributes });
  }

  onModuleInit(): void {
    if (this.config.usingDefaultUsers) {
      this.logger.warn('CAS_AUTHN_ACCEPT_USERS not set: the demo user casuser is enabled. Set your own users in production.');
    }
  }

  /** The principal for these credentials, or null. One generic outcome for unknown user and wrong password. */
  authenticate(username: string, password: string): AuthenticatedPrincipal | null {
    const user = this.users.get(username);
    const ok = timingSafeEqual(user?.digest ?? DUMMY, digest(password)) && user !== undefined;
    return ok ? { username, attributes: user.attributes } : null;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { usernameKey } from '../../../common/username';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import { PrincipalAttributesResolver } from '../../attributes/principal-attributes-resolver';
import type { AuthenticatedPrincipal } from '../../authenticator';
import { UserStore } from '../../user-store';

/** The handler a passkey login is released with (CAS's WebAuthnAuthenticationHandler). */
export const WEBAUTHN_HANDLER = 'WebAuthnAuthenticationHandler';

/**
 * The principal of a passkey login, which no password handler saw: the account's attributes
 * from the `users` table or the static list (as their handlers give them), then the attribute
 * repositories, as at a password login. A disabled account of the `users` table gets null: its
 * passkeys do not outlive `npm run users -- disable`. A directory (LDAP) account's state is not
 * asked (CAS's WebAuthn primary authentication resolves the principal the same way).
 */
@Injectable()
export class WebAuthnPrincipals {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly users: UserStore,
    private readonly attributes: PrincipalAttributesResolver,
  ) {}

  async principal(username: string): Promise<AuthenticatedPrincipal | null> {
    const stored = await this.users.find(username);
    if (stored?.disabled) return null;
    const key = usernameKey(username);
    const listed = this.config.users.find((u) => usernameKey(u.username) === key);
    const own = stored?.attributes ?? listed?.attributes ?? {};
    return { username, attributes: await this.attributes.atLogin(username, own), handler: WEBAUTHN_HANDLER };
  }
}

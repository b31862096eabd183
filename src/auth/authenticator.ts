import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Attributes } from '../common/attributes';
import { CasMetrics } from '../metrics/cas-metrics';
import { PrincipalAttributesResolver } from './attributes/principal-attributes-resolver';
import {
  type AccountState,
  AUTHENTICATION_HANDLERS,
  type AuthenticationHandler,
  type HandlerResult,
  type PasswordWarning,
} from './handlers/authentication-handler';
import { PasswordHasher } from './password-hasher';
import type { AccountLookup } from './user-store';

export interface AuthenticatedPrincipal {
  username: string;
  attributes: Attributes;
  /** Name of the handler that authenticated the user (CAS successfulAuthenticationHandlers). */
  handler: string;
  /** The password expires soon: shown after login, before going on. */
  warning?: PasswordWarning;
}

/**
 * `authenticated`; `failed`: one outcome for an unknown user and a wrong password, with the
 * account's `state` when the handler that knows the user gave one (locked, expired, …), and where
 * to change the password when it gave that too;
 * `unavailable`: no handler could decide and at least one was down.
 */
export type AuthenticationResult =
  | { kind: 'authenticated'; principal: AuthenticatedPrincipal }
  | { kind: 'failed'; state?: AccountState; changeUrl?: string }
  | { kind: 'unavailable' };

/**
 * Password authentication through the chain of handlers (AUTHENTICATION_HANDLERS), by `order`.
 * The first handler that knows the user decides, success or refusal: a user of the `users` table
 * is never tried against the static list with another password. A handler that is down is logged
 * and skipped (CAS's default "any" policy); only when none could decide and one was down is the
 * answer `unavailable`. Every attempt costs one argon2id verify: the handler that knows the user
 * makes it, and when none did, a dummy hash takes its place, so response times do not tell which
 * usernames exist.
 */
@Injectable()
export class Authenticator implements OnModuleInit {
  private readonly logger = new Logger('Authentication');
  private readonly handlers: AuthenticationHandler[];
  private dummyHash: string;

  constructor(
    @Inject(AUTHENTICATION_HANDLERS) handlers: AuthenticationHandler[],
    private readonly hasher: PasswordHasher,
    private readonly attributes: PrincipalAttributesResolver,
    private readonly metrics: CasMetrics,
  ) {
    // A stable sort: equal orders keep the provider's order.
    this.handlers = [...handlers].sort((a, b) => a.order - b.order);
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hasher.hash('\u0000no-such-user\u0000');
  }

  /** `lookedUp`: the users-table account of `username`, read ahead with the form token's use. */
  async authenticate(username: string, password: string, lookedUp?: AccountLookup): Promise<AuthenticationResult> {
    let unavailable = false;
    for (const handler of this.handlers) {
      const result = await this.ask(handler, username, password, lookedUp);
      switch (result.kind) {
        case 'success': {
          // The attribute repositories, once, at login: validations read the session, not them.
          const attributes = await this.attributes.atLogin(result.username, result.attributes);
          this.metrics.loginSucceeded(handler.name);
          return {
            kind: 'authenticated',
            principal: { username: result.username, attributes, handler: handler.name, warning: result.warning },
          };
        }
        case 'rejected':
          this.metrics.loginFailed(handler.name, result.state ?? INVALID_CREDENTIALS);
          return { kind: 'failed', state: result.state, changeUrl: result.changeUrl };
        case 'unavailable':
          unavailable = true;
          // The error's message only: the username and the password stay out of the log.
          this.logger.error(`${handler.name} is unavailable, trying the next handler: ${errorText(result.error)}`);
          break;
        case 'unknown':
          break;
      }
    }
    await this.hasher.verify(this.dummyHash, password);
    if (unavailable) this.metrics.loginUnavailable();
    else this.metrics.loginFailed(undefined, INVALID_CREDENTIALS);
    return unavailable ? { kind: 'unavailable' } : { kind: 'failed' };
  }

  private async ask(handler: AuthenticationHandler, username: string, password: string, lookedUp?: AccountLookup): Promise<HandlerResult> {
    try {
      return await handler.authenticate(username, password, lookedUp);
    } catch (error) {
      return { kind: 'unavailable', error };
    }
  }
}

/** The failure reason of a refusal without an account state: an unknown user or a wrong password, not told apart. */
const INVALID_CREDENTIALS = 'invalid-credentials';

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 500);
}

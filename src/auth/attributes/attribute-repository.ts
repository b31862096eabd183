import type { Attributes } from '../../common/attributes';

/**
 * A source of attributes about a user that did not authenticate them (CAS's attribute repository,
 * `cas.authn.attribute-repository.jdbc[n]` / `.ldap[n]`): asked once at login, after the
 * authentication handler succeeded, and merged onto the handler's attributes.
 */
export interface AttributeRepository {
  /** CAS's repository `id`: names the repository in the log and in `resolveAttributes`. */
  readonly id: string;
  /** Lower is asked and merged first (CAS's `order`); equal orders keep the provider's order. */
  readonly order: number;
  /**
   * The user's attributes, or `null` when this repository has no such user. Throwing (down, timed
   * out, a bad query) does not fail the login: the resolver logs the repository's id and the
   * error's message (so a message must hold no secret) and goes on. The login waits for every
   * repository: each bounds its own time (connect and response timeouts).
   */
  resolve(username: string): Promise<Attributes | null>;
  /** Releases its connections at shutdown (a pool, a directory connection), if it holds any. */
  close?(): Promise<void>;
}

/**
 * The configured attribute repositories (an array), assembled by one provider in auth.module.ts
 * like AUTHENTICATION_HANDLERS: a source configured by environment is one more entry there.
 */
export const ATTRIBUTE_REPOSITORIES = Symbol('ATTRIBUTE_REPOSITORIES');

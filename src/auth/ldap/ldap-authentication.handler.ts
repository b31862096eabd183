import { Logger } from '@nestjs/common';
import { type Client, type Entry, InvalidDNSyntaxError, ResultCodeError } from 'ldapts';
import type { Attributes } from '../../common/attributes';
import type { Clock } from '../../common/clock';
import type { LdapSourceConfig } from '../../config/ldap-config';
import type { AuthenticationHandler, HandlerResult } from '../handlers/authentication-handler';
import { LdapConnectionPool } from './ldap-connection-pool';
import { FilterTemplate, formatDn } from './ldap-escaping';
import { bindOutcome, type BindOutcome, passwordPolicyAttributes, passwordPolicyControl, type PasswordPolicyControl } from './password-policy';

/** What one user's bind and entry read gave. */
interface UserBind {
  /** The LDAP result the bind was refused with; undefined when it succeeded. */
  error?: ResultCodeError;
  /** The ppolicy request control the bind was sent with, holding the server's answer. */
  control?: PasswordPolicyControl;
  entry?: Entry;
  /** More than one entry matched (AD's search as the user). */
  ambiguous?: number;
}

/**
 * One `cas.authn.ldap[n]` source (CAS's LdapAuthenticationHandler), by `type`:
 * - AUTHENTICATED: search `base-dn` for `search-filter` as the service account, then bind as the
 *   entry found with the password;
 * - ANONYMOUS: the same search without binding first;
 * - DIRECT: bind as `dn-format` with the name, then read that entry as the user;
 * - AD: bind as `dn-format` (`%s@example.org`), then search `base-dn` for `search-filter`
 *   (sAMAccountName) as the user.
 * No entry → `unknown` (the next handler is asked); several → `rejected`, logged: the name does not
 * say who is logging in (CAS refuses too). The password is never sent empty: an empty simple bind
 * is an anonymous bind (RFC 4513 §5.1.2), which a server answers with success.
 */
export class LdapAuthenticationHandler implements AuthenticationHandler {
  readonly name: string;
  readonly order: number;
  private readonly filter: FilterTemplate;
  /**
   * What each search asks for: the released attributes, the principal's and the password policy's
   * (AD's expiry time); `1.1` is none (RFC 4511).
   */
  private readonly attributes: string[];

  constructor(
    readonly source: LdapSourceConfig,
    readonly pool: LdapConnectionPool,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.name = source.name;
    this.order = source.order;
    this.filter = new FilterTemplate(source.searchFilter);
    const wanted = new Set(source.principalAttributeList.map((m) => m.attribute));
    if (source.principalAttributeId) wanted.add(source.principalAttributeId);
    for (const a of passwordPolicyAttributes(source.passwordPolicy)) wanted.add(a);
    this.attributes = wanted.size ? [...wanted] : ['1.1'];
  }

  /**
   * `unavailable` when no server of the source answered, a search failed (base DN missing, no
   * access) or a response timed out: the chain asks the next handler.
   */
  async authenticate(username: string, password: string): Promise<HandlerResult> {
    if (username === '') return { kind: 'unknown' };
    try {
      switch (this.source.type) {
        case 'AUTHENTICATED':
        case 'ANONYMOUS':
          return await this.searchThenBind(username, password);
        case 'DIRECT':
        case 'AD':
          return await this.bindThenRead(username, password);
      }
    } catch (error) {
      return { kind: 'unavailable', error };
    }
  }

  private async searchThenBind(username: string, password: string): Promise<HandlerResult> {
    const entries = await this.pool.use((c) => this.search(c, this.source.baseDn!, username));
    if (entries.length === 0) return { kind: 'unknown' };
    if (entries.length > 1) return this.ambiguous(entries.length);
    if (password === '') return { kind: 'rejected' };
    const [entry] = entries;
    const bound = await this.pool.use((c) => this.bindAs(c, entry.dn, password), { userBind: true });
    return this.result(bound, username, entry);
  }

  private async bindThenRead(username: string, password: string): Promise<HandlerResult> {
    const dn = formatDn(this.source.dnFormat!, username);
    if (dn === undefined) return { kind: 'unknown' };
    if (password === '') return { kind: 'rejected' };
    const bound = await this.pool.use(
      async (c): Promise<UserBind> => {
        const bind = await this.bindAs(c, dn, password);
        if (bind.error) return bind;
        const entries =
          this.source.type === 'DIRECT'
            ? (await c.search(dn, { scope: 'base', attributes: this.attributes })).searchEntries
            : await this.search(c, this.source.baseDn!, username);
        return entries.length > 1 ? { ambiguous: entries.length } : { ...bind, entry: entries[0] };
      },
      { userBind: true },
    );
    if (bound.ambiguous) return this.ambiguous(bound.ambiguous);
    // A DN made of the name typed that is no DN at all: no such user, not a server fault.
    if (bound.error instanceof InvalidDNSyntaxError) return { kind: 'rejected' };
    if (!bound.error && !bound.entry) {
      this.logger.warn(`${this.name}: the user's bind succeeded but the entry could not be read as the user; no attributes released`);
    }
    return this.result(bound, username, bound.entry);
  }

  /** At most two entries: one more than a login can use tells that the name is ambiguous. */
  private async search(c: Client, baseDn: string, username: string): Promise<Entry[]> {
    const { searchEntries } = await c.search(baseDn, {
      scope: this.source.subtreeSearch ? 'sub' : 'one',
      filter: this.filter.filterFor(username),
      attributes: this.attributes,
      sizeLimit: 2,
    });
    return searchEntries;
  }

  private ambiguous(count: number): HandlerResult {
    this.logger.error(`${this.name}: ${count} or more entries match ${this.source.searchFilter} for one name; refusing the login (make the filter match one entry)`);
    return { kind: 'rejected' };
  }

  /**
   * Binds as the user, with the ppolicy request control when the policy is GENERIC: ldapts fills
   * it with the server's response control. An LDAP refusal is returned, for the password policy to
   * read; a broken connection is thrown (the pool retries or the source is unavailable).
   */
  private async bindAs(c: Client, dn: string, password: string): Promise<UserBind> {
    const control = passwordPolicyControl(this.source.passwordPolicy);
    try {
      await c.bind(dn, password, control);
      return { control };
    } catch (error) {
      if (error instanceof ResultCodeError) return { error, control };
      throw error;
    }
  }

  private result(bound: UserBind, username: string, entry: Entry | undefined): HandlerResult {
    const outcome: BindOutcome = bindOutcome(this.source.passwordPolicy, bound.error, bound.control, entry, this.clock.now());
    if (outcome.kind !== 'success') return outcome;
    const principal = this.principal(username, entry);
    return { kind: 'success', username: principal, attributes: entry ? this.released(entry) : {}, warning: outcome.warning };
  }

  /** `principal-attribute-id`'s first value; the name typed without one, or when the entry has none (CAS's default). */
  private principal(username: string, entry: Entry | undefined): string {
    const id = this.source.principalAttributeId;
    if (!id) return username;
    const value = entry && values(entry, id)[0];
    if (value) return value;
    this.logger.warn(`${this.name}: the entry has no ${id}; the principal is the name typed`);
    return username;
  }

  /** `principal-attribute-list`, each attribute under its release name (`memberOf:groups`). */
  private released(entry: Entry): Attributes {
    const out: Attributes = {};
    for (const { attribute, name } of this.source.principalAttributeList) {
      const v = values(entry, attribute);
      if (v.length) out[name] = [...(out[name] ?? []), ...v];
    }
    return out;
  }
}

/** An attribute's values; attribute names are case-insensitive (RFC 4512). */
function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return [];
  const v = entry[key];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

import { Logger } from '@nestjs/common';
import type { Entry } from 'ldapts';
import type { Attributes } from '../../common/attributes';
import type { LdapAttributeRepositoryConfig } from '../../config/ldap-config';
import { LdapConnectionPool } from '../ldap/ldap-connection-pool';
import { FilterTemplate } from '../ldap/ldap-escaping';

/**
 * `cas.authn.attribute-repository.ldap[n]`: the user's attributes from a directory that did not
 * authenticate them (CAS's LdapPersonAttributeDao). The same pool as the LDAP handlers (failover,
 * timeouts, the service account bound once per connection, never reconnected in clear) and the
 * same filter template: the principal is a value of the parsed filter, never filter syntax.
 * Shaped as auth/attributes/attribute-repository.ts's AttributeRepository (id, order, resolve,
 * close) on the attr-repos branch, to be listed in its ATTRIBUTE_REPOSITORIES provider.
 */
export class LdapAttributeRepository {
  readonly id: string;
  readonly order: number;
  private readonly filter: FilterTemplate;
  readonly pool: LdapConnectionPool;

  constructor(private readonly config: LdapAttributeRepositoryConfig, logger = new Logger('AttributeRepository')) {
    this.id = config.id;
    this.order = config.order;
    this.filter = new FilterTemplate(config.searchFilter);
    this.pool = new LdapConnectionPool(config, config.id, logger);
  }

  /** The entry's attributes; null when no entry matches; throws when several do or the directory is down. */
  async resolve(username: string): Promise<Attributes | null> {
    const { searchEntries } = await this.pool.use((c) =>
      c.search(this.config.baseDn, {
        scope: this.config.subtreeSearch ? 'sub' : 'one',
        filter: this.filter.filterFor(username),
        attributes: [...new Set(this.config.attributes.map((a) => a.attribute))],
        sizeLimit: 2,
      }),
    );
    if (searchEntries.length === 0) return null;
    if (searchEntries.length > 1) throw new Error(`${searchEntries.length} or more entries match ${this.config.searchFilter} for one user`);
    return released(searchEntries[0], this.config.attributes);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function released(entry: Entry, mappings: LdapAttributeRepositoryConfig['attributes']): Attributes {
  const out: Attributes = {};
  for (const { attribute, name } of mappings) {
    const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === attribute.toLowerCase());
    if (key === undefined) continue;
    const v = entry[key];
    const values = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
    // ldapts lists an attribute asked for but absent with no values: not released.
    if (values.length) out[name] = [...(out[name] ?? []), ...values];
  }
  return out;
}

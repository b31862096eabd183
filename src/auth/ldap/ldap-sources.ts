import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { LdapAuthenticationHandler } from './ldap-authentication.handler';
import { LdapConnectionPool } from './ldap-connection-pool';

/**
 * The `cas.authn.ldap[n]` sources: one handler and one connection pool each, opened at boot
 * (min-pool-size, in the background: a directory that is down does not stop the server) and
 * closed with the application.
 */
@Injectable()
export class LdapSources implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Authentication');
  readonly handlers: LdapAuthenticationHandler[];

  constructor(@Inject(CAS_CONFIG) config: CasConfig, clock: Clock) {
    this.handlers = config.ldap.map(
      (source) => new LdapAuthenticationHandler(source, new LdapConnectionPool(source, source.name, this.logger), this.logger, clock),
    );
  }

  onModuleInit(): void {
    for (const h of this.handlers) {
      const s = h.source;
      // Never the credential: the service account's DN only.
      const account = s.bindDn ? `as ${s.bindDn}` : 'anonymously';
      this.logger.log(`${s.name}: LDAP ${s.type} source, order ${s.order}, ${s.urls.join(' ')}${s.useStartTls ? ' with StartTLS' : ''}, connecting ${account}`);
      h.pool.warm();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.handlers.map((h) => h.pool.close()));
  }
}

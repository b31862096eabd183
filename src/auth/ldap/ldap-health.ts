import { Injectable } from '@nestjs/common';
import { ResultCodeError } from 'ldapts';
import { Clock } from '../../common/clock';
import type { LdapAuthenticationHandler } from './ldap-authentication.handler';
import { LdapSources } from './ldap-sources';

/** A state this recent is answered from the cache; an older one is checked again. */
export const LDAP_HEALTH_MAX_AGE_MS = 30_000;
/** How long a caller waits for a check under way before it is answered with the state it had. */
const WAIT_FOR_CHECK_MS = 300;

/** One directory source as last checked from this node. */
export interface LdapSourceHealth {
  name: string;
  /** Its servers, in the order they are tried. */
  urls: string[];
  /** `unknown`: not checked yet, or the first check is still under way. */
  state: 'up' | 'down' | 'unknown';
  /** When the state was found (ISO 8601). */
  checkedAt?: string;
  /** Why it is down: the error's message (never a credential: the pool's errors name servers only). */
  error?: string;
}

/**
 * Whether this node reaches each `cas.authn.ldap[n]` source, for the console's overview. Checked
 * only when asked and the last answer is older than 30 s (no schedule: a server nobody looks at
 * sees no extra traffic): one base-scope read of the root DSE through the source's own pool, so
 * the check takes its connection the way a login would, failover included. Any LDAP answer, even
 * a refusal, means the server is up; no answer (refused, timed out, TLS failure) means down. A
 * caller waits at most 300 ms for a check and then gets the previous state.
 */
@Injectable()
export class LdapHealth {
  private readonly states = new Map<string, LdapSourceHealth>();
  private readonly checks = new Map<string, Promise<void>>();

  constructor(
    private readonly sources: LdapSources,
    private readonly clock: Clock,
  ) {}

  async sourcesHealth(): Promise<LdapSourceHealth[]> {
    const now = this.clock.now().getTime();
    const stale = this.sources.handlers.filter((h) => {
      const s = this.states.get(h.name);
      return !s?.checkedAt || now - Date.parse(s.checkedAt) >= LDAP_HEALTH_MAX_AGE_MS;
    });
    if (stale.length) {
      const stop = new AbortController();
      await Promise.race([Promise.all(stale.map((h) => this.check(h))), this.clock.sleep(WAIT_FOR_CHECK_MS, stop.signal)]);
      stop.abort();
    }
    return this.sources.handlers.map((h) => this.states.get(h.name) ?? { name: h.name, urls: h.source.urls, state: 'unknown' });
  }

  /** Checks one source now (a check under way is joined). */
  private check(h: LdapAuthenticationHandler): Promise<void> {
    let running = this.checks.get(h.name);
    if (!running) {
      running = h.pool
        .use((c) => c.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'], sizeLimit: 1 }))
        .then(
          () => undefined,
          (error: unknown) => (error instanceof ResultCodeError ? undefined : error),
        )
        .then((error) => {
          const state: LdapSourceHealth = { name: h.name, urls: h.source.urls, state: error === undefined ? 'up' : 'down', checkedAt: this.clock.now().toISOString() };
          if (error !== undefined) state.error = error instanceof Error ? error.message : String(error);
          this.states.set(h.name, state);
        })
        .finally(() => this.checks.delete(h.name));
      this.checks.set(h.name, running);
    }
    return running;
  }
}

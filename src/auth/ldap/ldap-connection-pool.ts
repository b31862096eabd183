import { Logger } from '@nestjs/common';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import type { LdapConnectionConfig } from '../../config/ldap-config';

/**
 * What `use` runs on a connection. Throwing an LDAP result (ResultCodeError: wrong password, no
 * such object, …) leaves the connection healthy; any other error (socket closed, timeout) means
 * the connection is broken and it is closed.
 */
export type ConnectionWork<T> = (client: Client) => Promise<T>;

interface Waiter {
  wake: () => void;
}

/**
 * The connections to one directory source (CAS's pooled connection factory, `min-pool-size` to
 * `max-pool-size`), reused across logins.
 *
 * - Each connection is opened against the `ldap-url`s in order, the first that answers taking it
 *   (CAS's default active-passive strategy): a server that refuses, or does not answer within
 *   `connect-timeout` (TCP and TLS) or `response-timeout` (StartTLS, the service bind), is passed
 *   over for the next one.
 * - A connection is bound once, when opened, as the service account (`bind-dn`), or stays
 *   anonymous. Work that binds as a user (`use(work, { userBind: true })`) gets the connection back
 *   bound as the service account again before anyone else may take it (ldaptive's BIND
 *   passivator): the rebind runs after the caller has its answer, so a login waits for two round
 *   trips, not three, and a connection whose rebind fails is closed. No connection ever waits in
 *   the pool bound as a user.
 * - ldapts reconnects a client by itself when its socket closed, in clear and unbound, even after
 *   StartTLS: the pool never lets it. A connection whose socket closed is dropped, and work is
 *   only ever started on a connected client (checked synchronously before the call).
 */
export class LdapConnectionPool {
  private readonly idle: Client[] = [];
  /** Open, opening and in use. */
  private size = 0;
  private readonly waiters: Waiter[] = [];
  /** Opens and rebinds under way, awaited by close(). */
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly settings: LdapConnectionConfig,
    /** For log lines: the handler's name. */
    private readonly label: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `work` on a pooled connection. A connection taken from the pool may have died while idle
   * (the server restarted, a firewall dropped it): when it fails other than with an LDAP result,
   * the work is run once more on a freshly opened connection, which fails over to the next URL.
   */
  async use<T>(work: ConnectionWork<T>, opts: { userBind?: boolean } = {}): Promise<T> {
    const first = await this.acquire();
    try {
      return await this.run(first.client, work, opts);
    } catch (error) {
      if (!first.reused || error instanceof ResultCodeError) throw error;
      const fresh = await this.acquire(true);
      return await this.run(fresh.client, work, opts);
    }
  }

  /** Opens `min-pool-size` connections in the background; a source that is down is only logged. */
  warm(): void {
    const missing = this.settings.minPoolSize - this.size;
    for (let i = 0; i < missing; i++) {
      this.size++;
      this.track(
        this.open().then(
          (client) => this.release(client),
          (error) => {
            this.size--;
            this.wakeOne();
            if (i === 0) this.logger.warn(`${this.label}: could not open its connections at boot (${errorText(error)}); logins will try again`);
          },
        ),
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.wake();
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled(this.idle.splice(0).map((c) => this.discard(c)));
  }

  private async run<T>(client: Client, work: ConnectionWork<T>, opts: { userBind?: boolean }): Promise<T> {
    let result: T;
    try {
      // Synchronously before the call, so ldapts cannot reconnect the client in clear and unbound.
      if (!client.isConnected) throw new Error('connection closed');
      result = await work(client);
    } catch (error) {
      if (error instanceof ResultCodeError) this.giveBack(client, opts.userBind);
      else void this.drop(client);
      throw error;
    }
    this.giveBack(client, opts.userBind);
    return result;
  }

  /** Back to the pool, first bound as the service account (or anonymous) again after a user's bind. */
  private giveBack(client: Client, afterUserBind = false): void {
    if (!afterUserBind) return this.release(client);
    this.track(
      (async () => {
        try {
          if (!client.isConnected) throw new Error('connection closed');
          await this.bindService(client);
        } catch {
          return this.drop(client);
        }
        this.release(client);
      })(),
    );
  }

  private async acquire(fresh = false): Promise<{ client: Client; reused: boolean }> {
    const deadline = Date.now() + this.settings.connectTimeoutMs + this.settings.responseTimeoutMs;
    for (;;) {
      if (this.closed) throw new Error(`${this.label}: connection pool closed`);
      if (!fresh) {
        const client = this.takeIdle();
        if (client) return { client, reused: true };
      }
      if (this.size < this.settings.maxPoolSize) {
        this.size++;
        try {
          return { client: await this.open(), reused: false };
        } catch (error) {
          this.size--;
          this.wakeOne();
          throw error;
        }
      }
      if (fresh) {
        // Full: make room by closing an idle connection, or wait for one to come back.
        const idle = this.takeIdle();
        if (idle) {
          await this.drop(idle);
          continue;
        }
      }
      await this.waitForChange(deadline);
    }
  }

  private takeIdle(): Client | undefined {
    for (let client = this.idle.pop(); client; client = this.idle.pop()) {
      if (client.isConnected) return client;
      this.size--;
    }
    return undefined;
  }

  private release(client: Client): void {
    if (this.closed || !client.isConnected) {
      void this.drop(client);
      return;
    }
    this.idle.push(client);
    this.wakeOne();
  }

  private async drop(client: Client): Promise<void> {
    this.size--;
    this.wakeOne();
    await this.discard(client);
  }

  private async discard(client: Client): Promise<void> {
    try {
      await client.unbind();
    } catch {
      // Already closed: nothing to end.
    }
  }

  private wakeOne(): void {
    this.waiters.shift()?.wake();
  }

  /** Until a connection comes back or room is made; an error at the deadline (pool exhausted). */
  private waitForChange(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`${this.label}: no connection free within ${this.settings.connectTimeoutMs + this.settings.responseTimeoutMs} ms (max-pool-size ${this.settings.maxPoolSize})`));
      }, Math.max(0, deadline - Date.now()));
      timer.unref();
      this.waiters.push(waiter);
    });
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** A connection to the first URL that answers, bound as the service account. */
  private async open(): Promise<Client> {
    const failures: string[] = [];
    for (const url of this.settings.urls) {
      try {
        const client = await this.connect(url);
        if (this.closed) {
          await this.discard(client);
          throw new Error('connection pool closed');
        }
        if (failures.length) this.logger.warn(`${this.label}: ${failures.join('; ')}; connected to ${url}`);
        return client;
      } catch (error) {
        failures.push(`${url} failed (${errorText(error)})`);
      }
    }
    throw new Error(`${this.label}: no LDAP server answered: ${failures.join('; ')}`);
  }

  private async connect(url: string): Promise<Client> {
    const { connectTimeoutMs, responseTimeoutMs, trustCertificates } = this.settings;
    const ldaps = /^ldaps:/i.test(url);
    const client = new Client({
      url,
      connectTimeout: connectTimeoutMs,
      timeout: responseTimeoutMs,
      // Only for ldaps://: ldapts opens a TLS socket whenever tlsOptions has a value, which on an
      // ldap:// URL would be TLS on the clear port instead of StartTLS.
      tlsOptions: ldaps ? { ca: trustCertificates } : undefined,
    });
    try {
      if (this.settings.useStartTls) await this.startTls(client, url);
      await this.bindService(client);
      return client;
    } catch (error) {
      await this.discard(client);
      throw error;
    }
  }

  private async startTls(client: Client, url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    // `host` is what the certificate is checked against; SNI takes names only.
    const options: ConnectionOptions = { ca: this.settings.trustCertificates, host, servername: isIP(host) ? undefined : host };
    // ldapts times the StartTLS request but not the TLS handshake after it.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('StartTLS timed out')), this.settings.connectTimeoutMs + this.settings.responseTimeoutMs);
    });
    try {
      await Promise.race([client.startTLS(options), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** As the service account, or anonymous (an empty simple bind) when the source has none. */
  private async bindService(client: Client): Promise<void> {
    const { bindDn, bindCredential } = this.settings;
    await client.bind(bindDn ?? '', bindDn === undefined ? '' : bindCredential);
  }
}

/** An error's message for the log, without control characters; never a credential (ldapts puts none in its errors). */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
}

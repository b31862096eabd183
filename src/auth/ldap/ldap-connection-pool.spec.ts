import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { LdapConnectionConfig } from '../../config/ldap-config';
import { LdapConnectionPool } from './ldap-connection-pool';

// Servers that are down in the two ways a directory goes down: nothing listens (refused at once),
// or something accepts the connection and never answers (a hung slapd, a half-open firewall):
// only response-timeout detects that one. The healthy paths run against slapd (test/e2e/ldap-*).

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

const settings = (urls: string[]): LdapConnectionConfig => ({
  urls,
  useStartTls: false,
  bindDn: 'cn=cas,dc=example,dc=org',
  bindCredential: 'service secret never logged',
  connectTimeoutMs: 200,
  responseTimeoutMs: 200,
  minPoolSize: 0,
  maxPoolSize: 2,
});

describe('LdapConnectionPool when the directory is down', () => {
  let hung: Server;
  let hungPort: number;
  const sockets: Socket[] = [];
  const logger = new Logger('test');
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    hung = createServer((s) => sockets.push(s));
    hungPort = await listen(hung);
  });
  beforeEach(() => {
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => hung.close(r));
  });

  it('tries every URL in order and fails naming each, without the credential', async () => {
    const a = await deadPort();
    const urls = [`ldap://127.0.0.1:${hungPort}`, `ldap://127.0.0.1:${a}`];
    const pool = new LdapConnectionPool(settings(urls), 'Directory', logger);
    const work = jest.fn();
    const error: Error = await pool.use(work).then(
      () => {
        throw new Error('expected the pool to fail');
      },
      (e: Error) => e,
    );
    expect(work).not.toHaveBeenCalled();
    expect(error.message).toMatch(new RegExp(`^Directory: no LDAP server answered: ldap://127.0.0.1:${hungPort} failed \\(.*timed out.*\\); ldap://127.0.0.1:${a} failed \\(.*ECONNREFUSED.*\\)$`));
    expect(error.message).not.toContain('never logged');
    // The hung server got a connection (and the bind) before the next URL was tried.
    expect(sockets.length).toBeGreaterThan(0);
    await pool.close();
  });

  it('warm() at boot only logs when no server answers, and close() waits for it', async () => {
    const pool = new LdapConnectionPool({ ...settings([`ldap://127.0.0.1:${await deadPort()}`]), minPoolSize: 2 }, 'Directory', logger);
    pool.warm();
    await pool.close();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^Directory: could not open its connections at boot \(.*ECONNREFUSED.*\); logins will try again$/);
    await expect(pool.use(async () => 1)).rejects.toThrow('Directory: connection pool closed');
  });
});

import { AddressInfo } from 'node:net';
import { freePort } from '../../src/database/embedded-postgres';
import { startTestApp, TestApp } from './test-app';

export interface ListeningCasOptions {
  env?: Record<string, string>;
  /** The registered services (default: test-services' TEST_SERVICES). */
  services?: Record<string, unknown>[];
  /**
   * The host in CAS_SERVER_PREFIX; the server listens on 127.0.0.1 either way. WebAuthn needs a
   * secure context, which plain http has only on `localhost`.
   */
  host?: '127.0.0.1' | 'localhost';
}

/**
 * The test app listening on a real port, for clients outside the process (a browser, npm CAS
 * client libraries). CAS_SERVER_PREFIX names that port: the absolute URLs the server hands out
 * (redirects, form actions) come from it, so the port must be known before the app is built.
 */
export async function startListeningCas(opts: ListeningCasOptions = {}): Promise<{ t: TestApp; casUrl: string; casPort: number }> {
  const casPort = await freePort();
  const casUrl = `http://${opts.host ?? '127.0.0.1'}:${casPort}/cas`;
  const t = await startTestApp({ services: opts.services, env: { CAS_SERVER_PREFIX: casUrl, ...opts.env } });
  try {
    await t.app.listen({ port: casPort, host: '127.0.0.1' });
    // freePort only saw the port free a moment ago: make sure the server got that one.
    expect((t.app.getHttpServer().address() as AddressInfo).port).toBe(casPort);
  } catch (e) {
    await t.close();
    throw e;
  }
  return { t, casUrl, casPort };
}

import { Logger } from '@nestjs/common';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCasConfig, type CasConfig } from '../config/cas-config';
import { SessionEventKeys } from './session-event-keys';

const RECEIVER = { SESSION_EVENTS_WEBHOOKS: `https://siem.example.org/events|${'x'.repeat(32)}` };
const CLAIMS = JSON.stringify({ iss: 'http://localhost:8080/cas', aud: 'https://siem.example.org/events', jti: 'SET-1' });

/** A CasConfig in or out of development mode, with its data dir under `dir`. */
function configFor(dir: string, env: Record<string, string>): CasConfig {
  return loadCasConfig({ CAS_DATA_DIR: join(dir, 'data'), CAS_SERVER_PREFIX: 'http://localhost:8080/cas', ...env });
}

async function keysFor(config: CasConfig): Promise<SessionEventKeys> {
  const keys = new SessionEventKeys(config);
  await keys.onModuleInit();
  return keys;
}

describe('the session events signing key', () => {
  let dir: string;
  let warnings: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'session-event-keys-'));
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('development mode with receivers and no key: generated once into CAS_DATA_DIR (0600), reused at the next boot, with a warning that does not show it', async () => {
    const config = configFor(dir, RECEIVER);
    expect(config.development.enabled).toBe(true);
    const first = await keysFor(config);
    const file = join(dir, 'data', 'session-events-key.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', kid: expect.any(String), d: expect.any(String) });
    const token = (await first.sign(CLAIMS))!;
    // The next boot signs with the same key: what receivers fetched still verifies.
    const again = await keysFor(config);
    expect(again.jwks()).toEqual(first.jwks());
    const { payload, protectedHeader } = await jwtVerify((await again.sign(CLAIMS))!, createLocalJWKSet(first.jwks()), { typ: 'secevent+jwt' });
    expect(payload.jti).toBe('SET-1');
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'secevent+jwt', kid: stored.kid });
    await jwtVerify(token, createLocalJWKSet(again.jwks()));
    expect(warnings.join('\n')).toContain(`SESSION_EVENTS_SIGNING_KEY not set: signing session events with the development key from ${file}`);
    expect(warnings.join('\n')).not.toContain(stored.d);
  });

  it('a configured key: used as given, nothing written, published without its private part', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'events-2026' };
    const keys = await keysFor(configFor(dir, { ...RECEIVER, NODE_ENV: 'production', SESSION_EVENTS_SIGNING_KEY: JSON.stringify(jwk) }));
    expect(keys.jwks()).toEqual({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'events-2026', x: jwk.x, y: jwk.y, alg: 'ES256', use: 'sig' }] });
    expect(JSON.stringify(keys.jwks())).not.toContain(jwk.d!);
    await jwtVerify((await keys.sign(CLAIMS))!, createLocalJWKSet(keys.jwks()), { algorithms: ['ES256'] });
    expect(() => statSync(join(dir, 'data', 'session-events-key.json'))).toThrow();
    expect(warnings).toEqual([]);
  });

  it('no receiver and no key: nothing generated, an empty key set, nothing signed', async () => {
    const keys = await keysFor(configFor(dir, {}));
    expect(keys.jwks()).toEqual({ keys: [] });
    expect(await keys.sign(CLAIMS)).toBeNull();
    expect(() => statSync(join(dir, 'data', 'session-events-key.json'))).toThrow();
  });
});

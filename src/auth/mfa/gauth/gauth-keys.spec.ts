import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCasConfig, type CasConfig } from '../../../config/cas-config';
import { GauthKeys, GauthSecretUnreadableError, GauthUnavailableError } from './gauth-keys';

/** A CasConfig in or out of development mode, with its data dir under `dir`. */
function configFor(dir: string, env: Record<string, string>): CasConfig {
  return loadCasConfig({ CAS_DATA_DIR: join(dir, 'data'), CAS_SERVER_PREFIX: 'http://localhost:8080/cas', ...env });
}

function keysFor(config: CasConfig): GauthKeys {
  const keys = new GauthKeys(config);
  keys.onModuleInit();
  return keys;
}

describe('the mfa-gauth key', () => {
  let dir: string;
  let warnings: string[];
  let logs: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gauth-keys-'));
    warnings = [];
    logs = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => {
      logs.push(String(message));
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('development mode without a key: generated once into CAS_DATA_DIR (0600), reused at the next boot, with a warning that does not show it', async () => {
    const config = configFor(dir, {});
    expect(config.development.enabled).toBe(true);
    const first = keysFor(config);
    const file = join(dir, 'data', 'gauth-key.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const { encryption } = JSON.parse(readFileSync(file, 'utf8'));
    const stored = await first.encrypt('id-1', 'JBSWY3DPEHPK3PXP');
    expect(await keysFor(config).decrypt('id-1', stored)).toBe('JBSWY3DPEHPK3PXP');
    expect(JSON.parse(readFileSync(file, 'utf8')).encryption).toBe(encryption);
    expect(warnings.join('\n')).toContain(`CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY not set: using the development key from ${file}`);
    expect(warnings.join('\n')).not.toContain(encryption);
  });

  it('outside development mode without a key: none is generated, the boot log says mfa-gauth is unavailable (a plain line: no trigger needs it), every use is refused', async () => {
    const config = configFor(dir, { NODE_ENV: 'production' });
    expect(config.development.enabled).toBe(false);
    const keys = keysFor(config);
    expect(logs.join('\n')).toMatch(/mfa-gauth \(TOTP\) is unavailable: CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY is not set/);
    // Nothing asks for mfa-gauth yet (no trigger on this server): not having it is no warning.
    expect(warnings).toEqual([]);
    expect(() => readFileSync(join(dir, 'data', 'gauth-key.json'))).toThrow();
    await expect(keys.encrypt('id-1', 'JBSWY3DPEHPK3PXP')).rejects.toThrow(GauthUnavailableError);
    expect(() => keys.scratchHash('ABCD')).toThrow(GauthUnavailableError);
    expect(() => keys.assertAvailable()).toThrow(GauthUnavailableError);
  });

  it('a configured key is used as given, logged nowhere; another key cannot open what it stored', async () => {
    const key = randomBytes(32).toString('base64url');
    const keys = keysFor(configFor(dir, { NODE_ENV: 'production', CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: key }));
    expect(warnings).toEqual([]);
    expect(logs.join('\n')).not.toContain(key);
    const stored = await keys.encrypt('id-1', 'JBSWY3DPEHPK3PXP');
    expect(await keys.decrypt('id-1', stored)).toBe('JBSWY3DPEHPK3PXP');
    await expect(keys.decrypt('id-2', stored)).rejects.toThrow(GauthSecretUnreadableError);
    const other = keysFor(configFor(dir, { NODE_ENV: 'production', CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url') }));
    await expect(other.decrypt('id-1', stored)).rejects.toThrow(/does not decrypt: CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY is not the key/);
    expect(other.scratchHash('ABCD')).not.toEqual(keys.scratchHash('ABCD'));
  });
});

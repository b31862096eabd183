import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticator } from 'otplib';
import { GauthCredentials } from '../../src/auth/mfa/gauth/gauth-credentials';
import { TrustedDevices } from '../../src/auth/mfa/trusted/trusted-devices';
import { WebAuthnCredentials } from '../../src/auth/mfa/webauthn/webauthn-credentials';
import { startTestApp, TestApp } from '../helpers/test-app';

const GAUTH = {
  CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  CAS_AUTHN_MFA_GAUTH_CORE_MULTIPLE_DEVICE_REGISTRATION_ENABLED: 'true',
  CAS_AUTHN_MFA_GAUTH_CORE_TRUSTED_DEVICE_ENABLED: 'true',
};

/** `npm run users -- reset-mfa <username>`, the compiled command against the test app's database (as users.e2e-spec.ts runs it). */
describe('npm run users -- reset-mfa', () => {
  let t: TestApp;
  let out: string;
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(out, 'src/cli/users.js'), ...args], {
      encoding: 'utf8',
      // Built outside the checkout: NODE_PATH lets it find the project's node_modules.
      env: { ...process.env, NODE_PATH: join(process.cwd(), 'node_modules'), DATABASE_URL: t.config.databaseUrl, CAS_SERVICE_REGISTRY_JSON_LOCATION: t.config.serviceRegistryLocation, ...GAUTH },
    });

  beforeAll(async () => {
    t = await startTestApp({ env: GAUTH });
    out = mkdtempSync(join(tmpdir(), 'cas-cli-'));
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo')]);
  }, 180_000);
  afterAll(async () => {
    await t.close();
    rmSync(out, { recursive: true, force: true });
  });

  it("removes the user's TOTP devices and recovery codes, says how many; the user's codes stop working, another user's do not", async () => {
    const gauth = t.app.get(GauthCredentials);
    const code = (secret: string) => authenticator.clone({ step: 30, epoch: t.clock.now().getTime() }).generate(secret);
    const phone = await gauth.enrol('Alice', 'phone');
    expect(await gauth.confirm(phone.credentialId, code(phone.secret))).toMatchObject({ ok: true });
    await gauth.enrol('alice', 'tablet');
    const bob = await gauth.enrol('bob', 'phone');
    expect(await gauth.confirm(bob.credentialId, code(bob.secret))).toMatchObject({ ok: true });

    const reset = cli(['reset-mfa', 'ALICE']);
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toBe("user 'ALICE': 2 TOTP device(s) removed with their recovery codes\n");
    expect(reset.status).toBe(0);
    expect(await gauth.list('alice')).toEqual([]);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM gauth_scratch_codes WHERE credential_id = $1`, [phone.credentialId]);
    expect(rows[0].n).toBe(0);
    expect(await gauth.verify('alice', phone.scratchCodes[0])).toEqual({ ok: false, reason: 'no-device' });
    expect(await gauth.list('bob')).toHaveLength(1);
  });

  it("also revokes the user's trusted browsers (a browser trusted with the lost phone's codes would skip the new one's); another user's stay", async () => {
    const gauth = t.app.get(GauthCredentials);
    const trusted = t.app.get(TrustedDevices);
    const code = (secret: string) => authenticator.clone({ step: 30, epoch: t.clock.now().getTime() }).generate(secret);
    const phone = await gauth.enrol('carol', 'phone');
    expect(await gauth.confirm(phone.credentialId, code(phone.secret))).toMatchObject({ ok: true });
    const trust = (username: string) => trusted.remember({ username, provider: 'mfa-gauth', publicWorkstation: false }, true, undefined, 'Firefox/120.0');
    await trust('carol');
    await trust('carol');
    await trust('dave');
    await trust('erin');

    const reset = cli(['reset-mfa', 'Carol']);
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toBe("user 'Carol': 1 TOTP device(s) removed with their recovery codes\nuser 'Carol': 2 trusted browser(s) revoked\n");
    expect(reset.status).toBe(0);
    expect(await trusted.list('carol')).toEqual([]);
    // A user with trusted browsers and no TOTP device any more: the browsers are revoked.
    const onlyTrust = cli(['reset-mfa', 'dave']);
    expect(onlyTrust.stdout).toBe("user 'dave': 1 trusted browser(s) revoked\n");
    expect(onlyTrust.status).toBe(0);
    expect(await trusted.list('erin')).toHaveLength(1);
  });

  it("removes the user's security keys and passkeys (mfa-webauthn) too, and says so", async () => {
    const store = t.app.get(WebAuthnCredentials);
    const key = { publicKey: new Uint8Array([1]), transports: [], deviceType: 'singleDevice' as const, backedUp: false, aaguid: '00000000-0000-0000-0000-000000000000', userVerified: true, signCount: 0, name: 'Security key' };
    await store.add({ ...key, credentialId: 'frank-key', username: 'Frank' }, false);
    await store.add({ ...key, credentialId: 'gina-key', username: 'gina' }, false);
    const reset = cli(['reset-mfa', 'frank']);
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toBe("user 'frank': 1 security key(s) or passkey(s) (mfa-webauthn) removed\n");
    expect(reset.status).toBe(0);
    expect(await store.list('frank')).toEqual([]);
    expect(await store.list('gina')).toHaveLength(1);
  });

  it('a user without a device, a bad name or no name: a message and a non-zero status, never a stack trace', () => {
    const none = cli(['reset-mfa', 'nobody']);
    expect(none.status).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe("error: no TOTP device, security key, passkey or trusted browser registered for 'nobody': nothing to reset\n");
    const long = cli(['reset-mfa', 'a'.repeat(257)]);
    expect(long.status).toBe(1);
    expect(long.stderr).toBe('error: a username is 1 to 256 characters\n');
    const missing = cli(['reset-mfa']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('reset-mfa <username>');
  });
});

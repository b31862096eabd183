import { randomBytes } from 'node:crypto';
import { loadCasConfig } from '../../config/cas-config';
import type { MultifactorRequirement } from '../../services/multifactor-policy';
import { parseServiceDefinition } from '../../services/registered-service';
import { GauthKeys } from './gauth/gauth-keys';
import { MfaTriggers } from './mfa-triggers';

const PRODUCTION = { CAS_SERVER_PREFIX: 'https://cas.example.org/cas', DATABASE_URL: 'postgres://x/y' };

/** MfaTriggers over a real GauthKeys: with the TOTP key (mfa-gauth can run) or without (it cannot). */
function triggers(env: Record<string, string> = {}, withKey = true): MfaTriggers {
  const config = loadCasConfig({ ...PRODUCTION, ...(withKey ? { CAS_AUTHN_MFA_GAUTH_CRYPTO_ENCRYPTION_KEY: randomBytes(32).toString('base64url') } : {}), ...env });
  const keys = new GauthKeys(config);
  keys.onModuleInit();
  // The device stores are asked only when a requirement lists several providers, which these
  // cases do not (test/e2e/mfa-provider-choice.e2e-spec.ts covers that on the real tables).
  return new MfaTriggers(config, keys, undefined as never, undefined as never);
}

const need = (failureMode: MultifactorRequirement['failureMode'], forceExecution = false): MultifactorRequirement => ({
  providers: ['mfa-gauth'], failureMode, forceExecution, trigger: 'service',
});

describe('MfaTriggers.decide', () => {
  it('nothing required, or the session has an acceptable provider: nothing to ask', async () => {
    const m = triggers();
    expect(await m.decide(null, null, 'alice')).toEqual({ kind: 'none' });
    expect(await m.decide(need('CLOSED'), { 'mfa-gauth': new Date() }, 'alice')).toEqual({ kind: 'none' });
  });

  it('a new login, or a session without the factor, is asked; forceExecution asks a session that has it', async () => {
    const m = triggers();
    expect(await m.decide(need('CLOSED'), null, 'alice')).toEqual({ kind: 'ask', provider: 'mfa-gauth' });
    expect(await m.decide(need('CLOSED'), {}, 'alice')).toEqual({ kind: 'ask', provider: 'mfa-gauth' });
    expect(await m.decide(need('CLOSED', true), { 'mfa-gauth': new Date() }, 'alice')).toEqual({ kind: 'ask', provider: 'mfa-gauth' });
  });

  it('the provider cannot run: CLOSED blocks, OPEN proceeds, PHANTOM proceeds recording it, NONE does not check and asks', async () => {
    const m = triggers({}, false);
    expect(m.available('mfa-gauth')).toBe(false);
    expect(await m.decide(need('CLOSED'), null, 'alice')).toEqual({ kind: 'blocked', provider: 'mfa-gauth' });
    expect(await m.decide(need('OPEN'), null, 'alice')).toEqual({ kind: 'proceed' });
    expect(await m.decide(need('PHANTOM'), {}, 'alice')).toEqual({ kind: 'proceed', phantom: 'mfa-gauth' });
    expect(await m.decide(need('NONE'), null, 'alice')).toEqual({ kind: 'ask', provider: 'mfa-gauth' });
  });
});

describe('MfaTriggers.requirement', () => {
  const payroll = parseServiceDefinition({
    '@class': 'org.apereo.cas.services.CasRegisteredService', id: 1, name: 'Payroll', serviceId: '^https://payroll\\.example\\.org/.*',
    multifactorPolicy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy', multifactorAuthenticationProviders: ['java.util.LinkedHashSet', ['mfa-gauth']] },
  });

  it("a service's policy counts; without a service only authn_method and the global provider do", () => {
    const m = triggers({ CAS_AUTHN_MFA_TRIGGERS_PRINCIPAL_GLOBAL_PRINCIPAL_ATTRIBUTE_NAME_TRIGGERS: 'mfa' });
    const attributes = { mfa: ['mfa-gauth'] };
    expect(m.requirement({ registered: payroll, attributes: {} })?.trigger).toBe('service');
    expect(m.requirement({ registered: null, attributes })).toBeNull();
    expect(m.requirement({ registered: null, attributes, authnMethod: 'mfa-gauth' })?.trigger).toBe('authn_method');
    expect(triggers({ CAS_AUTHN_MFA_TRIGGERS_GLOBAL_GLOBAL_PROVIDER_ID: 'mfa-gauth' }).requirement({ registered: null, attributes: {} })?.trigger).toBe('global');
  });

  it('mayRequire: false only when no trigger could apply (spares SSO a session lookup)', () => {
    const m = triggers();
    expect(m.mayRequire(null, undefined)).toBe(false);
    expect(m.mayRequire(payroll, undefined)).toBe(true);
    expect(m.mayRequire(null, 'mfa-gauth')).toBe(true);
  });
});

import { Inject, Injectable } from '@nestjs/common';
import type { Attributes } from '../../common/attributes';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { isMfaProviderId, MFA_PROVIDER_IDS, type MfaProviderId } from '../../config/mfa-config';
import { type MultifactorRequirement, requiredMultifactor, satisfiedBy } from '../../services/multifactor-policy';
import type { RegisteredService } from '../../services/registered-service';
import { GauthCredentials } from './gauth/gauth-credentials';
import { GauthKeys, GauthUnavailableError } from './gauth/gauth-keys';
import { WebAuthnCredentials } from './webauthn/webauthn-credentials';

/**
 * What a login does about multi-factor authentication at one step (new login after the password,
 * SSO with a TGC, the logged-in page):
 * - `none`: nothing to ask (no trigger, bypassed, or the session already has an acceptable provider);
 * - `ask`: ask this provider's factor (step-up for a session);
 * - `blocked`: the provider cannot run and the failure mode is CLOSED: no session, no ticket;
 * - `proceed`: the provider cannot run and the failure mode lets the login go on without it:
 *   OPEN records nothing; PHANTOM records `phantom` in the session as if satisfied (so
 *   validation releases it as authnContextClass, CAS's "communicate MFA to the relying party").
 */
export type MfaDecision =
  | { kind: 'none' }
  | { kind: 'ask'; provider: MfaProviderId }
  | { kind: 'blocked'; provider: MfaProviderId }
  | { kind: 'proceed'; phantom?: MfaProviderId };

/**
 * The multi-factor triggers of a login: the rules (trigger order, bypass, failure-mode fallback)
 * are services/multifactor-policy.ts's requiredMultifactor, shared with ticket validation and
 * `/proxy`; this adds what only /login knows: the request's `authn_method`, whether a provider can
 * run now, and what the failure mode then does.
 */
@Injectable()
export class MfaTriggers {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly gauthKeys: GauthKeys,
    private readonly gauth: GauthCredentials,
    private readonly webAuthn: WebAuthnCredentials,
  ) {}

  /**
   * The requirement for a login to `registered` (null: no service, the logged-in page) by a
   * principal with `attributes`. Without a service only `authn_method` and the global provider
   * count: the service's policy and the principal-attribute trigger need a service, as in CAS
   * ("most triggers require a service parameter"); the factor is then asked when a service needs it.
   */
  requirement(r: { authnMethod?: string; registered: RegisteredService | null; attributes: Attributes }): MultifactorRequirement | null {
    const triggers = r.registered ? this.config.mfa.triggers : { ...this.config.mfa.triggers, principal: { attributeNameTriggers: [] } };
    return requiredMultifactor({
      triggers,
      knownProviders: MFA_PROVIDER_IDS,
      requested: r.authnMethod,
      policy: r.registered?.multifactorPolicy,
      attributes: r.attributes,
    });
  }

  /** Whether this step could need a factor at all: spares an SSO request without any trigger the session lookup. */
  mayRequire(registered: RegisteredService | null, authnMethod: string | undefined): boolean {
    const t = this.config.mfa.triggers;
    return !!(t.globalProviderId || authnMethod !== undefined || t.principal.attributeNameTriggers.length || registered?.multifactorPolicy?.providers.length);
  }

  /**
   * The decision for a requirement, given the factors the session already has (none for a new
   * login). `forceExecution` asks again even when the session has the factor. Availability is
   * checked before asking, except in failure mode NONE ("do not check"): the provider's own
   * failure then shows (the unavailable page).
   */
  async decide(requirement: MultifactorRequirement | null, factors: Record<string, Date> | null, username: string): Promise<MfaDecision> {
    if (!requirement) return { kind: 'none' };
    if (factors && satisfiedBy(requirement, factors) && !requirement.forceExecution) return { kind: 'none' };
    const acceptable = requirement.providers.filter(isMfaProviderId);
    // Unreachable (ids are checked when services and settings are read); refusing is the safe answer.
    if (!acceptable.length) return { kind: 'blocked', provider: MFA_PROVIDER_IDS[0] };
    const provider = await this.chooseProvider(acceptable, username);
    if (requirement.failureMode === 'NONE' || this.available(provider)) return { kind: 'ask', provider };
    if (requirement.failureMode === 'OPEN') return { kind: 'proceed' };
    if (requirement.failureMode === 'PHANTOM') return { kind: 'proceed', phantom: provider };
    return { kind: 'blocked', provider };
  }

  /**
   * The provider to ask when the session has none of the acceptable ones: with one, that one (no
   * query: the usual case costs nothing); with several (a service listing both), the first that
   * can run and for which the user has a device, so a user with an authenticator app is not sent
   * to register a security key; a user with none enrols in the first that can run. None can run:
   * the first, and the failure mode decides.
   */
  private async chooseProvider(acceptable: readonly MfaProviderId[], username: string): Promise<MfaProviderId> {
    if (acceptable.length === 1) return acceptable[0];
    const runnable = acceptable.filter((p) => this.available(p));
    if (!runnable.length) return acceptable[0];
    for (const provider of runnable) {
      if (await this.hasDevice(provider, username)) return provider;
    }
    return runnable[0];
  }

  /** A confirmed TOTP device, or a WebAuthn credential not flagged as a clone. */
  private async hasDevice(provider: MfaProviderId, username: string): Promise<boolean> {
    if (provider === 'mfa-gauth') return (await this.gauth.list(username)).some((d) => d.confirmedAt !== null);
    return (await this.webAuthn.list(username)).some((c) => !c.flaggedAt);
  }

  /** Whether the provider can run now (mfa-gauth: its encryption key is there; mfa-webauthn: enabled). */
  available(provider: MfaProviderId): boolean {
    if (provider === 'mfa-webauthn') return this.config.webAuthn.enabled;
    if (provider !== 'mfa-gauth') return true;
    try {
      this.gauthKeys.assertAvailable();
      return true;
    } catch (e) {
      if (e instanceof GauthUnavailableError) return false;
      throw e;
    }
  }
}

import type { Attributes } from '../common/attributes';
import type { FailureMode, MfaTriggerConfig } from '../config/mfa-config';

/**
 * A service's `multifactorPolicy` (CAS's DefaultRegisteredServiceMultifactorPolicy), parsed by
 * registered-service.ts, and the one decision every path takes from it: which multi-factor
 * providers a login to the service needs, given the configured triggers and the principal's
 * attributes. Pure: /login (auth), ticket validation and `/proxy` (tickets) ask the same question
 * and must get the same answer, so it lives here, below both.
 */
export interface MultifactorPolicy {
  /** `multifactorAuthenticationProviders`, in the definition's order; every id is one this server has. */
  providers: string[];
  /** `failureMode`: UNDEFINED falls back to `cas.authn.mfa.core.global-failure-mode`. */
  failureMode: FailureMode;
  /** `bypassEnabled`: no multi-factor step for this service, whatever triggered it. */
  bypassEnabled: boolean;
  /** `bypassPrincipalAttributeName` / `…Value`: a principal with this attribute and a matching value skips the factor. */
  bypassPrincipalAttributeName?: string;
  /** Comma-separated regular expressions (as CAS splits them), each matched against the whole value, ignoring case. */
  bypassPrincipalAttributeValue?: RegExp[];
  /** `bypassIfMissingPrincipalAttribute`: a principal without the bypass attribute skips the factor too. */
  bypassIfMissingPrincipalAttribute: boolean;
  /** `forceExecution`: ask the factor even when the SSO session already has it. */
  forceExecution: boolean;
  /** `bypassTrustedDeviceEnabled`: kept for trusted devices (cas.authn.mfa.trusted), which skip the factor only when this is false. */
  bypassTrustedDeviceEnabled: boolean;
  /**
   * `principalAttributeNameTrigger` / `principalAttributeValueToMatch` (CAS's "principal attribute
   * per application" trigger): when set, the providers apply only to principals carrying one of
   * these attributes (comma-separated names) with a value matching the pattern (whole value).
   */
  principalAttributeNameTrigger?: string[];
  principalAttributeValueToMatch?: RegExp;
}

/** Failure modes once UNDEFINED is resolved. */
export type EffectiveFailureMode = Exclude<FailureMode, 'UNDEFINED'>;

/** What a login must satisfy: any one of `providers` (listed in order of preference). */
export interface MultifactorRequirement {
  providers: string[];
  failureMode: EffectiveFailureMode;
  /** Ask the factor even if the session already has one of the providers. */
  forceExecution: boolean;
  /** Which trigger asked, for logs and tests. */
  trigger: 'global' | 'authn_method' | 'service-principal-attribute' | 'principal-attribute' | 'service';
}

export interface MultifactorInput {
  triggers: MfaTriggerConfig;
  /** The providers this server has (MFA_PROVIDER_IDS): the principal trigger's regex needs to know there is only one. */
  knownProviders: readonly string[];
  /** `authn_method` of the /login request; absent at validation and /proxy. */
  requested?: string;
  policy?: MultifactorPolicy;
  attributes: Attributes;
}

/**
 * The providers a login needs, or null when none (no trigger, or bypassed).
 *
 * Order, as CAS applies its triggers (docs "Multifactor Authentication Triggers": 2 Global,
 * 3 Opt-In Request Parameter, 6 Principal Attribute Per Application, 8 Global Principal Attribute,
 * 10 Applications; adaptive, REST, Groovy, Grouper are not implemented here): the first trigger
 * that names a provider decides which; then the service policy's bypass rules apply to that
 * provider whatever trigger chose it (CAS's RegisteredServiceMultifactorAuthenticationProviderBypassEvaluator
 * runs for every provider); the failure mode is the service's, else the global one (CAS: service
 * policy, then provider, then global; there are no per-provider failure modes here).
 */
export function requiredMultifactor(input: MultifactorInput): MultifactorRequirement | null {
  const { triggers, policy, attributes } = input;
  let found: Pick<MultifactorRequirement, 'providers' | 'trigger'> | null = null;
  if (triggers.globalProviderId) found = { providers: [triggers.globalProviderId], trigger: 'global' };
  else if (input.requested !== undefined) found = { providers: [input.requested], trigger: 'authn_method' };
  else if (policy?.providers.length && policy.principalAttributeNameTrigger) {
    if (principalTriggerMatches(policy, attributes)) found = { providers: policy.providers, trigger: 'service-principal-attribute' };
  }
  if (!found) {
    const byAttribute = principalAttributeTrigger(triggers, input.knownProviders, attributes);
    if (byAttribute.length) found = { providers: byAttribute, trigger: 'principal-attribute' };
    else if (policy?.providers.length && !policy.principalAttributeNameTrigger) found = { providers: policy.providers, trigger: 'service' };
  }
  if (!found || (policy && bypassed(policy, attributes))) return null;
  const failureMode = policy && policy.failureMode !== 'UNDEFINED' ? policy.failureMode : triggers.globalFailureMode;
  return { ...found, failureMode, forceExecution: policy?.forceExecution ?? false };
}

/** Whether `factors` (the session's satisfied providers) hold one acceptable provider. */
export function satisfiedBy(requirement: MultifactorRequirement, factors: Record<string, unknown>): boolean {
  return requirement.providers.some((p) => p in factors);
}

/**
 * `cas.authn.mfa.triggers.principal.*`, as CAS's PrincipalAttributeMultifactorAuthenticationTrigger:
 * with one provider on the server and a value regex, a value of a named attribute matching the
 * regex (whole value, as Java's String.matches) triggers that provider; otherwise a value equal to
 * a provider id triggers that provider. One deviation, to fail closed: CAS ignores the regex once
 * a second provider exists (a `memberOf=staff` rule would silently stop asking anything); here a
 * match then accepts any provider of the server.
 */
function principalAttributeTrigger(triggers: MfaTriggerConfig, knownProviders: readonly string[], attributes: Attributes): string[] {
  const { attributeNameTriggers: names, attributeValueRegex: regex } = triggers.principal;
  if (!names.length) return [];
  const values = names.flatMap((n) => attributes[n] ?? []);
  if (regex) return values.some((v) => wholeMatch(regex, v)) ? [...knownProviders] : [];
  return knownProviders.filter((p) => values.includes(p));
}

function principalTriggerMatches(policy: MultifactorPolicy, attributes: Attributes): boolean {
  const values = (policy.principalAttributeNameTrigger ?? []).flatMap((n) => attributes[n] ?? []);
  const pattern = policy.principalAttributeValueToMatch;
  return pattern ? values.some((v) => wholeMatch(pattern, v)) : values.length > 0;
}

/**
 * The service policy's bypass rules (CAS's RegisteredServiceMultifactorAuthenticationProviderBypassEvaluator):
 * `bypassEnabled`; or, when both the attribute name and values are set, a principal whose attribute
 * has a matching value, or who lacks the attribute while `bypassIfMissingPrincipalAttribute` is on.
 * The attribute name is compared exactly (CAS matches it as a pattern; exact is the narrower
 * reading, and a bypass is the place for the narrower one).
 */
function bypassed(policy: MultifactorPolicy, attributes: Attributes): boolean {
  if (policy.bypassEnabled) return true;
  const name = policy.bypassPrincipalAttributeName;
  const patterns = policy.bypassPrincipalAttributeValue;
  if (!name || !patterns?.length) return false;
  const values = attributes[name];
  if (values === undefined) return policy.bypassIfMissingPrincipalAttribute;
  return values.some((v) => patterns.some((p) => wholeMatch(p, v)));
}

/** `pattern` matches all of `value` (it is compiled anchored; see compileWholeMatch). */
function wholeMatch(pattern: RegExp, value: string): boolean {
  return pattern.test(value);
}

/** A Java-style regex matched against a whole value (String.matches), optionally ignoring case; throws SyntaxError. */
export function compileWholeMatch(source: string, ignoreCase: boolean): RegExp {
  return new RegExp(`^(?:${source})$`, ignoreCase ? 'i' : '');
}

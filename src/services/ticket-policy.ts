import type { CasConfig } from '../config/cas-config';
import type { RegisteredService } from './registered-service';

/** How long a new SSO session lives: a hard limit, and an idle timeout that each use slides (null: none). */
export interface SessionPolicy {
  maxTimeToLiveSeconds: number;
  timeToKillSeconds: number | null;
}

export interface ServiceTicketPolicy {
  numberOfUses: number;
  timeToLiveSeconds: number;
}

export interface PolicyDefaults {
  tgt: { maxTimeToLiveSeconds: number; timeToKillSeconds: number };
  rememberMe: { timeToKillSeconds: number };
  st: { timeToKillSeconds: number; numberOfUses: number };
  pt: { timeToKillSeconds: number; numberOfUses: number };
}

/** The PolicyDefaults provider (ServicesModule): the global ticket settings, read from the configuration once. */
export const POLICY_DEFAULTS = Symbol('POLICY_DEFAULTS');

/** The global settings every service's own expiration policy falls back to. */
export function policyDefaults(config: CasConfig): PolicyDefaults {
  return { tgt: config.tgt, rememberMe: { timeToKillSeconds: config.rememberMe.timeToKillSeconds }, st: config.st, pt: config.pt };
}

/**
 * The session policy chosen when a TGT is created, in CAS's order: remember-me wins (a hard
 * timeout), then the `ticketGrantingTicketExpirationPolicy` of the service the login was for
 * (a hard timeout; CAS: "once created, the policy remains global"), then the global policy.
 */
export function resolveSessionPolicy(d: PolicyDefaults, service: RegisteredService | null, rememberMe: boolean): SessionPolicy {
  if (rememberMe) return { maxTimeToLiveSeconds: d.rememberMe.timeToKillSeconds, timeToKillSeconds: null };
  const override = service?.tgtMaxTimeToLiveSeconds;
  if (override !== undefined) return { maxTimeToLiveSeconds: override, timeToKillSeconds: null };
  return { maxTimeToLiveSeconds: d.tgt.maxTimeToLiveSeconds, timeToKillSeconds: d.tgt.timeToKillSeconds };
}

/** The service's `serviceTicketExpirationPolicy`, field by field over the global ST settings. */
export function resolveServiceTicketPolicy(d: PolicyDefaults, service: RegisteredService | null): ServiceTicketPolicy {
  return {
    numberOfUses: service?.stPolicy?.numberOfUses ?? d.st.numberOfUses,
    timeToLiveSeconds: service?.stPolicy?.timeToLiveSeconds ?? d.st.timeToKillSeconds,
  };
}

/** The target service's `proxyTicketExpirationPolicy`, field by field over the global PT settings. */
export function resolveProxyTicketPolicy(d: PolicyDefaults, target: RegisteredService): ServiceTicketPolicy {
  return {
    numberOfUses: target.ptPolicy?.numberOfUses ?? d.pt.numberOfUses,
    timeToLiveSeconds: target.ptPolicy?.timeToLiveSeconds ?? d.pt.timeToKillSeconds,
  };
}

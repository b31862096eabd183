import { loadCasConfig } from '../config/cas-config';
import { parseServiceDefinition } from './registered-service';
import { PolicyDefaults, policyDefaults, resolveServiceTicketPolicy, resolveSessionPolicy } from './ticket-policy';

const defaults: PolicyDefaults = {
  tgt: { maxTimeToLiveSeconds: 28800, timeToKillSeconds: 7200 },
  rememberMe: { timeToKillSeconds: 1209600 },
  st: { timeToKillSeconds: 10, numberOfUses: 1 },
  pt: { timeToKillSeconds: 10, numberOfUses: 1 },
};

const service = (extra: Record<string, unknown> = {}) =>
  parseServiceDefinition({ '@class': 'org.apereo.cas.services.CasRegisteredService', id: 7, name: 's', serviceId: '^https://s/.*', ...extra });

describe('policyDefaults', () => {
  it('reads each global ticket setting from its own variable', () => {
    const config = loadCasConfig({
      CAS_TICKET_TGT_PRIMARY_MAX_TIME_TO_LIVE_IN_SECONDS: '1001',
      CAS_TICKET_TGT_PRIMARY_TIME_TO_KILL_IN_SECONDS: '1002',
      CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS: '1003',
      CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS: '11',
      CAS_TICKET_ST_NUMBER_OF_USES: '2',
      CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS: '12',
      CAS_TICKET_PT_NUMBER_OF_USES: '3',
    });
    expect(policyDefaults(config)).toEqual({
      tgt: { maxTimeToLiveSeconds: 1001, timeToKillSeconds: 1002 },
      rememberMe: { timeToKillSeconds: 1003 },
      st: { timeToKillSeconds: 11, numberOfUses: 2 },
      pt: { timeToKillSeconds: 12, numberOfUses: 3 },
    });
  });
});

describe('resolveSessionPolicy', () => {
  it('uses the global hard and idle limits without a service override', () => {
    expect(resolveSessionPolicy(defaults, service(), false)).toEqual({ maxTimeToLiveSeconds: 28800, timeToKillSeconds: 7200 });
    expect(resolveSessionPolicy(defaults, null, false)).toEqual({ maxTimeToLiveSeconds: 28800, timeToKillSeconds: 7200 });
  });

  it("turns a service's maxTimeToLiveInSeconds into a hard timeout", () => {
    const s = service({
      ticketGrantingTicketExpirationPolicy: {
        '@class': 'org.apereo.cas.services.DefaultRegisteredServiceTicketGrantingTicketExpirationPolicy',
        maxTimeToLiveInSeconds: 5,
      },
    });
    expect(resolveSessionPolicy(defaults, s, false)).toEqual({ maxTimeToLiveSeconds: 5, timeToKillSeconds: null });
  });

  it('ignores a non-positive override, as CAS does', () => {
    const s = service({ ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 0 } });
    expect(resolveSessionPolicy(defaults, s, false).maxTimeToLiveSeconds).toBe(28800);
  });

  it('lets remember-me win over everything', () => {
    const s = service({ ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 5 } });
    expect(resolveSessionPolicy(defaults, s, true)).toEqual({ maxTimeToLiveSeconds: 1209600, timeToKillSeconds: null });
  });
});

describe('resolveServiceTicketPolicy', () => {
  it('falls back field by field to the global ST settings', () => {
    expect(resolveServiceTicketPolicy(defaults, null)).toEqual({ numberOfUses: 1, timeToLiveSeconds: 10 });
    const uses = service({ serviceTicketExpirationPolicy: { numberOfUses: 3 } });
    expect(resolveServiceTicketPolicy(defaults, uses)).toEqual({ numberOfUses: 3, timeToLiveSeconds: 10 });
    const ttl = service({ serviceTicketExpirationPolicy: { timeToLive: '30' } });
    expect(resolveServiceTicketPolicy(defaults, ttl)).toEqual({ numberOfUses: 1, timeToLiveSeconds: 30 });
  });

  it('refuses nonsense in the definition, naming the field', () => {
    expect(() => service({ serviceTicketExpirationPolicy: { numberOfUses: 0 } })).toThrow('serviceTicketExpirationPolicy.numberOfUses');
    expect(() => service({ serviceTicketExpirationPolicy: { timeToLive: 'ten' } })).toThrow('serviceTicketExpirationPolicy.timeToLive');
    expect(() => service({ ticketGrantingTicketExpirationPolicy: { maxTimeToLiveInSeconds: 'x' } })).toThrow(
      'ticketGrantingTicketExpirationPolicy.maxTimeToLiveInSeconds',
    );
  });
});

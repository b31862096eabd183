import { Inject, Injectable } from '@nestjs/common';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { attributesAllowed, hasAttributeRules } from '../services/access-strategy';
import { RegisteredService } from '../services/registered-service';
import { ServiceRegistry } from '../services/service-registry';
import { isUsableServiceUrl } from '../services/service-url';
import { POLICY_DEFAULTS, type PolicyDefaults, resolveServiceTicketPolicy, resolveSessionPolicy } from '../services/ticket-policy';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { GrantServiceTicket, TicketRegistry } from '../tickets/ticket-registry';
import { Authenticator } from './authenticator';
import type { AccountState, PasswordWarning } from './handlers/authentication-handler';
import { DeviceCookies } from './device-cookie';
import { LoginFlows } from './login-flows';
import { LoginThrottle } from './login-throttle';

export type LoginOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'post'; service: string; ticket: string }
  | { kind: 'form'; status: 200 | 401 | 403; service?: string; method?: string; username?: string; error?: string }
  | { kind: 'loggedIn'; principal: string }
  | { kind: 'warn'; service: string; method?: string }
  | { kind: 'notAuthorized' }
  | { kind: 'accessDenied' }
  | { kind: 'throttled'; service?: string; method?: string; retryAfterSeconds: number }
  /** No authentication handler could decide, and one was down: the form again, with a 503. */
  | { kind: 'unavailable'; service?: string; method?: string; username: string }
  /** The handler that knows the user refused it and said why (CAS's account views): no session. */
  | { kind: 'accountState'; state: AccountState; service?: string; changeUrl?: string }
  /**
   * Logged in, but the password expires soon: the warning page, whose Continue (a single-use
   * token carrying `session`) goes on to the service, or to the logged-in page without one.
   */
  | { kind: 'passwordWarning'; warning: PasswordWarning; session: string; service?: string; method?: string };

export interface LoginResult {
  outcome: LoginOutcome;
  /** A TGT created by this request: the controller writes it into the TGC (persistent for remember-me). */
  newSession?: { id: string; rememberMe: boolean };
  /** The TGC pointed at a session that is not usable: the controller clears it. */
  staleCookie?: boolean;
  /** A device cookie to give the browser after its first successful login to this account. */
  deviceCookie?: string;
  /** Set (true) or keep unchanged (undefined) the CASPRIVACY warning cookie. */
  warnCookie?: boolean;
}

export interface CredentialRequest {
  service?: string;
  renew: boolean;
  gateway: boolean;
  method?: string;
  /** TGT id from a valid TGC, if any. */
  tgtId: string | null;
  /** The browser asked to be warned before being logged in to a service (CASPRIVACY cookie). */
  warn: boolean;
}

export interface CredentialSubmission {
  execution: string;
  browserKey: string | undefined;
  username: string;
  password: string;
  method?: string;
  rememberMe: boolean;
  publicWorkstation: boolean;
  /** The user ticked "warn me before logging me into other sites". */
  warn: boolean;
  tgtId: string | null;
  clientIp: string;
  deviceCookie?: string;
}

const GENERIC_FAILURE = 'Invalid credentials.';
const SESSION_ENDED = 'Your session was ended while you were logging in. Please log in again.';
const EXPIRED_FORM = 'Your login form has expired or was already used. Please log in again.';
/** No handler could decide whether the credentials are good (CAS: authentication service unavailable). */
export const AUTHENTICATION_UNAVAILABLE = 'Authentication service unavailable. Please try again later.';

/** The throttled form's message, with the minutes left in the throttle's window (as Retry-After says). */
export function throttledMessage(retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return `Too many failed login attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}

/** `/login` as credential requestor and acceptor (CAS protocol 2.1–2.2, CAS SSO rules), and `/logout`. */
@Injectable()
export class LoginService {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    @Inject(POLICY_DEFAULTS) private readonly defaults: PolicyDefaults,
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    private readonly authenticator: Authenticator,
    private readonly flows: LoginFlows,
    private readonly throttle: LoginThrottle,
    private readonly devices: DeviceCookies,
    private readonly terminator: SessionTerminator,
  ) {}

  /**
   * The registered, enabled service for a URL the browser may be sent to, or null. Every path of
   * /login and /logout asks this before it grants a ticket or redirects: a registry pattern
   * cannot tell a URL from a string that only looks like one.
   */
  authorizedService(service: string): RegisteredService | null {
    return isUsableServiceUrl(service) ? this.services.authorized(service) : null;
  }

  async requestCredentials(r: CredentialRequest): Promise<LoginResult> {
    const method = postMethod(r.method);
    const registered = r.service === undefined ? null : this.authorizedService(r.service);
    if (r.service !== undefined && !registered) return { outcome: this.denied(r.service) };
    // SSO is honoured unless renew is asked, SSO is off globally, or off for this service (CAS 3.6).
    const ssoAllowed = !r.renew && this.config.sso.enabled && (registered?.ssoEnabled ?? true);
    let staleCookie = false;
    if (r.tgtId && ssoAllowed) {
      if (r.service !== undefined && registered) {
        if (hasAttributeRules(registered.access)) {
          const session = await this.tickets.findSession(r.tgtId);
          if (session && !attributesAllowed(registered.access, session.attributes)) return { outcome: this.accessDenied(registered) };
        }
        // warn: confirm on an interstitial first, unless this is a gateway request (which never prompts).
        if (r.warn && !r.gateway && (await this.tickets.findSession(r.tgtId))) {
          return { outcome: { kind: 'warn', service: r.service, method } };
        }
        const st = await this.tickets.grantServiceTicket(r.tgtId, this.grant(r.service, registered, false));
        if (st) return { outcome: this.toService(r.service, st, method) };
        // No ticket: the session is gone, expired, or older than this service's TGT policy allows.
        staleCookie = (await this.tickets.findSession(r.tgtId)) === null;
      } else {
        const session = await this.tickets.findSession(r.tgtId);
        if (session) return { outcome: { kind: 'loggedIn', principal: session.principal } };
        staleCookie = true;
      }
      // An expired session is absent, and takes the path the cleaner would give it (single logout).
      if (staleCookie) await this.terminator.endIfExpired(r.tgtId);
    }
    // gateway: never prompt; back to the service without a ticket. renew wins over gateway.
    if (r.gateway && !r.renew && r.service !== undefined) {
      return { outcome: { kind: 'redirect', location: r.service }, staleCookie };
    }
    return { outcome: { kind: 'form', status: 200, service: r.service, method }, staleCookie };
  }

  async acceptCredentials(s: CredentialSubmission): Promise<LoginResult> {
    const method = postMethod(s.method);
    const flow = await this.flows.consume(s.execution, s.browserKey, 'login');
    if (!flow) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    const service = flow.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (service !== undefined && !registered) return { outcome: this.denied(service) };

    // Throttling happens before any hashing: a refused attempt costs two indexed upserts.
    const deviceId = await this.devices.deviceFor(s.deviceCookie, s.username);
    const reservation = this.throttle.enabled ? await this.throttle.reserve({ ip: s.clientIp, username: s.username, deviceId }) : null;
    if (this.throttle.enabled && !reservation) {
      return { outcome: { kind: 'throttled', service, method, retryAfterSeconds: this.throttle.retryAfterSeconds() } };
    }
    const authentication = await this.authenticator.authenticate(s.username, s.password);
    // Unavailable stays counted as a failed attempt: with a directory down, which names the
    // users table knows must not be probed faster than the throttle allows.
    if (authentication.kind === 'unavailable') return { outcome: { kind: 'unavailable', service, method, username: s.username } };
    // A failure stays counted too, whatever its page: the reservation is not refunded.
    if (authentication.kind === 'failed') {
      // Only a handler that knows the user gives a state; an unknown name or a wrong password
      // gets the one generic form, so no page tells a guesser which names exist.
      if (authentication.state) {
        return { outcome: { kind: 'accountState', state: authentication.state, service, changeUrl: authentication.changeUrl } };
      }
      return { outcome: { kind: 'form', status: 401, service, method, username: s.username, error: GENERIC_FAILURE } };
    }
    const principal = authentication.principal;
    if (reservation) await this.throttle.refund(reservation);
    const deviceCookie = deviceId ? undefined : await this.devices.issue(principal.username);
    if (registered && !attributesAllowed(registered.access, principal.attributes)) return { outcome: this.accessDenied(registered) };
    const rememberMe = s.rememberMe && this.config.rememberMe.enabled && !s.publicWorkstation;
    const session = await this.tickets.createSession({
      principal: principal.username,
      attributes: principal.attributes,
      authenticationHandler: principal.handler,
      rememberMe,
      policy: resolveSessionPolicy(this.defaults, registered, rememberMe),
    });
    if (s.tgtId && s.tgtId !== session.id) await this.replaceSession(s.tgtId, session.id, principal.username);
    // publicWorkstation: the session serves this login only; no cookie keeps it in the browser.
    const newSession = s.publicWorkstation ? undefined : { id: session.id, rememberMe };
    const device = s.publicWorkstation ? undefined : deviceCookie;
    const warnCookie = s.warn && !s.publicWorkstation ? true : undefined;
    if (principal.warning) {
      // The session and its cookie exist now; the ticket waits for Continue, so a user who reads
      // the warning longer than a service ticket lives still gets a valid one.
      const outcome: LoginOutcome = { kind: 'passwordWarning', warning: principal.warning, session: session.id, service, method };
      return { outcome, newSession, staleCookie: s.publicWorkstation && !!s.tgtId, deviceCookie: device, warnCookie };
    }
    if (service === undefined || !registered) {
      return { outcome: { kind: 'loggedIn', principal: principal.username }, newSession, deviceCookie: device, warnCookie };
    }
    const st = await this.tickets.grantServiceTicket(session.id, this.grant(service, registered, true));
    // No ticket from a session created a moment ago: it was ended meanwhile (an administrator's
    // DELETE during this login). Nothing of it may reach the browser; the user logs in again.
    if (!st) return { outcome: { kind: 'form', status: 200, service, method, error: SESSION_ENDED }, staleCookie: true };
    return {
      outcome: this.toService(service, st, method),
      newSession,
      staleCookie: s.publicWorkstation && !!s.tgtId,
      deviceCookie: device,
      warnCookie,
    };
  }

  /**
   * A new authentication replaces the session the browser had (ASVS 3.2.1: a new token each
   * time), and no service of the old one may miss its single logout: an expired session ends as
   * the cleaner would end it; the same user's live session hands its services over to the new
   * one (renew must not log the user out of the applications in use); another user's ends with
   * single logout now, since that user has left this browser.
   */
  private async replaceSession(oldId: string, newId: string, principal: string): Promise<void> {
    if (await this.terminator.endIfExpired(oldId)) return;
    if (await this.tickets.handOverSession(oldId, newId, principal)) return;
    await this.terminator.end(oldId, 'LOGOUT');
  }

  /** "Continue" on the warning interstitial: a single-use flow token, then an ST from the existing session. */
  async proceedAfterWarning(s: { execution: string; browserKey: string | undefined; method?: string; tgtId: string | null }): Promise<LoginResult> {
    const method = postMethod(s.method);
    const flow = await this.flows.consume(s.execution, s.browserKey, 'warn');
    const service = flow?.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (!flow || service === undefined || !registered) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    if (s.tgtId) {
      const st = await this.tickets.grantServiceTicket(s.tgtId, this.grant(service, registered, false));
      if (st) return { outcome: this.toService(service, st, method) };
      await this.terminator.endIfExpired(s.tgtId);
    }
    return { outcome: { kind: 'form', status: 200, service, method }, staleCookie: !!s.tgtId };
  }

  /**
   * "Continue" on the password warning: a single-use token bound to this browser, carrying the
   * session the login created (a public-workstation login has no TGC). The ticket counts as from
   * a new login (renew is satisfied): the credentials were given in this same flow, as CAS's
   * warning view sits between the authentication and the ticket.
   */
  async continueAfterPasswordWarning(s: { execution: string; browserKey: string | undefined; method?: string; tgtId: string | null }): Promise<LoginResult> {
    const method = postMethod(s.method);
    const flow = await this.flows.consume(s.execution, s.browserKey, 'password-warning');
    if (!flow?.session) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    const service = flow.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (service !== undefined && !registered) return { outcome: this.denied(service) };
    if (service === undefined || !registered) {
      const session = await this.tickets.findSession(flow.session);
      if (session) return { outcome: { kind: 'loggedIn', principal: session.principal } };
    } else {
      const st = await this.tickets.grantServiceTicket(flow.session, this.grant(service, registered, true));
      if (st) return { outcome: this.toService(service, st, method) };
    }
    // Ended meanwhile (logout elsewhere, an administrator, expiry): the user logs in again.
    await this.terminator.endIfExpired(flow.session);
    return { outcome: { kind: 'form', status: 200, service, method, error: SESSION_ENDED }, staleCookie: s.tgtId === flow.session };
  }

  /**
   * Ends the SSO session through the logout pipeline: its tickets go, and its services' logout
   * requests are queued durably and sent in the background (the page never waits for them).
   * Returns the front-channel URLs the logout page has the browser request.
   */
  async logout(tgtId: string | null): Promise<string[]> {
    if (!tgtId) return [];
    return (await this.terminator.end(tgtId, 'LOGOUT'))?.frontChannel ?? [];
  }

  private grant(service: string, registered: RegisteredService, credentialsProvided: boolean): GrantServiceTicket {
    return {
      service,
      registeredServiceId: registered.id,
      credentialsProvided,
      policy: resolveServiceTicketPolicy(this.defaults, registered),
      sessionMaxAgeSeconds: registered.tgtMaxTimeToLiveSeconds,
    };
  }

  private toService(service: string, ticket: string, method: 'POST' | undefined): LoginOutcome {
    if (method === 'POST') return { kind: 'post', service, ticket };
    return { kind: 'redirect', location: withTicket(service, ticket) };
  }

  /** A service that is not registered, registered but disabled, or no usable URL at all. */
  private denied(service: string): LoginOutcome {
    if (!isUsableServiceUrl(service)) return { kind: 'notAuthorized' };
    const redirect = this.services.match(service)?.access.unauthorizedRedirectUrl;
    return redirect ? { kind: 'redirect', location: redirect } : { kind: 'notAuthorized' };
  }

  /** The principal lacks what the service's access strategy requires. */
  private accessDenied(registered: RegisteredService): LoginOutcome {
    const redirect = registered.access.unauthorizedRedirectUrl;
    return redirect ? { kind: 'redirect', location: redirect } : { kind: 'accessDenied' };
  }
}

/** Appends `ticket` with `?` or `&`, before any fragment. */
export function withTicket(service: string, ticket: string): string {
  const hash = service.indexOf('#');
  const base = hash >= 0 ? service.slice(0, hash) : service;
  const fragment = hash >= 0 ? service.slice(hash) : '';
  return `${base}${base.includes('?') ? '&' : '?'}ticket=${ticket}${fragment}`;
}

function postMethod(method: string | undefined): 'POST' | undefined {
  return method?.toUpperCase() === 'POST' ? 'POST' : undefined;
}

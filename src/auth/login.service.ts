import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { attributesAllowed, hasAttributeRules } from '../services/access-strategy';
import { RegisteredService } from '../services/registered-service';
import { ServiceRegistry } from '../services/service-registry';
import { isUsableServiceUrl } from '../services/service-url';
import { POLICY_DEFAULTS, type PolicyDefaults, resolveServiceTicketPolicy, resolveSessionPolicy } from '../services/ticket-policy';
import { SessionTerminator } from '../tickets/logout/session-terminator';
import { SessionEvents } from '../tickets/session-events';
import { SessionLimiter } from '../tickets/session-limits';
import { GrantServiceTicket, TicketRegistry } from '../tickets/ticket-registry';
import { isMfaProviderId, type MfaProviderId } from '../config/mfa-config';
import { CasMetrics } from '../metrics/cas-metrics';
import { type MfaDecision, MfaTriggers } from './mfa/mfa-triggers';
import { type AuthenticatedPrincipal, Authenticator } from './authenticator';
import type { AccountState, PasswordWarning } from './handlers/authentication-handler';
import { DeviceCookies } from './device-cookie';
import { type FlowUse, LoginFlows } from './login-flows';
import { type AttemptKeys, LoginThrottle, type Reservation } from './login-throttle';
import { sessionLimitFor } from './session-limits';
import type { AccountLookup } from './user-store';
import { usernameKey } from '../common/username';
import { recordedAddress, type SessionOrigin, SessionOrigins } from './session-origin';
import { GauthCredentials, GauthError, type GauthEnrolment, type GauthVerification } from './mfa/gauth/gauth-credentials';
import { GauthKeys, GauthUnavailableError } from './mfa/gauth/gauth-keys';
import { otpauthQrCodeSvg } from './mfa/gauth/gauth-qr-code';
import { parsePendingMfa, type PendingMfa } from './mfa/pending-mfa';
import { type TrustedBrowser, TrustedDevices, type TrustRequest } from './mfa/trusted/trusted-devices';
import { WebAuthnCeremonies, webAuthnRefusalMessage, type WebAuthnPrompt, type WebAuthnRefusal, type WebAuthnVerification } from './mfa/webauthn/webauthn-ceremonies';
import { WebAuthnPrincipals } from './mfa/webauthn/webauthn-principals';

export type LoginOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'post'; service: string; ticket: string }
  | { kind: 'form'; status: 200 | 401 | 403; service?: string; method?: string; username?: string; error?: string; authnMethod?: string }
  | { kind: 'loggedIn'; principal: string }
  | { kind: 'warn'; service: string; method?: string }
  | { kind: 'notAuthorized' }
  | { kind: 'accessDenied' }
  | { kind: 'throttled'; service?: string; method?: string; retryAfterSeconds: number; authnMethod?: string }
  /** No authentication handler could decide, and one was down: the form again, with a 503. */
  | { kind: 'unavailable'; service?: string; method?: string; username: string; authnMethod?: string }
  /**
   * The password step passed (or an SSO session lacks the factor) and a multi-factor provider is
   * required: its code page, whose single-use token carries `pending`; with `enrolment`, the new
   * device's key and recovery codes are shown first. No session exists yet for a new login.
   */
  | {
      kind: 'mfa';
      status: 200 | 401;
      service?: string;
      authnMethod?: string;
      pending: PendingMfa;
      error?: string;
      enrolment?: GauthEnrolment & { qrCodeSvg: string };
      /** mfa-webauthn: the ceremony the page runs (its challenge is in `pending`). */
      webauthn?: WebAuthnPrompt;
    }
  /** A required provider cannot run (CAS failureMode CLOSED): no session, no ticket. */
  | { kind: 'mfaUnavailable' }
  /** `authn_method` names no provider of this server: refused, never ignored. */
  | { kind: 'unknownAuthnMethod' }
  /** The handler that knows the user refused it and said why (CAS's account views): no session. */
  | { kind: 'accountState'; state: AccountState; service?: string; changeUrl?: string }
  /**
   * Logged in, but the password expires soon: the warning page, whose Continue (a single-use
   * token carrying `session`) goes on to the service, or to the logged-in page without one.
   */
  | { kind: 'passwordWarning'; warning: PasswordWarning; session: string; service?: string; method?: string }
  /** The user holds the most sessions allowed and the limit refuses new ones: no session, no ticket. */
  | { kind: 'sessionLimit'; maximum: number };

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
  /** The trusted-device cookie to give the browser: the user had it remembered at a right code. */
  trustedDeviceCookie?: string;
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
  /** `authn_method`: a multi-factor provider id this login must satisfy. */
  authnMethod?: string;
  /** The MFATRUSTED cookie: a browser trusted for the factor skips its code. */
  trustedDeviceCookie?: string;
  /** The request's address and User-Agent: recorded with the session and the tickets it grants. */
  origin?: SessionOrigin;
}

export interface MfaSubmission {
  execution: string;
  browserKey: string | undefined;
  code: string;
  tgtId: string | null;
  clientIp: string;
  deviceCookie?: string;
  /** "Remember this browser" was ticked; with the MFATRUSTED cookie and the User-Agent (the record's name). */
  trustDevice?: boolean;
  trustedDeviceCookie?: string;
  userAgent?: string;
  origin?: SessionOrigin;
}

/** "Sign in with a passkey": the browser's assertion (JSON) with the passkey form's token. */
export interface PasskeySubmission {
  execution: string;
  browserKey: string | undefined;
  response: string;
  method?: string;
  tgtId: string | null;
  clientIp: string;
  deviceCookie?: string;
  origin?: SessionOrigin;
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
  trustedDeviceCookie?: string;
  origin?: SessionOrigin;
}

const GENERIC_FAILURE = 'Invalid credentials.';
const SESSION_ENDED = 'Your session was ended while you were logging in. Please log in again.';
const EXPIRED_FORM = 'Your login form has expired or was already used. Please log in again.';
/** No handler could decide whether the credentials are good (CAS: authentication service unavailable). */
export const AUTHENTICATION_UNAVAILABLE = 'Authentication service unavailable. Please try again later.';
/** Wrong codes in a row that end an MFA step: the user starts over at the password form. */
export const MFA_MAX_WRONG_CODES = 5;
const MFA_TOO_MANY = 'Too many wrong verification codes. Please log in again.';
const MFA_WRONG = 'Invalid verification code. Please try again.';
const MFA_REPLAYED = 'This code was already used. Wait for the next code of your app and enter it.';
const MFA_RESTART = 'Your verification step can no longer be completed. Please log in again.';

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
    private readonly gauth: GauthCredentials,
    private readonly gauthKeys: GauthKeys,
    private readonly webauthn: WebAuthnCeremonies,
    private readonly webauthnPrincipals: WebAuthnPrincipals,
    private readonly clock: Clock,
    private readonly mfa: MfaTriggers,
    private readonly trustedDevices: TrustedDevices,
    private readonly limiter: SessionLimiter,
    private readonly origins: SessionOrigins,
    private readonly events: SessionEvents,
    private readonly metrics: CasMetrics,
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
    if (r.authnMethod !== undefined && !isMfaProviderId(r.authnMethod)) return { outcome: { kind: 'unknownAuthnMethod' } };
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
        // No ticket from a session without the required factor: the code only (step-up), or,
        // for a gateway request (which never prompts), back to the service without a ticket.
        const session = this.mfa.mayRequire(registered, r.authnMethod) ? await this.tickets.findSession(r.tgtId) : null;
        if (session) {
          const decision = await this.mfa.decide(this.mfa.requirement({ authnMethod: r.authnMethod, registered, attributes: session.attributes }), session.factors, session.principal);
          if ((decision.kind === 'ask' || decision.kind === 'blocked') && r.gateway) return { outcome: { kind: 'redirect', location: r.service } };
          const stop = await this.ssoMfa(decision, session.id, session.principal, method, r.service, r.authnMethod, { cookie: r.trustedDeviceCookie, tgtId: r.tgtId, origin: r.origin });
          if (stop) return stop;
        }
        // warn: confirm on an interstitial first, unless this is a gateway request (which never prompts).
        if (r.warn && !r.gateway && (await this.tickets.findSession(r.tgtId))) {
          return { outcome: { kind: 'warn', service: r.service, method } };
        }
        const st = await this.tickets.grantServiceTicket(r.tgtId, this.grant(r.service, registered, false, r.origin));
        if (st) return { outcome: this.toService(r.service, st, method) };
        // No ticket: the session is gone, expired, or older than this service's TGT policy allows.
        staleCookie = (await this.tickets.findSession(r.tgtId)) === null;
      } else {
        const session = await this.tickets.findSession(r.tgtId);
        if (session) {
          const decision = await this.mfa.decide(this.mfa.requirement({ authnMethod: r.authnMethod, registered: null, attributes: session.attributes }), session.factors, session.principal);
          const stop = await this.ssoMfa(decision, session.id, session.principal, method, undefined, r.authnMethod, { cookie: r.trustedDeviceCookie, tgtId: r.tgtId, origin: r.origin });
          if (stop) return stop;
        }
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
    return { outcome: { kind: 'form', status: 200, service: r.service, method, authnMethod: r.authnMethod }, staleCookie };
  }

  async acceptCredentials(s: CredentialSubmission): Promise<LoginResult> {
    const method = postMethod(s.method);
    const opened = await this.flows.unsealed(s.execution, s.browserKey, 'login');
    if (!opened) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    const { flow } = opened;
    const service = flow.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (service !== undefined && !registered) {
      // Used up all the same, as whatever else happens next.
      if (!(await this.flows.use(opened.use))) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
      return { outcome: this.denied(service) };
    }
    const authnMethod = flow.authnMethod;

    // Throttling happens before any hashing: a refused attempt costs one statement, the token's use
    // and the two indexed upserts (nothing is reserved for a replayed token).
    const deviceId = await this.devices.deviceFor(s.deviceCookie, s.username);
    // The same statement reads the users-table account of the name (the users-table handler's read).
    const attempt = await this.useAndReserve(opened.use, { ip: s.clientIp, username: s.username, deviceId }, true);
    if (attempt === 'replayed') return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    if (attempt === 'throttled') {
      return { outcome: { kind: 'throttled', service, method, retryAfterSeconds: this.throttle.retryAfterSeconds(), authnMethod } };
    }
    const { reservation } = attempt;
    const authentication = await this.authenticator.authenticate(s.username, s.password, attempt.lookup);
    // Unavailable stays counted as a failed attempt: with a directory down, which names the
    // users table knows must not be probed faster than the throttle allows.
    if (authentication.kind === 'unavailable') return { outcome: { kind: 'unavailable', service, method, username: s.username, authnMethod } };
    // A failure stays counted too, whatever its page: the reservation is not refunded.
    if (authentication.kind === 'failed') {
      // Only a handler that knows the user gives a state; an unknown name or a wrong password
      // gets the one generic form, so no page tells a guesser which names exist.
      if (authentication.state) {
        return { outcome: { kind: 'accountState', state: authentication.state, service, changeUrl: authentication.changeUrl } };
      }
      return { outcome: { kind: 'form', status: 401, service, method, username: s.username, error: GENERIC_FAILURE, authnMethod } };
    }
    const principal = authentication.principal;
    if (reservation) await this.throttle.refund(reservation);
    if (registered && !attributesAllowed(registered.access, principal.attributes)) return { outcome: this.accessDenied(registered) };
    // The service's policy and the principal's attributes count from here (mfa-triggers.ts).
    const decision = await this.mfa.decide(this.mfa.requirement({ authnMethod, registered, attributes: principal.attributes }), null, principal.username);
    if (decision.kind === 'blocked') return { outcome: { kind: 'mfaUnavailable' } };
    if (decision.kind === 'ask') {
      const provider = decision.provider;
      // The second factor before any session: nothing of this login reaches the browser but the
      // MFA page's token, until the code is right.
      const pending: PendingMfa = {
        provider,
        username: principal.username,
        attributes: principal.attributes,
        handler: principal.handler,
        warning: principal.warning,
        rememberMe: s.rememberMe,
        publicWorkstation: s.publicWorkstation,
        warn: s.warn,
        method,
        failures: 0,
      };
      return this.startMfa(pending, service, authnMethod, { cookie: s.trustedDeviceCookie, tgtId: s.tgtId, deviceId, origin: s.origin });
    }
    const phantom = decision.kind === 'proceed' && decision.phantom ? { [decision.phantom]: this.clock.now() } : undefined;
    return this.establish(principal, { ...s, method, service, registered, deviceId }, phantom);
  }

  /**
   * A flow token's single use and, with throttling on, the attempt's reservation in the same
   * statement (LoginThrottle.reserveOnUse): 'replayed' (nothing reserved), 'throttled' (a limit
   * is reached), or the reservation (null with throttling off) to refund on success. `findUser`:
   * the same statement reads the users-table account of the name (`lookup`, for the Authenticator).
   */
  private async useAndReserve(
    use: FlowUse, keys: AttemptKeys, findUser = false,
  ): Promise<'replayed' | 'throttled' | { reservation: Reservation | null; lookup?: AccountLookup }> {
    const key = findUser ? usernameKey(keys.username) : undefined;
    if (!this.throttle.enabled) {
      if (key === undefined) return (await this.flows.use(use)) ? { reservation: null } : 'replayed';
      const u = await this.flows.useAndFind(use, key);
      return u.used ? { reservation: null, lookup: u.lookup } : 'replayed';
    }
    const r = await this.throttle.reserveOnUse(keys, use, key);
    if (!r.used) return 'replayed';
    return r.reservation ? { reservation: r.reservation, lookup: r.lookup } : 'throttled';
  }

  /**
   * The SSO session of an authenticated user (with the factors satisfied, if any), then what the
   * login goes on to: the password warning, the service with its ticket, or the logged-in page.
   */
  private async establish(
    principal: AuthenticatedPrincipal,
    s: {
      service?: string;
      registered: RegisteredService | null;
      method: 'POST' | undefined;
      rememberMe: boolean;
      publicWorkstation: boolean;
      warn: boolean;
      tgtId: string | null;
      deviceId?: string;
      origin?: SessionOrigin;
    },
    factors?: Record<string, Date>,
  ): Promise<LoginResult> {
    const { service, registered, method } = s;
    const deviceCookie = s.deviceId ? undefined : await this.devices.issue(principal.username);
    const rememberMe = s.rememberMe && this.config.rememberMe.enabled && !s.publicWorkstation;
    const toCreate = {
      principal: principal.username,
      attributes: principal.attributes,
      authenticationHandler: principal.handler,
      rememberMe,
      factors,
      policy: resolveSessionPolicy(this.defaults, registered, rememberMe),
      origin: this.origins.describe(s.origin),
    };
    // A session limit (unique principal, a maximum): counted and inserted under the user's lock.
    const limit = sessionLimitFor(this.config.sessionLimits, registered, s.tgtId);
    // publicWorkstation: the session serves this login only; no cookie keeps it in the browser.
    const cookies = (sessionId: string) => s.publicWorkstation
      ? { newSession: undefined, deviceCookie: undefined, warnCookie: undefined }
      : { newSession: { id: sessionId, rememberMe }, deviceCookie, warnCookie: s.warn ? true : undefined };
    if (!limit && !principal.warning && !s.tgtId && service !== undefined && registered) {
      // The usual login (no limit, no session to replace, no warning first, a service): the
      // session and its ticket in one statement (and the event in its transaction).
      const created = await this.events.createSessionWithTicket(toCreate, this.grant(service, registered, true, s.origin));
      if (created) return { outcome: this.toService(service, created.ticket, method), ...cookies(created.session.id) };
    }
    const limited = limit ? await this.limiter.createSession(toCreate, limit) : null;
    if (limited?.kind === 'refused') return { outcome: { kind: 'sessionLimit', maximum: limited.maximum } };
    // Through SessionEvents: its session-established event, when receivers are configured, in the same transaction.
    const session = limited ? limited.session : await this.events.createSession(toCreate);
    if (s.tgtId && s.tgtId !== session.id) await this.replaceSession(s.tgtId, session.id, principal.username);
    const browserCookies = cookies(session.id);
    if (principal.warning) {
      // The session and its cookie exist now; the ticket waits for Continue, so a user who reads
      // the warning longer than a service ticket lives still gets a valid one.
      const outcome: LoginOutcome = { kind: 'passwordWarning', warning: principal.warning, session: session.id, service, method };
      return { outcome, staleCookie: s.publicWorkstation && !!s.tgtId, ...browserCookies };
    }
    if (service === undefined || !registered) {
      return { outcome: { kind: 'loggedIn', principal: principal.username }, ...browserCookies };
    }
    const st = await this.tickets.grantServiceTicket(session.id, this.grant(service, registered, true, s.origin));
    // No ticket from a session created a moment ago: it was ended meanwhile (an administrator's
    // DELETE during this login). Nothing of it may reach the browser; the user logs in again.
    if (!st) return { outcome: { kind: 'form', status: 200, service, method, error: SESSION_ENDED }, staleCookie: true };
    return { outcome: this.toService(service, st, method), staleCookie: s.publicWorkstation && !!s.tgtId, ...browserCookies };
  }

  /**
   * An SSO request's multi-factor decision: the step-up code page, the unavailable page (CLOSED),
   * or null to go on (nothing needed, or OPEN/PHANTOM, PHANTOM first recording its provider in
   * the session as if satisfied).
   */
  private async ssoMfa(
    decision: MfaDecision, sessionId: string, principal: string, method: 'POST' | undefined, service: string | undefined, authnMethod: string | undefined, browser: Browser,
  ): Promise<LoginResult | null> {
    if (decision.kind === 'blocked') return { outcome: { kind: 'mfaUnavailable' } };
    if (decision.kind === 'ask') return this.startMfa(this.stepUp(decision.provider, sessionId, principal, method), service, authnMethod, browser);
    if (decision.kind === 'proceed' && decision.phantom) await this.tickets.addFactor(sessionId, decision.phantom);
    return null;
  }

  private stepUp(provider: MfaProviderId, sessionId: string, principal: string, method: 'POST' | undefined): PendingMfa {
    return {
      provider, username: principal, attributes: {}, rememberMe: false, publicWorkstation: false, warn: false, method, failures: 0, stepUpSession: sessionId,
    };
  }

  /**
   * The code page of a required provider: a user with a confirmed device is asked for a code; a
   * user without one gets a new device first (enrolment right after the password, as CAS does),
   * whose first code confirms it and counts as the factor. No key (GauthUnavailableError): the
   * unavailable page (failure mode CLOSED).
   */
  /**
   * What trusted devices need of a pending factor: the service's `bypassTrustedDeviceEnabled`
   * (CAS) asks its code every time, so trust is neither used nor offered nor recorded for it.
   */
  trustRequest(pending: PendingMfa, service: string | undefined): TrustRequest {
    const registered = service === undefined ? null : this.authorizedService(service);
    return { ...pending, bypassTrustedDevice: registered?.multifactorPolicy?.bypassTrustedDeviceEnabled ?? false };
  }

  private async startMfa(pending: PendingMfa, service: string | undefined, authnMethod: string | undefined, browser: Browser = {}): Promise<LoginResult> {
    // A browser this user trusted for the provider (CAS trusted devices): no code. The hook for
    // the service's multifactorPolicy.bypassTrustedDeviceEnabled is TrustRequest.bypassTrustedDevice.
    if (await this.trustedDevices.trusts(this.trustRequest(pending, service), browser.cookie)) return this.satisfiedByTrustedDevice(pending, service, browser);
    if (pending.provider === 'mfa-webauthn') return this.startWebAuthn(pending, service, authnMethod, 200);
    try {
      this.gauthKeys.assertAvailable();
      // The confirmed devices ride in the code page's token: the code POST checks against them
      // without reading them again (GauthCredentials.verify).
      const devices = await this.gauth.confirmedDevices(pending.username);
      if (devices.length) return { outcome: { kind: 'mfa', status: 200, service, authnMethod, pending: { ...pending, gauthDevices: devices } } };
      const enrolment = await this.gauth.enrol(pending.username, 'Authenticator app');
      const qrCodeSvg = await otpauthQrCodeSvg(enrolment.otpauthUri);
      return {
        outcome: {
          kind: 'mfa', status: 200, service, authnMethod, pending: { ...pending, enrolCredentialId: enrolment.credentialId }, enrolment: { ...enrolment, qrCodeSvg },
        },
      };
    } catch (e) {
      if (e instanceof GauthUnavailableError) return { outcome: { kind: 'mfaUnavailable' } };
      throw e;
    }
  }

  /**
   * The code posted on the MFA page, with its single-use token. Wrong codes count in the login
   * throttle like wrong passwords (per account, or per device cookie); the fifth in a row ends the
   * step (the password form again). A right code creates the session with the factor (or adds
   * the factor to the step-up session) and goes on as a password login would.
   */
  async submitMfa(s: MfaSubmission): Promise<LoginResult> {
    const opened = await this.flows.unsealed(s.execution, s.browserKey, 'mfa');
    const flow = opened?.flow;
    const pending = parsePendingMfa(flow?.pending);
    if (!opened || !flow || !pending) {
      // A token of this browser whose pending login does not parse is used up all the same.
      if (opened) await this.flows.use(opened.use);
      return { outcome: { kind: 'form', status: 403, error: EXPIRED_FORM } };
    }
    const { method } = pending;
    const authnMethod = flow.authnMethod;
    const service = flow.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (service !== undefined && !registered) {
      if (!(await this.flows.use(opened.use))) return { outcome: { kind: 'form', status: 403, error: EXPIRED_FORM } };
      return { outcome: this.denied(service) };
    }

    // The token's use and the attempt's reservation in one statement, before any code is checked.
    const deviceId = await this.devices.deviceFor(s.deviceCookie, pending.username);
    const attempt = await this.useAndReserve(opened.use, { ip: s.clientIp, username: pending.username, deviceId });
    if (attempt === 'replayed') return { outcome: { kind: 'form', status: 403, error: EXPIRED_FORM } };
    if (attempt === 'throttled') {
      return { outcome: { kind: 'throttled', service, method, retryAfterSeconds: this.throttle.retryAfterSeconds(), authnMethod } };
    }
    const { reservation } = attempt;
    let result: GauthVerification | WebAuthnVerification;
    try {
      result = pending.provider === 'mfa-webauthn'
        ? await this.webauthn.verify(pending, s.code)
        : pending.enrolCredentialId
        ? await this.gauth.confirm(pending.enrolCredentialId, s.code)
        : await this.gauth.verify(pending.username, s.code, pending.gauthDevices);
    } catch (e) {
      if (e instanceof GauthUnavailableError) return { outcome: { kind: 'mfaUnavailable' } };
      // The pending device is gone or confirmed elsewhere meanwhile: this step cannot finish.
      if (e instanceof GauthError) return { outcome: { kind: 'form', status: 401, service, method, error: MFA_RESTART, authnMethod } };
      throw e;
    }
    if (!result.ok) {
      this.metrics.mfaFailed(pending.provider, result.reason);
      const failures = pending.failures + 1;
      if (failures >= MFA_MAX_WRONG_CODES) return { outcome: { kind: 'form', status: 401, service, method, error: MFA_TOO_MANY, authnMethod } };
      if (pending.provider === 'mfa-webauthn') {
        return this.startWebAuthn({ ...pending, failures }, service, authnMethod, 401, webAuthnRefusalMessage(result.reason as WebAuthnRefusal));
      }
      const error = result.reason === 'replayed' ? MFA_REPLAYED : MFA_WRONG;
      return { outcome: { kind: 'mfa', status: 401, service, authnMethod, pending: { ...pending, failures }, error } };
    }
    if (reservation) await this.throttle.refund(reservation);
    const trustedDeviceCookie = await this.trustedDevices.remember(this.trustRequest(pending, service), !!s.trustDevice, s.trustedDeviceCookie, s.userAgent ?? '');
    const factors = { [pending.provider]: this.clock.now() };
    if (pending.stepUpSession) return { ...(await this.finishStepUp(pending, pending.stepUpSession, service, registered, s.tgtId, s.origin)), trustedDeviceCookie };
    return {
      ...(await this.establish(
        { username: pending.username, attributes: pending.attributes, handler: pending.handler ?? '', warning: pending.warning },
        { service, registered, method, rememberMe: pending.rememberMe, publicWorkstation: pending.publicWorkstation, warn: pending.warn, tgtId: s.tgtId, deviceId, origin: s.origin },
        factors,
      )),
      trustedDeviceCookie,
    };
  }

  /**
   * The factor satisfied by a trusted browser: what a right code would have led to (the factor
   * joins the step-up session, or the new session is created with it). The session records the
   * provider as satisfied, so authnContextClass names it as CAS's trusted flow does (it runs the
   * provider's final step), and a new session carries CAS's `isFromTrustedMultifactorAuthentication`.
   */
  private async satisfiedByTrustedDevice(pending: PendingMfa, service: string | undefined, browser: Browser): Promise<LoginResult> {
    const registered = service === undefined ? null : this.authorizedService(service);
    if (pending.stepUpSession) return this.finishStepUp(pending, pending.stepUpSession, service, registered, browser.tgtId ?? null, browser.origin);
    return this.establish(
      { username: pending.username, attributes: this.trustedDevices.markTrusted(pending.attributes), handler: pending.handler ?? '', warning: pending.warning },
      {
        service, registered, method: pending.method, rememberMe: pending.rememberMe, publicWorkstation: pending.publicWorkstation, warn: pending.warn, tgtId: browser.tgtId ?? null,
        deviceId: browser.deviceId, origin: browser.origin,
      },
      { [pending.provider]: this.clock.now() },
    );
  }

  /**
   * mfa-webauthn's page: an assertion, or the registration of a first credential; a fresh
   * challenge each time, carried in the pending login's token. Off (`enabled=false`): unavailable.
   */
  private async startWebAuthn(pending: PendingMfa, service: string | undefined, authnMethod: string | undefined, status: 200 | 401, error?: string): Promise<LoginResult> {
    if (!this.webauthn.enabled) return { outcome: { kind: 'mfaUnavailable' } };
    const next = await this.webauthn.prompt(pending);
    return { outcome: { kind: 'mfa', status, service, authnMethod, pending: next.pending, error, webauthn: next.prompt } };
  }

  /**
   * "Sign in with a passkey" (CAS's allow-primary-authentication): the assertion of a
   * discoverable credential, with user verification, stands for the password and satisfies
   * mfa-webauthn. Throttled as a password (per account, or device cookie, and per address: the
   * credential names the account before anything is verified); a failure shows the login form.
   * A login that needs another provider goes on to it.
   */
  async acceptPasskey(s: PasskeySubmission): Promise<LoginResult> {
    const method = postMethod(s.method);
    const expired = { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } } as const;
    const opened = await this.flows.unsealed(s.execution, s.browserKey, 'passkey');
    if (!opened) return expired;
    const { flow } = opened;
    const challenge = flow.pending?.challenge;
    const service = flow.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    const usable = typeof challenge === 'string' && this.webauthn.passkeysOffered;
    if (!usable || (service !== undefined && !registered)) {
      // Used up all the same, as whatever else happens next.
      const used = await this.flows.use(opened.use);
      return used && usable && service !== undefined ? { outcome: this.denied(service) } : expired;
    }
    const authnMethod = flow.authnMethod;
    const owner = await this.webauthn.passkeyOwner(s.response);
    const deviceId = owner === null ? undefined : await this.devices.deviceFor(s.deviceCookie, owner);
    // The token's use and the attempt's reservation in one statement, as a password POST's.
    const attempt = await this.useAndReserve(opened.use, { ip: s.clientIp, username: owner ?? '', deviceId });
    if (attempt === 'replayed') return expired;
    if (attempt === 'throttled') {
      return { outcome: { kind: 'throttled', service, method, retryAfterSeconds: this.throttle.retryAfterSeconds(), authnMethod } };
    }
    const { reservation } = attempt;
    const verified = await this.webauthn.verifyPasskey(challenge, s.response);
    if (!verified.ok) return { outcome: { kind: 'form', status: 401, service, method, error: webAuthnRefusalMessage(verified.reason), authnMethod } };
    const principal = await this.webauthnPrincipals.principal(verified.username);
    if (!principal) return { outcome: { kind: 'accountState', state: 'disabled', service } };
    if (reservation) await this.throttle.refund(reservation);
    if (registered && !attributesAllowed(registered.access, principal.attributes)) return { outcome: this.accessDenied(registered) };
    // The passkey is mfa-webauthn: the triggers ask only for what it does not satisfy.
    const satisfied = { 'mfa-webauthn': this.clock.now() };
    const decision = await this.mfa.decide(this.mfa.requirement({ authnMethod, registered, attributes: principal.attributes }), satisfied, principal.username);
    if (decision.kind === 'blocked') return { outcome: { kind: 'mfaUnavailable' } };
    if (decision.kind === 'ask') {
      const pending: PendingMfa = {
        provider: decision.provider, username: principal.username, attributes: principal.attributes, handler: principal.handler, rememberMe: false, publicWorkstation: false, warn: false, method, failures: 0,
      };
      return this.startMfa(pending, service, authnMethod, { tgtId: s.tgtId, deviceId, origin: s.origin });
    }
    const phantom = decision.kind === 'proceed' && decision.phantom ? { [decision.phantom]: this.clock.now() } : {};
    const options = { service, registered, method, rememberMe: false, publicWorkstation: false, warn: false, tgtId: s.tgtId, deviceId, origin: s.origin };
    return this.establish(principal, options, { ...satisfied, ...phantom });
  }

  /** The factor joins the existing session; then its ticket, as SSO would have granted it. */
  private async finishStepUp(
    pending: PendingMfa, sessionId: string, service: string | undefined, registered: RegisteredService | null, tgtId: string | null, origin?: SessionOrigin,
  ): Promise<LoginResult> {
    if (await this.tickets.addFactor(sessionId, pending.provider)) {
      if (service === undefined || !registered) return { outcome: { kind: 'loggedIn', principal: pending.username } };
      const st = await this.tickets.grantServiceTicket(sessionId, this.grant(service, registered, false, origin));
      if (st) return { outcome: this.toService(service, st, pending.method) };
    }
    await this.terminator.endIfExpired(sessionId);
    return { outcome: { kind: 'form', status: 200, service, method: pending.method, error: SESSION_ENDED }, staleCookie: tgtId === sessionId };
  }

  /**
   * A new authentication replaces the session the browser had (ASVS 3.2.1: a new token each
   * time), and no service of the old one may miss its single logout: an expired session ends as
   * the cleaner would end it; the same user's live session hands its services over to the new
   * one (renew must not log the user out of the applications in use); another user's ends with
   * single logout now, since that user has left this browser. Either is REPLACED in the history.
   */
  private async replaceSession(oldId: string, newId: string, principal: string): Promise<void> {
    if (await this.terminator.endIfExpired(oldId)) return;
    if (await this.terminator.handOver(oldId, newId, principal)) return;
    await this.terminator.end(oldId, 'REPLACED');
  }

  /** "Continue" on the warning interstitial: a single-use flow token, then an ST from the existing session. */
  async proceedAfterWarning(s: { execution: string; browserKey: string | undefined; method?: string; tgtId: string | null; origin?: SessionOrigin }): Promise<LoginResult> {
    const method = postMethod(s.method);
    const flow = await this.flows.consume(s.execution, s.browserKey, 'warn');
    const service = flow?.service ?? undefined;
    const registered = service === undefined ? null : this.authorizedService(service);
    if (!flow || service === undefined || !registered) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    if (s.tgtId) {
      const st = await this.tickets.grantServiceTicket(s.tgtId, this.grant(service, registered, false, s.origin));
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
  async continueAfterPasswordWarning(s: { execution: string; browserKey: string | undefined; method?: string; tgtId: string | null; origin?: SessionOrigin }): Promise<LoginResult> {
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
      const st = await this.tickets.grantServiceTicket(flow.session, this.grant(service, registered, true, s.origin));
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

  private grant(service: string, registered: RegisteredService, credentialsProvided: boolean, origin?: SessionOrigin): GrantServiceTicket {
    return {
      service,
      registeredServiceId: registered.id,
      credentialsProvided,
      policy: resolveServiceTicketPolicy(this.defaults, registered),
      sessionMaxAgeSeconds: registered.tgtMaxTimeToLiveSeconds,
      clientIp: recordedAddress(origin?.ip),
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

/** The browser of an MFA step: what trusted devices check, and where it is (the session's origin). */
type Browser = TrustedBrowser & { origin?: SessionOrigin };

function postMethod(method: string | undefined): 'POST' | undefined {
  return method?.toUpperCase() === 'POST' ? 'POST' : undefined;
}

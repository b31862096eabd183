import { Inject, Injectable, Logger } from '@nestjs/common';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { RegisteredService } from '../services/registered-service';
import { ServiceRegistry } from '../services/service-registry';
import { TicketRegistry } from '../tickets/ticket-registry';
import { Authenticator } from './authenticator';
import { LoginFlows } from './login-flows';

export type LoginOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'post'; service: string; ticket: string }
  | { kind: 'form'; status: 200 | 401 | 403; service?: string; method?: string; username?: string; error?: string }
  | { kind: 'loggedIn'; principal: string }
  | { kind: 'notAuthorized' };

export interface LoginResult {
  outcome: LoginOutcome;
  /** A TGT created by this request: the controller writes it into the TGC. */
  newSession?: string;
  /** The TGC pointed at a session that no longer exists: the controller clears it. */
  staleCookie?: boolean;
}

export interface CredentialRequest {
  service?: string;
  renew: boolean;
  gateway: boolean;
  method?: string;
  /** TGT id from a valid TGC, if any. */
  tgtId: string | null;
}

export interface CredentialSubmission {
  execution: string;
  browserKey: string | undefined;
  username: string;
  password: string;
  method?: string;
  tgtId: string | null;
}

const GENERIC_FAILURE = 'Invalid credentials.';
const EXPIRED_FORM = 'Your login form has expired or was already used. Please log in again.';
// Printable ASCII only: anything else could not be a safe Location header anyway (T2).
const HEADER_SAFE_URL = /^[\x21-\x7e]{1,4096}$/;

/** `/login` as credential requestor and acceptor (CAS protocol 2.1–2.2), and `/logout`. */
@Injectable()
export class LoginService {
  private readonly logger = new Logger('Login');

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly tickets: TicketRegistry,
    private readonly services: ServiceRegistry,
    private readonly authenticator: Authenticator,
    private readonly flows: LoginFlows,
  ) {}

  /** The registered, enabled service for a URL the browser may be sent to, or null. */
  authorizedService(service: string): RegisteredService | null {
    return HEADER_SAFE_URL.test(service) ? this.services.authorized(service) : null;
  }

  async requestCredentials(r: CredentialRequest): Promise<LoginResult> {
    const method = postMethod(r.method);
    if (r.service !== undefined && !this.authorizedService(r.service)) return { outcome: { kind: 'notAuthorized' } };
    let staleCookie = false;
    if (r.tgtId && !r.renew) {
      if (r.service !== undefined) {
        const st = await this.tickets.grantServiceTicket(r.tgtId, this.grant(r.service, false));
        if (st) return { outcome: this.toService(r.service, st, method) };
      } else {
        const session = await this.tickets.findSession(r.tgtId);
        if (session) return { outcome: { kind: 'loggedIn', principal: session.principal } };
      }
      staleCookie = true;
    }
    // gateway: never prompt; back to the service without a ticket. renew wins over gateway.
    if (r.gateway && !r.renew && r.service !== undefined) {
      return { outcome: { kind: 'redirect', location: r.service }, staleCookie };
    }
    return { outcome: { kind: 'form', status: 200, service: r.service, method }, staleCookie };
  }

  async acceptCredentials(s: CredentialSubmission): Promise<LoginResult> {
    const method = postMethod(s.method);
    const flow = await this.flows.consume(s.execution, s.browserKey);
    if (!flow) return { outcome: { kind: 'form', status: 403, method, error: EXPIRED_FORM } };
    const service = flow.service ?? undefined;
    if (service !== undefined && !this.authorizedService(service)) return { outcome: { kind: 'notAuthorized' } };

    const principal = await this.authenticator.authenticate(s.username, s.password);
    if (!principal) {
      return { outcome: { kind: 'form', status: 401, service, method, username: s.username, error: GENERIC_FAILURE } };
    }
    const session = await this.tickets.createSession({
      principal: principal.username,
      attributes: principal.attributes,
      rememberMe: false,
      maxTimeToLiveSeconds: this.config.tgt.maxTimeToLiveSeconds,
      timeToKillSeconds: this.config.tgt.timeToKillSeconds,
    });
    // A new authentication replaces the session the browser had (ASVS 3.2.1: new token each time).
    if (s.tgtId && s.tgtId !== session.id) await this.tickets.destroySession(s.tgtId);
    if (service === undefined) return { outcome: { kind: 'loggedIn', principal: principal.username }, newSession: session.id };
    const st = await this.tickets.grantServiceTicket(session.id, this.grant(service, true));
    if (!st) throw new Error('session created in this request could not grant a ticket');
    return { outcome: this.toService(service, st, method), newSession: session.id };
  }

  /** Ends the SSO session: the TGT and, in the same statement, every ticket of it. */
  async logout(tgtId: string | null): Promise<void> {
    if (tgtId) await this.tickets.destroySession(tgtId);
  }

  private grant(service: string, credentialsProvided: boolean) {
    return {
      service,
      registeredServiceId: this.services.authorized(service)?.id ?? null,
      credentialsProvided,
      timeToLiveSeconds: this.config.st.timeToKillSeconds,
    };
  }

  private toService(service: string, ticket: string, method: 'POST' | undefined): LoginOutcome {
    if (method === 'POST') return { kind: 'post', service, ticket };
    return { kind: 'redirect', location: withTicket(service, ticket) };
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

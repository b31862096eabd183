import type { Attributes } from '../common/attributes';
import type { TicketType } from './ticket-ids';
import { type SessionOriginRecord, type SessionOriginRow, toOrigin } from './session-origin';

/**
 * What the ticket registry answers, and the rows of its statements (ticket-statements.ts) they
 * are mapped from: pg hands back snake_case columns, and JSON aggregates with their timestamps as
 * strings.
 */

export interface Session {
  id: string;
  principal: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  useCount: number;
  attributes: Attributes;
  /** Multi-factor providers the session satisfied, provider id → when; empty for password only. */
  factors: AuthenticationFactors;
}

/** Provider id (e.g. `mfa-gauth`) → when the session satisfied it. */
export type AuthenticationFactors = Record<string, Date>;

/** TGT: sessions established with CAS (DIRECT); PGT: proxied sessions (PROXIED); ALL: both. */
export type SessionKind = 'ALL' | 'TGT' | 'PGT';

export interface SessionDetail extends Session {
  /** For a PGT: the service that proxies; null for a TGT. */
  proxiedBy: string | null;
  hardExpiresAt: Date | null;
  idleTimeoutSeconds: number | null;
  rememberMe: boolean;
  /** The handler that authenticated the session's user (its TGT's); null for a session older than the column. */
  authenticationHandler: string | null;
  /** Where the session (a PGT: its root session) comes from. */
  origin: SessionOriginRecord;
  /** clientIp: the address the ticket was granted to; null for a PT and older grants. */
  services: { ticketId: string; service: string; issuedAt: Date; clientIp: string | null }[];
}

export interface ConsumedTicket {
  id: string;
  type: TicketType;
  /** Root TGT of the session. */
  sessionId: string;
  /** The ticket-granting ticket it came from: the TGT for an ST, the PGT for a PT. */
  parentId: string;
  service: string;
  /** PT: the proxies' callback URLs, most recent first (cas:proxies); empty for an ST. */
  proxies: string[];
  principal: string;
  attributes: Attributes;
  authenticatedAt: Date;
  fromNewLogin: boolean;
  rememberMe: boolean;
  /** The handler that authenticated the session's user; null for a session older than the column. */
  authenticationHandler: string | null;
  /** The session's satisfied multi-factor providers (released as authnContextClass). */
  factors: AuthenticationFactors;
  /** False when the ticket or its session had expired: the ticket is consumed all the same. */
  live: boolean;
}

/** A service that received a ticket in a session (a session_services row). */
export interface ReachedService {
  ticketId: string;
  service: string;
  registeredServiceId: number | null;
  issuedAt: Date;
}

/** What ending a session (or a proxied session) found: whose it was and the services it reached. */
export interface EndedSessionRows {
  principal: string;
  reached: ReachedService[];
}

export interface SessionRow {
  id: string;
  principal: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  use_count: number;
  attributes: Attributes | null;
  /** Absent from the statements that do not select it (the admin listing). */
  authentication_factors?: Record<string, string> | null;
}

export interface SessionDetailRow extends SessionRow, SessionOriginRow {
  type: TicketType;
  proxied_by: string | null;
  hard_expires_at: Date | null;
  idle_timeout_seconds: number | null;
  remember_me: boolean;
  authentication_handler: string | null;
  services: { ticket_id: string; service: string; issued_at: string; client_ip: string | null }[];
}

export interface ConsumedRow {
  id: string;
  type: TicketType;
  session_id: string;
  parent_id: string;
  proxy_chain: string[] | null;
  service: string;
  principal: string;
  from_new_login: boolean | null;
  attributes: Attributes | null;
  authenticated_at: Date;
  remember_me: boolean;
  authentication_handler: string | null;
  authentication_factors: Record<string, string> | null;
  live: boolean;
}

export interface ReachedRow {
  ticket_id: string;
  service: string;
  registered_service_id: number | null;
  issued_at: string;
}

export interface SessionTotals {
  tgts: number;
  pgts: number;
  principals: number;
  uses: number;
}

export function toSession(r: SessionRow): Session {
  return {
    id: r.id,
    principal: r.principal,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    useCount: r.use_count,
    attributes: r.attributes ?? {},
    factors: toFactors(r.authentication_factors),
  };
}

/** The jsonb column (ISO strings) as Dates; anything else in it is ignored, never trusted as a factor. */
export function toFactors(raw: Record<string, string> | null | undefined): AuthenticationFactors {
  const factors: AuthenticationFactors = {};
  if (!raw || typeof raw !== 'object') return factors;
  for (const [id, at] of Object.entries(raw)) {
    const date = typeof at === 'string' ? new Date(at) : null;
    if (date && !Number.isNaN(date.getTime())) factors[id] = date;
  }
  return factors;
}

export function toSessionDetail(r: SessionDetailRow): SessionDetail {
  return {
    ...toSession(r),
    proxiedBy: r.type === 'PGT' ? r.proxied_by : null,
    hardExpiresAt: r.hard_expires_at,
    idleTimeoutSeconds: r.idle_timeout_seconds,
    rememberMe: r.remember_me,
    authenticationHandler: r.authentication_handler,
    origin: toOrigin(r),
    services: r.services.map((s) => ({ ticketId: s.ticket_id, service: s.service, issuedAt: new Date(s.issued_at), clientIp: s.client_ip })),
  };
}

export function toConsumed(r: ConsumedRow): ConsumedTicket {
  return {
    id: r.id,
    type: r.type,
    sessionId: r.session_id,
    parentId: r.parent_id,
    service: r.service,
    proxies: r.proxy_chain ?? [],
    principal: r.principal,
    attributes: r.attributes ?? {},
    authenticatedAt: r.authenticated_at,
    fromNewLogin: r.from_new_login === true,
    rememberMe: r.remember_me,
    authenticationHandler: r.authentication_handler,
    factors: toFactors(r.authentication_factors),
    live: r.live,
  };
}

export function toReached(r: ReachedRow): ReachedService {
  return {
    ticketId: r.ticket_id,
    service: r.service,
    registeredServiceId: r.registered_service_id === null ? null : Number(r.registered_service_id),
    issuedAt: new Date(r.issued_at),
  };
}

import type { LogoutRequestStatus } from '../tickets/logout/single-logout-outbox';
import type { SessionDetail } from '../tickets/ticket-registry';

/**
 * CAS's `*_formatted` timestamps: `yyyy-MM-dd'T'HH:mm:ss'Z'`, here in true UTC, from an ISO
 * string (toISOString). A page of 100 sessions formats 600 of them: cut, not a regular expression
 * (the regex was 3.7 % of the node's CPU profile over the admin listing, BENCH_ONLY=admin-listing).
 */
const formattedIso = (iso: string) => (iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, 'Z'));
const formatted = (d: Date) => formattedIso(d.toISOString());

/**
 * One session as CAS 7's ssoSessions endpoint shows it (same keys, same order). `is_proxied` is
 * omitted for type=DIRECT, as CAS does; a PGT (proxied session) adds `proxied_by`, the service
 * that proxies.
 */
export function mapSsoSession(s: SessionDetail, includeProxied: boolean): Record<string, unknown> {
  const created = s.createdAt.toISOString();
  const createdFormatted = formattedIso(created);
  const view: Record<string, unknown> = {
    authenticated_principal: s.principal,
    authentication_date: created,
    authentication_date_formatted: createdFormatted,
    creation_date_formatted: createdFormatted,
    last_used_date_formatted: formatted(s.lastUsedAt),
    number_of_uses: s.useCount,
    ticket_granting_ticket: s.id,
    principal_attributes: s.attributes,
    authentication_attributes: authenticationAttributes(s),
    expiration_policy: expirationPolicy(s),
    remember_me: s.rememberMe,
  };
  // Ours, beside CAS's keys: which multi-factor providers the session satisfied, and when.
  if (Object.keys(s.factors).length) view.satisfied_factors = Object.fromEntries(Object.entries(s.factors).map(([id, at]) => [id, at.toISOString()]));
  if (includeProxied) view.is_proxied = s.proxiedBy !== null;
  if (includeProxied && s.proxiedBy !== null) view.proxied_by = s.proxiedBy;
  view.authenticated_services = Object.fromEntries(
    s.services.map((x) => [x.ticketId, { id: x.service, originalUrl: x.service, issued: x.issuedAt.toISOString(), client_ip: x.clientIp }]),
  );
  // Ours, after CAS's keys: where the session comes from (a proxied session: where its user
  // logged in), recorded at login; null when not recorded (a session older than the columns).
  view.client_ip = s.origin.clientIp;
  view.user_agent = s.origin.userAgent;
  view.device = { ...s.origin.device };
  view.location = s.origin.location && { ...s.origin.location };
  return view;
}

/** CAS's authentication attributes of a session, with the handler that authenticated it when it was recorded. */
function authenticationAttributes(s: SessionDetail): Record<string, unknown[]> {
  const attributes: Record<string, unknown[]> = { credentialType: ['UsernamePasswordCredential'] };
  if (s.authenticationHandler !== null) {
    attributes.successfulAuthenticationHandlers = [s.authenticationHandler];
    attributes.authenticationMethod = [s.authenticationHandler];
  }
  // CAS records the multi-factor provider as the authentication's authnContextClass.
  const factors = Object.keys(s.factors);
  if (factors.length) attributes.authnContextClass = factors;
  attributes.longTermAuthenticationRequestTokenUsed = [s.rememberMe];
  return attributes;
}

function expirationPolicy(s: SessionDetail): Record<string, unknown> {
  const timeToLive = s.hardExpiresAt ? Math.round((s.hardExpiresAt.getTime() - s.createdAt.getTime()) / 1000) : null;
  const policy: Record<string, unknown> = {};
  if (s.idleTimeoutSeconds !== null) {
    policy.timeToIdle = s.idleTimeoutSeconds;
    policy.idleExpirationTime = formatted(new Date(s.lastUsedAt.getTime() + s.idleTimeoutSeconds * 1000));
  }
  policy.timeToLive = timeToLive;
  policy.clock = 'SystemClock[Z]';
  policy.name = s.idleTimeoutSeconds !== null ? 'TicketGrantingTicketExpirationPolicy' : 'HardTimeoutExpirationPolicy';
  if (s.hardExpiresAt) policy.maxExpirationTime = formatted(s.hardExpiresAt);
  policy.expiresAt = formatted(s.expiresAt);
  return policy;
}

/** A logout request as CAS's SingleLogoutRequestContext serialises, with our delivery details. */
export function mapLogoutRequest(r: LogoutRequestStatus): Record<string, unknown> {
  return {
    ticketId: r.ticketId,
    service: r.service,
    logoutUrl: r.logoutUrl,
    logoutType: 'BACK_CHANNEL',
    status: r.status,
    properties: { id: r.id, attempts: r.attempts, lastHttpStatus: r.lastHttpStatus, lastError: r.lastError },
  };
}

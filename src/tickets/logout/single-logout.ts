import { deflateRawSync } from 'node:zlib';
import { buildXml, xmlText } from '../../common/xml';
import type { RegisteredService } from '../../services/registered-service';
import { isUsableServiceUrl } from '../../services/service-url';
import { randomToken } from '../ticket-ids';
import type { ReachedService } from '../ticket-rows';

/** A logout request; its SAML message is built from these fields when sent (logoutRequestXml). */
export interface LogoutRequestRow {
  id: string;
  /** The ST the service received: the request's SessionIndex. */
  ticketId: string;
  /** The session's user: the request's NameID. */
  principal: string;
  service: string;
  logoutUrl: string;
  /** The request's IssueInstant. */
  issuedAt: Date;
  /** BACK_CHANNEL: POSTed by the server (outbox); FRONT_CHANNEL: requested by the browser from the logout page. */
  channel: 'BACK_CHANNEL' | 'FRONT_CHANNEL';
}

/**
 * The logout requests for an ended session (CAS 2.4): one per service URL (query, path
 * parameters and fragment ignored), for the latest ticket it received; none for services no
 * longer registered, disabled, or with logoutType NONE.
 */
export function logoutRequests(
  principal: string,
  reached: ReachedService[],
  lookup: (r: ReachedService) => RegisteredService | null,
  now: Date,
): LogoutRequestRow[] {
  const latest = new Map<string, ReachedService>();
  for (const r of reached) {
    const key = r.service.replace(/[?;#].*$/, '');
    const seen = latest.get(key);
    if (!seen || seen.issuedAt < r.issuedAt) latest.set(key, r);
  }
  const out: LogoutRequestRow[] = [];
  for (const r of latest.values()) {
    const registered = lookup(r);
    const channel = logoutChannelOf(registered);
    if (!registered || !channel) continue;
    out.push({
      id: `LR-${randomToken(24)}`,
      ticketId: r.ticketId,
      principal,
      service: r.service,
      logoutUrl: registered.logoutUrl ?? r.service,
      issuedAt: now,
      channel,
    });
  }
  return out;
}

/** How a service is logged out: by its logoutType, or not at all (not registered, disabled, or NONE). */
export function logoutChannelOf(registered: RegisteredService | null): LogoutRequestRow['channel'] | null {
  if (!registered || !registered.enabled || registered.logoutType === 'NONE') return null;
  return registered.logoutType;
}

/** The SAML 2.0 LogoutRequest CAS sends, on one line, with a real UTC IssueInstant. */
export function logoutRequestXml(id: string, principal: string, sessionIndex: string, now: Date): string {
  return buildXml({
    'samlp:LogoutRequest': {
      '@_xmlns:samlp': 'urn:oasis:names:tc:SAML:2.0:protocol',
      '@_ID': id,
      '@_Version': '2.0',
      '@_IssueInstant': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'saml:NameID': { '@_xmlns:saml': 'urn:oasis:names:tc:SAML:2.0:assertion', '#text': xmlText(principal) },
      'samlp:SessionIndex': sessionIndex,
    },
  });
}

/**
 * The browser-side request of a FRONT_CHANNEL service (CAS 2.3): a GET of its logout URL with
 * `logoutRequest` = base64 of the DEFLATE-compressed XML. Null when the logout URL is no usable URL
 * (a definition's `logoutUrl` is not checked when it is imported): that service is skipped, and
 * the logout itself goes on.
 */
export function frontChannelUrl(r: LogoutRequestRow): string | null {
  if (!isUsableServiceUrl(r.logoutUrl)) return null;
  const url = new URL(r.logoutUrl);
  const xml = logoutRequestXml(r.id, r.principal, r.ticketId, r.issuedAt);
  url.searchParams.set('logoutRequest', deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'));
  return url.toString();
}

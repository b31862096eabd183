import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { usernameKey } from '../common/username';
import { Sql } from '../database/sql';
import type { SessionOriginRow } from './session-origin';

/** An application a session reached: one per service URL, with its latest ticket's time. */
export interface SessionApplication {
  service: string;
  registeredServiceId: number | null;
  lastAccessAt: Date;
}

/** Where a session was established from (migration AddSessionOrigin1764000019000); every field null for sessions older than it, or unknown. */
export interface SessionOrigin {
  clientIp: string | null;
  userAgent: string | null;
  deviceBrowser: string | null;
  deviceOs: string | null;
  deviceType: string | null;
  /** ISO 3166-1 alpha-2. */
  locationCountry: string | null;
  locationCity: string | null;
}

/** A session's origin columns (tickets or session_history) as the account page reads them. */
export function originOfRow(r: SessionOriginRow): SessionOrigin {
  return {
    clientIp: r.client_ip,
    userAgent: r.user_agent,
    deviceBrowser: r.device_browser,
    deviceOs: r.device_os,
    deviceType: r.device_type,
    locationCountry: r.location_country,
    locationCity: r.location_city,
  };
}

/** One live SSO session of a user, as the user's own session list shows it. */
export interface UserSession {
  /** The TGT id: a bearer credential, for the server only (never shown to the user). */
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  rememberMe: boolean;
  origin: SessionOrigin;
  applications: SessionApplication[];
}

export interface UserSessions {
  sessions: UserSession[];
  /** How many live sessions the user has in all (more than `sessions.length` past the limit). */
  total: number;
}

interface UserSessionRow extends SessionOriginRow {
  id: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  remember_me: boolean;
  total: string;
  applications: { service: string; registered_service_id: number | null; last_access_at: string }[];
}

/**
 * $1 principal key, $2 now, $3 limit, $4 the TGT to list first (the asking browser's). On the
 * (type, principal_key) index; the applications are the session's own service tickets (not the
 * back-end services its proxies reached), one per URL.
 */
const USER_SESSIONS_SQL = `SELECT t.id, t.created_at, t.last_used_at, t.expires_at, t.remember_me, count(*) OVER () AS total,
              host(t.client_ip) AS client_ip, t.user_agent, t.device_browser, t.device_os, t.device_type, t.location_country, t.location_city,
              COALESCE((SELECT json_agg(json_build_object('service', a.service, 'registered_service_id', a.registered_service_id,
                                                          'last_access_at', a.last_access_at) ORDER BY a.last_access_at DESC)
                          FROM (SELECT s.service, max(s.registered_service_id) AS registered_service_id, max(s.issued_at) AS last_access_at
                                  FROM session_services s
                                 WHERE s.session_id = t.id AND s.granted_by IS NULL
                                 GROUP BY s.service) a), '[]'::json) AS applications
         FROM tickets t
        WHERE t.type = 'TGT' AND t.principal_key = $1 AND t.expires_at > $2
        ORDER BY (t.id = $4) DESC, t.last_used_at DESC, t.id
        LIMIT $3`;

/**
 * A user's own live sessions, for the account page (auth/account/): the tickets module's public
 * read of them, so the SQL on its tables stays here.
 */
@Injectable()
export class SessionListing {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Up to `limit` live sessions of the principal (canonical username), `first` (if one of them) first, then the most recently used. */
  async sessionsOf(principal: string, first: string, limit: number): Promise<UserSessions> {
    const rows = await this.sql.rows<UserSessionRow>(USER_SESSIONS_SQL, [usernameKey(principal), this.clock.now(), limit, first]);
    return {
      total: rows.length ? Number(rows[0].total) : 0,
      sessions: rows.map((r) => ({
        id: r.id,
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        expiresAt: r.expires_at,
        rememberMe: r.remember_me,
        origin: originOfRow(r),
        applications: r.applications.map((a) => ({
          service: a.service,
          registeredServiceId: a.registered_service_id === null ? null : Number(a.registered_service_id),
          lastAccessAt: new Date(a.last_access_at),
        })),
      })),
    };
  }
}

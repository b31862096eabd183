/**
 * Where a session comes from, as its TGT row stores it (migration 1764000019000): the address and
 * User-Agent of the login, the device summary parsed from that User-Agent once at login, and the
 * GeoIP location of the address when the server has a GeoIP database. The registry stores and
 * returns it; who fills it in (parsing, GeoIP) is the login's business (auth/session-origin.ts).
 * Every part may be null: sessions older than the columns have none.
 */
export interface SessionOriginRecord {
  /** IP address of the login (after TRUSTED_PROXIES), IPv4 or IPv6 as Postgres prints inet. */
  clientIp: string | null;
  userAgent: string | null;
  device: DeviceSummary;
  /** Null without a GeoIP database, or when it does not know the address. */
  location: SessionLocation | null;
}

export interface DeviceSummary {
  /** Browser name and major version, e.g. `Firefox 133`. */
  browser: string | null;
  /** Operating system name and version, e.g. `Windows 10`, `iOS 17.5`. */
  os: string | null;
  /** `desktop`, `mobile`, `tablet`, `tv` or `bot`. */
  type: string | null;
}

export interface SessionLocation {
  /** ISO 3166-1 alpha-2 code, e.g. `FR`. */
  country: string | null;
  /** The city's English name. */
  city: string | null;
}

/** The columns a statement selects for a session's origin. */
export interface SessionOriginRow {
  client_ip: string | null;
  user_agent: string | null;
  device_browser: string | null;
  device_os: string | null;
  device_type: string | null;
  location_country: string | null;
  location_city: string | null;
}

/** No origin recorded: a session older than the columns. */
export const UNKNOWN_ORIGIN: SessionOriginRecord = { clientIp: null, userAgent: null, device: { browser: null, os: null, type: null }, location: null };

/** INSERT parameters, in the column order of SessionOriginRow. */
export function originParams(o: SessionOriginRecord | undefined): (string | null)[] {
  const origin = o ?? UNKNOWN_ORIGIN;
  return [
    origin.clientIp, origin.userAgent, origin.device.browser, origin.device.os, origin.device.type,
    origin.location?.country ?? null, origin.location?.city ?? null,
  ];
}

export function toOrigin(r: SessionOriginRow): SessionOriginRecord {
  return {
    clientIp: r.client_ip,
    userAgent: r.user_agent,
    device: { browser: r.device_browser, os: r.device_os, type: r.device_type },
    location: r.location_country === null && r.location_city === null ? null : { country: r.location_country, city: r.location_city },
  };
}

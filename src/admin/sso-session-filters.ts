import { hasControlCharacters } from '../common/text';
import { isIP } from 'node:net';
import type { SessionFilter } from '../tickets/session-search';

/**
 * The session filters as people write them, in the API's query (`?since=2h&service=3`) and on the
 * command line (`--since 2h --service 3`): one parser for both, so a value means the same in each.
 * Each `parse…` answers undefined for a value it refuses; `FILTER_RULES` says what was wrong.
 */

export interface RawSessionFilter {
  username?: string;
  ip?: string;
  since?: string;
  until?: string;
  idleSince?: string;
  service?: string;
  rememberMe?: string;
  mfa?: string;
  device?: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** An ISO 8601 date or date-time (what Date parses the same on every platform). */
const ISO_TIME = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?)?$/;
/** A registered service id: digits only (registered_services.id is a bigint). */
const SERVICE_ID = /^\d{1,18}$/;
/** Service URLs are compared as given; a prefix is at least a scheme and longer than nothing. */
const SERVICE_URL_PREFIX = /^[a-z][a-z0-9+.-]*:\S*$/i;
/** Provider ids as configured (mfa-gauth, mfa-webauthn, …). */
const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `2h` (ago: s, m, h, d, w) or an ISO 8601 time; undefined when neither. */
export function parseTime(value: string, now: Date): Date | undefined {
  const ago = /^(\d{1,7})([smhdw])$/.exec(value);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * UNIT_MS[ago[2]]);
  if (!ISO_TIME.test(value)) return undefined;
  // Date rolls 2026-02-30 over to March 2: a day that does not exist is refused, not moved.
  const day = new Date(`${value.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value.slice(0, 10)) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** An IPv4 or IPv6 address, or a CIDR range of one (`10.0.0.0/8`, `2001:db8::/32`), as given. */
export function parseIp(value: string): string | undefined {
  const [address, bits, ...more] = value.split('/');
  const family = isIP(address);
  if (!family || more.length) return undefined;
  if (bits === undefined) return value;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128) ? value : undefined;
}

export function parseBoolean(value: string): boolean | undefined {
  const v = value.toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

export function parseService(value: string): SessionFilter['service'] | undefined {
  if (SERVICE_ID.test(value)) return { registeredServiceId: Number(value) };
  if (value.length <= 2048 && SERVICE_URL_PREFIX.test(value)) return { urlPrefix: value };
  return undefined;
}

/** What the login's User-Agent was parsed as (auth/session-origin.ts). */
const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'tv', 'bot'];

/**
 * A device type (`mobile`), or a device as the summary groups them, `browser / OS / type` with `?`
 * for a part not known (`Firefox 133 / Linux / desktop`): a summary's group links to its sessions.
 */
export function parseDevice(value: string): SessionFilter['device'] | undefined {
  if (DEVICE_TYPES.includes(value.toLowerCase())) return { type: value.toLowerCase() };
  const parts = value.split(' / ');
  if (parts.length !== 3 || value.length > 300 || parts.some((p) => !p.trim() || /[\x00-\x1f]/.test(p))) return undefined;
  const [browser, os, type] = parts.map((p) => (p === '?' ? null : p));
  return { browser, os, type };
}

/** `true` / `false`, or a provider id: sessions that satisfied that provider. */
export function parseMfa(value: string): boolean | string | undefined {
  return parseBoolean(value) ?? (PROVIDER_ID.test(value) ? value : undefined);
}

export function parseUsernamePrefix(value: string): string | undefined {
  return value.length <= 256 && !hasControlCharacters(value) ? value : undefined;
}

const TIME_MESSAGE = (name: string) => `'${name}' must be a time ago (30m, 2h, 7d) or an ISO 8601 date-time (2026-12-03T08:00:00Z)`;

/** Each filter's check and its message, in the order they are checked; shared by the DTO and the CLI. */
export const FILTER_RULES: { [K in keyof RawSessionFilter]-?: { test: (v: string) => boolean; message: string } } = {
  username: { test: (v) => parseUsernamePrefix(v) !== undefined, message: "'username' must be at most 256 characters, without control characters" },
  ip: { test: (v) => parseIp(v) !== undefined, message: "'ip' must be an IPv4 or IPv6 address or a CIDR range (10.0.0.0/8, 2001:db8::/32)" },
  since: { test: (v) => parseTime(v, new Date()) !== undefined, message: TIME_MESSAGE('since') },
  until: { test: (v) => parseTime(v, new Date()) !== undefined, message: TIME_MESSAGE('until') },
  idleSince: { test: (v) => parseTime(v, new Date()) !== undefined, message: TIME_MESSAGE('idleSince') },
  service: { test: (v) => parseService(v) !== undefined, message: "'service' must be a registered service id or the beginning of a service URL (https://app.example.org/)" },
  rememberMe: { test: (v) => parseBoolean(v) !== undefined, message: "'rememberMe' must be true or false" },
  mfa: { test: (v) => parseMfa(v) !== undefined, message: "'mfa' must be true, false or a multi-factor provider id (mfa-gauth)" },
  device: {
    test: (v) => parseDevice(v) !== undefined,
    message: "'device' must be a device type (desktop, mobile, tablet, tv, bot) or 'browser / OS / type' as the summary groups them ('?' where unknown)",
  },
};

export class FilterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The typed filter of already given raw values, times relative to `now`. Throws FilterError
 * naming the first parameter refused (the DTO checked them before, so the API never gets one).
 */
export function toSessionFilter(raw: RawSessionFilter, now: Date): SessionFilter {
  for (const key of Object.keys(FILTER_RULES) as (keyof RawSessionFilter)[]) {
    const v = raw[key];
    if (v !== undefined && !FILTER_RULES[key].test(v)) throw new FilterError(key, FILTER_RULES[key].message);
  }
  const filter: SessionFilter = {};
  if (raw.username !== undefined) filter.usernamePrefix = raw.username;
  if (raw.ip !== undefined) filter.ip = parseIp(raw.ip);
  if (raw.since !== undefined) filter.createdSince = parseTime(raw.since, now);
  if (raw.until !== undefined) filter.createdUntil = parseTime(raw.until, now);
  if (raw.idleSince !== undefined) filter.idleSince = parseTime(raw.idleSince, now);
  if (raw.service !== undefined) filter.service = parseService(raw.service);
  if (raw.rememberMe !== undefined) filter.rememberMe = parseBoolean(raw.rememberMe);
  if (raw.mfa !== undefined) filter.mfa = parseMfa(raw.mfa);
  if (raw.device !== undefined) filter.device = parseDevice(raw.device);
  return filter;
}

/** True when any filter is given: the listing's plain path (one user or all) no longer fits. */
export function hasFilters(raw: RawSessionFilter): boolean {
  return (Object.keys(FILTER_RULES) as (keyof RawSessionFilter)[]).some((k) => raw[k] !== undefined);
}

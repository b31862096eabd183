import { NoControlCharacters, OptionalQueryParam, Rule } from '../../common/admin-api';
import { HISTORY_CURSOR, HISTORY_REASONS, type HistoryQuery } from '../../tickets/session-history';

const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;
const REASONS = new Set<string>(HISTORY_REASONS);
/** A date (UTC midnight) or a date-time with its offset: a time without one would be read in the server's zone. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;
/** Or a duration back from now, ISO-8601 days, hours, minutes, seconds (P7D, PT2H, P1DT12H). */
const DURATION = /^P(?:(\d{1,5})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,7})M)?(?:(\d{1,9})S)?)?$/i;

/** `since` as an instant, given `now`; null when it is neither a timestamp nor a duration. */
export function sinceOf(value: string, now: Date): Date | null {
  if (TIMESTAMP.test(value)) {
    const at = Date.parse(value);
    return Number.isNaN(at) ? null : new Date(at);
  }
  const m = DURATION.exec(value);
  if (!m || /^P$|T$/i.test(value)) return null;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
  return new Date(now.getTime() - (((d * 24 + h) * 60 + min) * 60 + s) * 1000);
}

/**
 * `GET /actuator/ssoSessions/history?username=&since=&reason=&count=&cursor=` (fields in the
 * order they are checked): ended sessions, newest first.
 */
export class SessionHistoryQuery {
  @OptionalQueryParam(
    'username',
    Rule('username', (v: string) => v.length <= 512, "'username' must be at most 512 characters"),
    NoControlCharacters('username'),
  )
  username?: string;

  @OptionalQueryParam('since', Rule('since', (v: string) => sinceOf(v, new Date()) !== null,
    "'since' must be an ISO-8601 date or date-time with offset (2026-01-31, 2026-01-31T08:00:00Z) or a duration back from now (PT2H, P7D)"))
  since?: string;

  @OptionalQueryParam('reason', Rule('reason', (v: string) => REASONS.has(v.toUpperCase()), `'reason' must be one of ${HISTORY_REASONS.join(', ')}`))
  reason?: string;

  @OptionalQueryParam('count', Rule('pageSize', (v: string) => /^\d{1,7}$/.test(v) && Number(v) >= 1, "'count' must be a positive integer"))
  count?: string;

  @OptionalQueryParam('cursor', Rule('cursor', (v: string) => HISTORY_CURSOR.test(v), "'cursor' must be the 'next' value of a previous page"))
  cursor?: string;

  /** What SessionHistory.page takes; `since` as a duration counts back from `now` (the server clock). */
  query(now: Date): HistoryQuery {
    return {
      username: this.username,
      since: this.since === undefined ? undefined : sinceOf(this.since, now)!,
      reason: this.reason?.toUpperCase() as HistoryQuery['reason'],
      count: this.count === undefined ? DEFAULT_COUNT : Math.min(Number(this.count), MAX_COUNT),
      cursor: this.cursor,
    };
  }
}

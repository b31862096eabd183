import { OptionalQueryParam, QueryParam, Rule } from '../../common/admin-api';
import { FILTER_RULES, RawSessionFilter } from '../sso-session-filters';
import type { SessionType } from '../sso-sessions.service';

const TYPES = new Set(['ALL', 'DIRECT', 'PROXIED']);
/** A session is a TGT, or a PGT (a proxied session). */
const SESSION_ID = /^(TGT|PGT)-[A-Za-z0-9-]{1,252}$/;
/**
 * CAS defaults to 1000; a page that size takes far longer to build over a large registry than
 * an admin screen should wait (docs/benchmarks.md), so ours is 100 (max 1000).
 */
const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;

const isSessionType = (v: string) => TYPES.has(v.toUpperCase());
const TypeParam = () =>
  OptionalQueryParam('type', Rule('sessionType', isSessionType, (v) => `'type' must be ALL, DIRECT or PROXIED, not '${v.slice(0, 32)}'`));
const UsernameParam = () => OptionalQueryParam('username');
const CountParam = () =>
  OptionalQueryParam('count', Rule('pageSize', (v) => /^\d{1,7}$/.test(v) && Number(v) >= 1, "'count' must be a positive integer"));
const CursorParam = () => OptionalQueryParam('cursor', Rule('cursor', (v) => SESSION_ID.test(v), "'cursor' must be the 'next' value of a previous page"));
// CAS's `from` (an offset) is accepted for the first page only: paging uses the cursor.
const FromParam = () =>
  OptionalQueryParam('from', Rule('firstPage', (v) => v === '0', "'from' other than 0 is not supported: page with 'cursor' (the 'next' value of the previous page)"));

/** A session filter (sso-session-filters.ts): optional, given once, checked by the parser the CLI uses too. */
const FilterParam = (name: keyof RawSessionFilter) => OptionalQueryParam(name, Rule(name, FILTER_RULES[name].test, FILTER_RULES[name].message));

/** The filters every session query takes but `username` (the user path has its user). */
class SessionFilterParams {
  @FilterParam('ip') ip?: string;
  @FilterParam('since') since?: string;
  @FilterParam('until') until?: string;
  @FilterParam('idleSince') idleSince?: string;
  @FilterParam('service') service?: string;
  @FilterParam('rememberMe') rememberMe?: string;
  @FilterParam('mfa') mfa?: string;
  @FilterParam('device') device?: string;

  /** The filters given, username (a prefix) included when the query has one. */
  filter(): RawSessionFilter {
    const { ip, since, until, idleSince, service, rememberMe, mfa, device } = this;
    const username = (this as { username?: string }).username;
    return Object.fromEntries(Object.entries({ username, ip, since, until, idleSince, service, rememberMe, mfa, device }).filter(([, v]) => v !== undefined));
  }
}

/** What SsoSessionsService.list takes. */
export interface SessionListing {
  type: SessionType;
  /** One user's sessions, exactly (canonical username): the user path's. */
  username?: string;
  /** Filters of the query (`username` there is a prefix). */
  filter: RawSessionFilter;
  count: number;
  cursor?: string;
}

function withoutUsername({ username: _ignored, ...rest }: RawSessionFilter): RawSessionFilter {
  return rest;
}

/** A page of sessions as asked: type ALL and 100 sessions unless the query says otherwise. */
function listing(q: SessionFilterParams & { type?: string; count?: string; cursor?: string }, username: string | undefined): SessionListing {
  return {
    type: (q.type?.toUpperCase() as SessionType | undefined) ?? 'ALL',
    username,
    // The user path names its user exactly: a `username` in its query (a prefix elsewhere) is ignored, as before the filters.
    filter: username === undefined ? q.filter() : withoutUsername(q.filter()),
    count: q.count === undefined ? DEFAULT_COUNT : Math.min(Number(q.count), MAX_COUNT),
    cursor: q.cursor,
  };
}

/**
 * `GET /actuator/ssoSessions?type=&username=&count=&cursor=&from=` and the filters (fields in the
 * order they are checked). `username` is a case-insensitive prefix: `casuser` lists casuser's
 * sessions, and those of any `casuser2`.
 */
export class SsoSessionsQuery extends SessionFilterParams {
  @TypeParam() type?: string;
  @FilterParam('username') username?: string;
  @CountParam() count?: string;
  @CursorParam() cursor?: string;
  @FromParam() from?: string;

  listing(): SessionListing {
    return listing(this, undefined);
  }
}

/** `GET /actuator/ssoSessions/users/{username}?type=&count=&cursor=&from=` and the filters: the user is the path's, exactly. */
export class UserSsoSessionsQuery extends SessionFilterParams {
  @TypeParam() type?: string;
  @CountParam() count?: string;
  @CursorParam() cursor?: string;
  @FromParam() from?: string;

  listing(username: string): SessionListing {
    return listing(this, username);
  }
}

const GROUPS = ['user', 'ip', 'net24', 'service', 'device'];
const DEFAULT_TOP = 20;
const MAX_TOP = 1000;
const LimitParam = () => OptionalQueryParam('limit', Rule('limit', (v) => /^\d{1,7}$/.test(v) && Number(v) >= 1, "'limit' must be a positive integer"));
const limitOf = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Math.min(Number(v), MAX_TOP));

/** `GET /actuator/ssoSessions/summary?groupBy=&limit=` and the filters. */
export class SsoSessionsSummaryQuery extends SessionFilterParams {
  @QueryParam('groupBy', Rule('groupBy', (v?: string) => v !== undefined && GROUPS.includes(v), `'groupBy' must be one of ${GROUPS.join(', ')}`))
  groupBy: string;
  @FilterParam('username') username?: string;
  @LimitParam() limit?: string;

  get top(): number {
    return limitOf(this.limit, DEFAULT_TOP);
  }
}

/** `GET /actuator/ssoSessions/multipleIps?limit=` and the filters. */
export class MultipleIpsQuery extends SessionFilterParams {
  @FilterParam('username') username?: string;
  @LimitParam() limit?: string;

  get top(): number {
    return limitOf(this.limit, DEFAULT_COUNT);
  }
}

/** `DELETE /actuator/ssoSessions?username=` or `?type=`: no type given means none, not ALL. */
export class EndSsoSessionsQuery {
  @UsernameParam() username?: string;
  @TypeParam() type?: string;

  get sessionType(): SessionType | undefined {
    return this.type?.toUpperCase() as SessionType | undefined;
  }
}

/** `GET /actuator/singleLogoutRequests?ticketGrantingTicket=`. */
export class LogoutRequestsQuery {
  @QueryParam('ticketGrantingTicket', Rule('sessionId', (v?: string) => v !== undefined && SESSION_ID.test(v), "'ticketGrantingTicket' is required"))
  ticketGrantingTicket: string;
}

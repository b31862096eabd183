import { OptionalQueryParam, QueryParam, Rule } from '../../common/admin-api';
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

/** What SsoSessionsService.list takes. */
export interface SessionListing {
  type: SessionType;
  username?: string;
  count: number;
  cursor?: string;
}

/** A page of sessions as asked: type ALL and 100 sessions unless the query says otherwise. */
function listing(q: { type?: string; count?: string; cursor?: string }, username: string | undefined): SessionListing {
  return {
    type: (q.type?.toUpperCase() as SessionType | undefined) ?? 'ALL',
    username,
    count: q.count === undefined ? DEFAULT_COUNT : Math.min(Number(q.count), MAX_COUNT),
    cursor: q.cursor,
  };
}

/** `GET /actuator/ssoSessions?type=&username=&count=&cursor=&from=` (fields in the order they are checked). */
export class SsoSessionsQuery {
  @TypeParam() type?: string;
  @UsernameParam() username?: string;
  @CountParam() count?: string;
  @CursorParam() cursor?: string;
  @FromParam() from?: string;

  listing(): SessionListing {
    return listing(this, this.username);
  }
}

/** `GET /actuator/ssoSessions/users/{username}?type=&count=&cursor=&from=`: the user is the path's. */
export class UserSsoSessionsQuery {
  @TypeParam() type?: string;
  @CountParam() count?: string;
  @CursorParam() cursor?: string;
  @FromParam() from?: string;

  listing(username: string): SessionListing {
    return listing(this, username);
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

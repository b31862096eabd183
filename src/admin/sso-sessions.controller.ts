import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { BadRequestException, Controller, Delete, Get, HttpCode, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../common/admin.guard';
import { SessionType, SsoSessionsService } from './sso-sessions.service';

const TYPES = new Set(['ALL', 'DIRECT', 'PROXIED']);
/** A session is a TGT, or a PGT (a proxied session). */
const SESSION_ID = /^(TGT|PGT)-[A-Za-z0-9-]{1,252}$/;
/** CAS defaults to 1000; a page that size takes ~70 ms to build at 1M tickets, so ours is 100 (max 1000). */
const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;

type Params = Record<string, string | string[] | undefined>;

/** One query parameter, at most once. */
function one(q: Params, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new BadRequestException(`'${name}' must be given once`);
  return v === '' ? undefined : v;
}

function sessionType(q: Params, fallback: SessionType | undefined): SessionType | undefined {
  const raw = one(q, 'type');
  if (raw === undefined) return fallback;
  const upper = raw.toUpperCase();
  if (!TYPES.has(upper)) throw new BadRequestException(`'type' must be ALL, DIRECT or PROXIED, not '${raw.slice(0, 32)}'`);
  return upper as SessionType;
}

function count(q: Params): number {
  const raw = one(q, 'count');
  if (raw === undefined) return DEFAULT_COUNT;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1) throw new BadRequestException("'count' must be a positive integer");
  return Math.min(Number(raw), MAX_COUNT);
}

function cursor(q: Params): string | undefined {
  const raw = one(q, 'cursor');
  if (raw !== undefined && !SESSION_ID.test(raw)) throw new BadRequestException("'cursor' must be the 'next' value of a previous page");
  // CAS's `from` (an offset) is accepted for the first page only: paging uses the cursor.
  const from = one(q, 'from');
  if (from !== undefined && from !== '0') throw new BadRequestException("'from' other than 0 is not supported: page with 'cursor' (the 'next' value of the previous page)");
  return raw;
}

/**
 * `/actuator/ssoSessions`, with CAS 7's paths and bodies, but HTTP statuses that tell the truth:
 * 400 for a bad request and 404 for an unknown session, where CAS answers 200 with the status in
 * the body.
 */
@Controller('actuator')
@ApiBearerAuth()
@ApiTags('admin')
@UseGuards(AdminGuard)
export class SsoSessionsController {
  constructor(private readonly sessions: SsoSessionsService) {}

  @Get('ssoSessions')
  list(@Query() q: Params) {
    return this.sessions.list({ type: sessionType(q, 'ALL')!, username: one(q, 'username'), count: count(q), cursor: cursor(q) });
  }

  @Get('ssoSessions/users/:username')
  listOfUser(@Param('username') username: string, @Query() q: Params) {
    return this.sessions.list({ type: sessionType(q, 'ALL')!, username, count: count(q), cursor: cursor(q) });
  }

  @Delete('ssoSessions/users/:username')
  @HttpCode(200)
  destroyOfUser(@Param('username') username: string) {
    return this.sessions.destroyAllOf(username);
  }

  @Delete('ssoSessions/:ticketGrantingTicket')
  @HttpCode(200)
  async destroy(@Param('ticketGrantingTicket') tgt: string) {
    const result = await this.sessions.destroy(tgt);
    if (!result) throw new NotFoundException({ status: 404, ticketGrantingTicket: tgt.slice(0, 256), message: 'No such SSO session' });
    return result;
  }

  @Delete('ssoSessions')
  @HttpCode(200)
  destroyMany(@Query() q: Params) {
    const username = one(q, 'username');
    const type = sessionType(q, undefined);
    if (username !== undefined) return this.sessions.destroyAllOf(username);
    if (type !== undefined) return this.sessions.destroyAllOfType(type);
    throw new BadRequestException({ status: 400, message: "Give 'username' or 'type' (ALL, DIRECT, PROXIED)" });
  }

  @Get('singleLogoutRequests')
  logoutRequests(@Query() q: Params) {
    const tgt = one(q, 'ticketGrantingTicket');
    if (!tgt || !SESSION_ID.test(tgt)) throw new BadRequestException("'ticketGrantingTicket' is required");
    return this.sessions.logoutRequestsOf(tgt);
  }
}

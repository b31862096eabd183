import { BadRequestException, Controller, Delete, Get, HttpCode, NotFoundException, Param, Query, Req } from '@nestjs/common';
import { AdminApi } from '../common/admin-api';
import type { AdminRequest } from '../common/admin.guard';
import {
  EndSsoSessionsQuery, LogoutRequestsQuery, MultipleIpsQuery, SsoSessionsQuery, SsoSessionsSummaryQuery, UserSsoSessionsQuery,
} from './dto/sso-sessions.query';
import type { SessionGroupBy } from '../tickets/session-search';
import { SsoSessionsService } from './sso-sessions.service';

/**
 * `/actuator/ssoSessions`, with CAS 7's paths and bodies, but HTTP statuses that tell the truth:
 * 400 for a bad request and 404 for an unknown session, where CAS answers 200 with the status in
 * the body.
 */
@Controller('actuator')
@AdminApi()
export class SsoSessionsController {
  constructor(private readonly sessions: SsoSessionsService) {}

  @Get('ssoSessions')
  list(@Query() q: SsoSessionsQuery) {
    return this.sessions.list(q.listing());
  }

  // Declared before `ssoSessions/:ticketGrantingTicket` routes: these two paths are not session ids.
  @Get('ssoSessions/summary')
  summary(@Query() q: SsoSessionsSummaryQuery) {
    return this.sessions.summary(q.groupBy as SessionGroupBy, q.filter(), q.top);
  }

  @Get('ssoSessions/multipleIps')
  multipleIps(@Query() q: MultipleIpsQuery) {
    return this.sessions.multipleIps(q.filter(), q.top);
  }

  @Get('ssoSessions/users/:username')
  listOfUser(@Param('username') username: string, @Query() q: UserSsoSessionsQuery) {
    return this.sessions.list(q.listing(username));
  }

  @Delete('ssoSessions/users/:username')
  @HttpCode(200)
  destroyOfUser(@Param('username') username: string, @Req() req: AdminRequest) {
    return this.sessions.destroyAllOf(username, endedBy(req));
  }

  @Delete('ssoSessions/:ticketGrantingTicket')
  @HttpCode(200)
  async destroy(@Param('ticketGrantingTicket') tgt: string, @Req() req: AdminRequest) {
    const result = await this.sessions.destroy(tgt, endedBy(req));
    if (!result) throw new NotFoundException({ status: 404, ticketGrantingTicket: tgt.slice(0, 256), message: 'No such SSO session' });
    return result;
  }

  @Delete('ssoSessions')
  @HttpCode(200)
  destroyMany(@Query() q: EndSsoSessionsQuery, @Req() req: AdminRequest) {
    if (q.username !== undefined) return this.sessions.destroyAllOf(q.username, endedBy(req));
    if (q.sessionType !== undefined) return this.sessions.destroyAllOfType(q.sessionType, endedBy(req));
    throw new BadRequestException({ status: 400, message: "Give 'username' or 'type' (ALL, DIRECT, PROXIED)" });
  }

  @Get('singleLogoutRequests')
  logoutRequests(@Query() q: LogoutRequestsQuery) {
    return this.sessions.logoutRequestsOf(q.ticketGrantingTicket);
  }
}

/** Who ends the sessions, for their history rows: the admin token's id (or loopback), as the audit log records it. */
function endedBy(req: AdminRequest): string | null {
  return req.adminActor ?? null;
}

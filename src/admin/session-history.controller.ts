import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Clock } from '../common/clock';
import { AdminApi } from '../common/admin-api';
import { SessionHistory } from '../tickets/session-history';
import { SessionHistoryQuery } from './dto/session-history.query';

/**
 * `GET /actuator/ssoSessions/history`: ended SSO sessions, newest first, keyset-paged (`next`
 * back as `cursor`), filtered by user, end time and reason. Behind the admin credential and in
 * the audit log like every /actuator route.
 */
@Controller('actuator')
@AdminApi()
export class SessionHistoryController {
  constructor(
    private readonly history: SessionHistory,
    private readonly clock: Clock,
  ) {}

  @Get('ssoSessions/history')
  @ApiOperation({ summary: 'Ended SSO sessions: who, started, ended, why (and which admin token), the services reached and how their logouts went' })
  page(@Query() q: SessionHistoryQuery) {
    return this.history.page(q.query(this.clock.now()));
  }
}

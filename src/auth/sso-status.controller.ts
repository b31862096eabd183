import { BadRequestException, Controller, Get, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminApi } from '../common/admin-api';
import { TicketRegistry } from '../tickets/ticket-registry';
import { BrowserCookies, clientOf } from './cookies';
import { TgcCodec } from './tgc-codec';

/**
 * `GET /actuator/sso` (CAS SingleSignOnSessionStatusEndpoint): the session behind the caller's TGC,
 * or the one given as `?tgc=`; 400 when there is no usable cookie or the session is gone.
 * Pinning applies: a cookie is only readable from the client it was issued to.
 */
@Controller('actuator')
@AdminApi()
export class SsoStatusController {
  constructor(
    private readonly tgc: TgcCodec,
    private readonly tickets: TicketRegistry,
    private readonly cookies: BrowserCookies,
  ) {}

  @Get('sso')
  async status(@Req() req: FastifyRequest, @Query('tgc') tgcParam?: string) {
    const value = typeof tgcParam === 'string' ? tgcParam : this.cookies.tgc(req);
    const tgtId = await this.tgc.decode(value, clientOf(req));
    const session = tgtId ? await this.tickets.findSession(tgtId) : null;
    if (!session) throw new BadRequestException('No valid SSO session for this request');
    return {
      principal: session.principal,
      authenticationDate: session.createdAt.toISOString(),
      ticketGrantingTicketCreationTime: session.createdAt.toISOString(),
      ticketGrantingTicketLastTimeUsed: session.lastUsedAt.toISOString(),
      ticketGrantingTicketExpirationTime: session.expiresAt.toISOString(),
      numberOfUses: session.useCount,
    };
  }
}

import { BadRequestException, Controller, Get, Inject, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminApi } from '../common/admin-api';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { TicketRegistry } from '../tickets/ticket-registry';
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
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly tgc: TgcCodec,
    private readonly tickets: TicketRegistry,
  ) {}

  @Get('sso')
  async status(@Req() req: FastifyRequest, @Query('tgc') tgcParam?: string) {
    const ua = req.headers['user-agent'];
    const value = typeof tgcParam === 'string' ? tgcParam : req.cookies[this.config.tgc.name];
    const tgtId = await this.tgc.decode(value, { ip: req.ip, userAgent: typeof ua === 'string' ? ua : '' });
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

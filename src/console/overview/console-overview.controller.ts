import { Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsoleController } from '../console-auth';
import { consolePage, sendConsolePage, viewer } from '../console-page';
import { ConsoleOverview } from './overview';
import { OVERVIEW_CSS, overviewBody } from './overview-page';

/** `GET /admin`: the overview, the first page after sign-in: is the service healthy right now? */
@ApiExcludeController()
@ConsoleController()
export class ConsoleOverviewController {
  constructor(private readonly overview: ConsoleOverview) {}

  @Get()
  async show(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const o = await this.overview.read();
    sendConsolePage(reply, 200, consolePage(v, { title: 'Overview', section: 'overview', body: overviewBody(o, v.base), style: OVERVIEW_CSS }));
  }
}

import { Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsoleController } from './console-auth';
import { consolePage, sendConsolePage, viewer } from './console-page';
import { html } from './html';

/** `GET /admin`: the overview (the first page after sign-in). */
@ApiExcludeController()
@ConsoleController()
export class ConsoleOverviewController {
  @Get()
  overview(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const v = viewer(req);
    sendConsolePage(reply, 200, consolePage(v, { title: 'Overview', section: 'overview', body: html`<h1>Overview</h1><p class="lead">The state of this CAS server.</p>` }));
  }
}

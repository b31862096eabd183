import { applyDecorators, ArgumentsHost, CanActivate, Catch, Controller, ExceptionFilter, ExecutionContext, Injectable, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminRequest } from '../common/admin.guard';
import { html } from './html';
import { bareConsolePage, type ConsoleRequest, sendConsolePage } from './console-page';
import { ConsoleSessions } from './console-sessions';
import { seeOther } from './console-values';

/** Why a console request was not let through: not signed in (or the session ended), or a forged/stale form. */
export class ConsoleRefusal extends Error {
  constructor(readonly kind: 'sign-in' | 'forged') {
    super(kind);
  }
}

/**
 * The console's door: a valid console cookie, and on anything but GET/HEAD a same-origin request
 * with the session's `_csrf` form field. It names the actor (the admin token's id) on the request,
 * so the audit hook records every console request under it.
 */
@Injectable()
export class ConsoleGuard implements CanActivate {
  constructor(private readonly sessions: ConsoleSessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ConsoleRequest & AdminRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const v = await this.sessions.viewerOf(req, reply);
    if (!v) throw new ConsoleRefusal('sign-in');
    req.adminActor = v.actor;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = req.body as Record<string, unknown> | undefined;
      if (!this.sessions.sameOrigin(req) || !this.sessions.validCsrf(v, body?._csrf)) throw new ConsoleRefusal('forged');
    }
    req.consoleViewer = v;
    return true;
  }
}

/** Not signed in: a page load goes to the sign-in page (and back after it); anything else is a 403 page. */
@Catch(ConsoleRefusal)
export class ConsoleRefusalFilter implements ExceptionFilter {
  constructor(private readonly sessions: ConsoleSessions) {}

  catch(refusal: ConsoleRefusal, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const base = this.sessions.base;
    if (refusal.kind === 'sign-in' && (req.method === 'GET' || req.method === 'HEAD')) {
      return seeOther(reply, `${base}/login?next=${encodeURIComponent(req.url)}`);
    }
    const text =
      refusal.kind === 'sign-in'
        ? 'Your console session has ended, so nothing was changed. Sign in again and repeat the action.'
        : 'This form is out of date or did not come from this console, so nothing was changed. Go back, reload the page and try again.';
    sendConsolePage(reply, 403, bareConsolePage(base, 'Not done', html`<div class="signin"><h1>Nothing was changed</h1><p>${text}</p><p><a href="${base}">Back to the console</a></p></div>`));
  }
}

/**
 * A console controller: routes under `/admin/<path>`, behind the console guard. Each handler
 * takes `@Req() req` and reads `viewer(req)`; forms carry `csrfField(viewer)`.
 */
export function ConsoleController(path = ''): ClassDecorator {
  return applyDecorators(Controller(path ? `admin/${path}` : 'admin'), UseGuards(ConsoleGuard), UseFilters(ConsoleRefusalFilter));
}

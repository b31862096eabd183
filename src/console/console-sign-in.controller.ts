import { Body, Controller, Get, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminRequest } from '../common/admin.guard';
import { ConsoleGuard, ConsoleRefusalFilter } from './console-auth';
import { bareConsolePage, sendConsolePage } from './console-page';
import { CONSOLE_CSS } from './console-style';
import { ConsoleSessions } from './console-sessions';
import { seeOther } from './console-values';
import { html } from './html';

type SignInForm = { token?: unknown; next?: unknown; from?: unknown };

/** Sign-in, sign-out and the stylesheet: the console's routes that are not pages behind the guard. */
@ApiExcludeController()
@Controller('admin')
export class ConsoleSignInController {
  constructor(private readonly sessions: ConsoleSessions) {}

  @Get('login')
  async form(@Query('next') next: unknown, @Query('done') done: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (await this.sessions.viewerOf(req, reply)) return seeOther(reply, this.target(next));
    sendConsolePage(reply, 200, this.page(req, this.target(next), done === 'signed-out' ? 'You have signed out.' : undefined));
  }

  /**
   * The token is checked in constant time against CAS_ADMIN_TOKENS and exchanged for the console
   * cookie; it is never stored, logged or put in the cookie. A cross-site form cannot sign a
   * browser in under someone else's token (login CSRF): the request must be same-origin.
   */
  @Post('login')
  async signIn(@Body() body: SignInForm | undefined, @Req() req: FastifyRequest & AdminRequest, @Res() reply: FastifyReply): Promise<void> {
    const next = this.target(body?.next);
    const actor = this.sessions.sameOrigin(req) ? this.sessions.signInActor(req, body?.token, body?.from === 'this-machine') : null;
    if (!actor) {
      const error = this.sessions.loopbackOffered(req) || body?.from !== 'this-machine' ? 'That token is not valid. Paste a token from CAS_ADMIN_TOKENS (the part after the id and colon).' : 'Sign-in from this machine is not available.';
      return sendConsolePage(reply, 401, this.page(req, next, undefined, error));
    }
    req.adminActor = actor;
    await this.sessions.begin(reply, actor);
    seeOther(reply, next);
  }

  @Post('logout')
  @UseGuards(ConsoleGuard)
  @UseFilters(ConsoleRefusalFilter)
  async signOut(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.sessions.end(req, reply);
    seeOther(reply, `${this.sessions.base}/login?done=signed-out`);
  }

  @Get('assets/console.css')
  stylesheet(@Res() reply: FastifyReply): void {
    void reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CONSOLE_CSS);
  }

  /** Where to go after signing in: a console path only (never another site: no open redirect). */
  private target(next: unknown): string {
    const base = this.sessions.base;
    if (typeof next === 'string' && (next === base || next.startsWith(`${base}/`) || next.startsWith(`${base}?`)) && !/[\\\s]|\/\/|\/\.\.?(\/|$)/.test(next.slice(base.length)) && !next.startsWith(`${base}/login`)) return next;
    return base;
  }

  private page(req: FastifyRequest, next: string, notice?: string, error?: string) {
    const base = this.sessions.base;
    const loopback = this.sessions.loopbackOffered(req);
    const body = html`<div class="signin">
<h1>CAS administration</h1>
<p class="lead">Sign in with an administration token to manage sessions, services, users and the audit log.</p>
${notice && html`<p class="notice" role="status">${notice}</p>`}${error && html`<p class="notice error" role="alert">${error}</p>`}
<form method="post" action="${base}/login" autocomplete="off">
<div class="field"><label for="token">Admin token</label>
<input type="password" id="token" name="token" required autofocus spellcheck="false"${error ? html` aria-invalid="true" aria-describedby="token-help"` : html` aria-describedby="token-help"`}>
<p class="hint" id="token-help">The secret of a token in CAS_ADMIN_TOKENS (<span class="mono">id:secret</span>). You stay signed in for up to 30 minutes of inactivity.</p></div>
<input type="hidden" name="next" value="${next}">
<button class="btn" type="submit">Sign in</button>
</form>
${
  loopback
    ? html`<form method="post" action="${base}/login"><p class="muted">No admin tokens are configured (CAS_ADMIN_TOKENS): on this development server the console is open to this machine only.</p>
<input type="hidden" name="from" value="this-machine"><input type="hidden" name="next" value="${next}"><button class="btn btn-secondary" type="submit">Sign in from this machine</button></form>`
    : ''
}
</div>`;
    return bareConsolePage(base, 'Sign in', body);
  }
}

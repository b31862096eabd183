import { Body, Controller, Delete, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formPagePolicy } from '../../common/security-headers';
import type { RawParams } from '../../common/params';
import { Clock } from '../../common/clock';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { originOf } from '../../services/service-url';
import { SessionTerminator } from '../../tickets/logout/session-terminator';
import type { SessionOrigin } from '../../tickets/session-listing';
import { BrowserCookies, clientOf } from '../cookies';
import { LoginService } from '../login.service';
import { TgcCodec } from '../tgc-codec';
import { loggedOutPage } from '../views';
import { AccountSessions, type ApplicationView, type CurrentSession, type PastSessionView, type SessionsView } from './account-sessions.service';
import { accountErrorPage, accountLoginPage, accountSessionsPage, endedBecause, isAccountNotice } from './account-views';

const HTML = 'text/html; charset=utf-8';
/**
 * The header the API's DELETE carries its CSRF token in (the `csrfToken` of the GET). A page of
 * another site can send neither: a custom header (and DELETE itself) needs a CORS preflight this
 * server never grants, and it cannot read the token. The token also holds where a proxy in front
 * answers preflights too permissively.
 */
const CSRF_HEADER = 'x-csrf-token';
const STALE_FORM = 'This page has expired. Open your sessions again and retry.';
const NOT_YOURS = 'That session is not one of yours, or it has already ended. Nothing was logged out.';

/**
 * `/account/sessions`: the user's own sessions in a page (CAS's account portal has them under
 * /account; Keycloak's account console and Kratos's /sessions too), and its JSON twin for
 * applications under `/account/api/sessions`. The TGC is the credential; every change carries the
 * session's CSRF token. Rules live in AccountSessions.
 */
@ApiExcludeController()
@Controller('account')
export class AccountSessionsController {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly accounts: AccountSessions,
    private readonly tgc: TgcCodec,
    private readonly cookies: BrowserCookies,
    private readonly login: LoginService,
    private readonly terminator: SessionTerminator,
    private readonly clock: Clock,
  ) {}

  @Get('sessions')
  async page(@Query() q: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = await this.me(req, reply);
    if (!me) return this.toLogin(reply);
    // Back from a login for this page as a registered service: the ticket is of no use here
    // (the TGC is the credential) and stays out of the address bar and the history.
    if (q?.ticket !== undefined) return this.seeOther(reply, this.pagePath);
    const done = q?.done;
    const [view, lastSignIns] = await Promise.all([this.accounts.list(me), this.accounts.recent(me)]);
    return sendPage(
      reply,
      200,
      accountSessionsPage({ view, lastSignIns, csrf: this.accounts.csrfToken(me), now: this.clock.now(), notice: isAccountNotice(done) ? done : undefined, base: this.pagePath }),
    );
  }

  @Post('sessions/logout')
  async endOne(@Body() body: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = await this.me(req, reply);
    if (!me) return this.toLogin(reply);
    if (!this.accounts.validCsrf(me, body?.csrf)) return sendPage(reply, 403, accountErrorPage(STALE_FORM, this.pagePath));
    const outcome = await this.accounts.end(me, body?.session);
    if (outcome.kind === 'unknown') return sendPage(reply, 404, accountErrorPage(NOT_YOURS, this.pagePath));
    if (outcome.kind === 'other') return this.seeOther(reply, `${this.pagePath}?done=ended`);
    // This browser's own session: a logout, as /logout would end it.
    this.cookies.clearTgc(reply);
    this.cookies.clearWarn(req, reply);
    return this.loggedOut(reply, outcome.frontChannel);
  }

  @Post('sessions/logout-others')
  async endOthers(@Body() body: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = await this.me(req, reply);
    if (!me) return this.toLogin(reply);
    if (!this.accounts.validCsrf(me, body?.csrf)) return sendPage(reply, 403, accountErrorPage(STALE_FORM, this.pagePath));
    const ended = await this.accounts.endOthers(me);
    return this.seeOther(reply, `${this.pagePath}?done=${ended > 0 ? 'ended-others' : 'ended-none'}`);
  }

  @Get('api/sessions')
  async apiList(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = await this.me(req, reply);
    if (!me) return sendJson(reply, 401, { message: 'No SSO session in this browser: log in first' });
    const [view, recent] = await Promise.all([this.accounts.list(me), this.accounts.recent(me)]);
    return sendJson(reply, 200, { ...json(view), csrfToken: this.accounts.csrfToken(me), recent: recent.map(pastJson) });
  }

  @Delete('api/sessions/:id')
  async apiEnd(@Param('id') id: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = await this.me(req, reply);
    if (!me) return sendJson(reply, 401, { message: 'No SSO session in this browser: log in first' });
    if (!this.accounts.validCsrf(me, req.headers[CSRF_HEADER])) {
      return sendJson(reply, 403, { message: `The ${CSRF_HEADER} header must carry the csrfToken of GET /account/api/sessions` });
    }
    const outcome = await this.accounts.end(me, id);
    if (outcome.kind === 'unknown') return sendJson(reply, 404, { message: 'No such session of yours' });
    if (outcome.kind === 'current') {
      this.cookies.clearTgc(reply);
      this.cookies.clearWarn(req, reply);
    }
    return sendJson(reply, 200, { id, ended: true, current: outcome.kind === 'current' });
  }

  /** The live session behind the browser's TGC; a cookie whose session is gone or expired is cleared (and an expired one ended, as /login does). */
  private async me(req: FastifyRequest, reply: FastifyReply): Promise<CurrentSession | null> {
    const value = this.cookies.tgc(req);
    if (!value) return null;
    const tgtId = await this.tgc.decode(value, clientOf(req));
    const me = await this.accounts.current(tgtId);
    if (!me) {
      if (tgtId) await this.terminator.endIfExpired(tgtId);
      this.cookies.clearTgc(reply);
    }
    return me;
  }

  /**
   * No session: as CAS's account portal does, to `login?service=<this page>` and back after the
   * login, but only when this page is a registered service: /login refuses any other (the
   * registry is the open-redirect defence), and the user would be stranded on "not authorized".
   * Otherwise a page with a link to the login.
   */
  private toLogin(reply: FastifyReply): void {
    const url = `${this.config.server.prefix}/account/sessions`;
    if (this.login.authorizedService(url)) return this.seeOther(reply, `${this.config.server.contextPath}/login?service=${encodeURIComponent(url)}`, 302);
    return sendPage(reply, 401, accountLoginPage(`${this.config.server.contextPath}/login`));
  }

  private loggedOut(reply: FastifyReply, frontChannel: string[]): void {
    if (frontChannel.length) {
      const origins = [...new Set(frontChannel.map(originOf).filter((o) => o !== null))].join(' ');
      reply.header('content-security-policy', formPagePolicy(`img-src ${origins}`));
    }
    return sendPage(reply, 200, loggedOutPage(frontChannel));
  }

  private get pagePath(): string {
    return `${this.config.server.contextPath}/account/sessions`;
  }

  /** After a form's POST, the page again by GET (a reload re-posts nothing). */
  private seeOther(reply: FastifyReply, location: string, status = 303): void {
    reply.header('cache-control', 'no-store').redirect(location, status);
  }
}

/** The API's shape: dates as ISO strings, the handle as `id`. */
function json(view: SessionsView) {
  return {
    principal: view.principal,
    total: view.total,
    sessions: view.sessions.map((s) => ({
      id: s.handle,
      current: s.current,
      createdAt: s.createdAt.toISOString(),
      lastUsedAt: s.lastUsedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      rememberMe: s.rememberMe,
      ...originJson(s.origin),
      applications: s.applications.map(applicationJson),
    })),
  };
}

/** An ended session in the API (`recent`, newest first): no id (it is over, and its TGT id never leaves the server); the reason as a code and in words. */
function pastJson(s: PastSessionView) {
  return {
    createdAt: s.createdAt.toISOString(),
    endedAt: s.endedAt.toISOString(),
    reason: s.reason,
    reasonText: endedBecause(s.reason),
    ...originJson(s.origin),
    applications: s.applications.map(applicationJson),
  };
}

function originJson(o: SessionOrigin) {
  return {
    clientIp: o.clientIp,
    userAgent: o.userAgent,
    device: { browser: o.deviceBrowser, os: o.deviceOs, type: o.deviceType },
    location: { country: o.locationCountry, city: o.locationCity },
  };
}

function applicationJson(a: ApplicationView) {
  return { name: a.name, service: a.service, lastAccessAt: a.lastAccessAt.toISOString() };
}

/** A server-rendered page, never cached, under the form-page policy unless the handler set one. */
function sendPage(reply: FastifyReply, status: number, body: string): void {
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', formPagePolicy());
  reply.status(status).header('content-type', HTML).header('cache-control', 'no-store').send(body);
}

function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  reply.status(status).header('cache-control', 'no-store').send(body);
}

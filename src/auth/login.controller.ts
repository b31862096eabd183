import { ApiExcludeController } from '@nestjs/swagger';
import { Body, Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { CasError } from '../common/cas-error';
import { flag, param, type RawParams } from '../common/params';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { originOf } from '../services/service-url';
import { LoginFlows } from './login-flows';
import { DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE } from './device-cookie';
import { LoginResult, LoginService, throttledMessage } from './login.service';
import { ClientInfo, TgcCodec } from './tgc-codec';
import { accessDeniedPage, loggedInPage, loggedOutPage, loginPage, notAuthorizedPage, postRedirectPage, warnPage } from './views';

/**
 * The browser key login forms are bound to (login CSRF). Under https it is a `__Host-` cookie,
 * which a sibling host cannot set (cookie tossing): Path=/, Secure, no Domain, as the prefix requires.
 */
const BROWSER_COOKIE = 'CASLOGIN';
const HOST_BROWSER_COOKIE = '__Host-CASLOGIN';
/** CAS's warning cookie: confirm before each SSO login. */
const WARN_COOKIE = 'CASPRIVACY';

type FormModel = { service?: string; method?: string; username?: string; error?: string };
const HTML = 'text/html; charset=utf-8';

/** HTTP edge of `/login` and `/logout`: cookies, status codes, pages. Rules live in LoginService. */
@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly login: LoginService,
    private readonly flows: LoginFlows,
    private readonly tgc: TgcCodec,
  ) {}

  @Get('login')
  async showLogin(@Query() q: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    let service: string | undefined, renew: boolean, gateway: boolean, method: string | undefined;
    try {
      service = param(q, 'service');
      renew = flag(q, 'renew');
      gateway = flag(q, 'gateway');
      method = param(q, 'method');
    } catch (e) {
      if (e instanceof CasError) return this.html(reply, 400, notAuthorizedPage());
      throw e;
    }
    const tgtId = await this.tgc.decode(req.cookies[this.config.tgc.name], clientOf(req));
    const warn = req.cookies[WARN_COOKIE] === 'true';
    const result = await this.login.requestCredentials({ service, renew, gateway, method, tgtId, warn });
    return this.finish(req, reply, result);
  }

  @Post('login')
  async submitLogin(@Body() body: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const text = (name: string) => {
      const v = body?.[name];
      return typeof v === 'string' ? v : '';
    };
    const tgtId = await this.tgc.decode(req.cookies[this.config.tgc.name], clientOf(req));
    if (text('_eventId') === 'proceed') {
      const proceeded = await this.login.proceedAfterWarning({
        execution: text('execution'),
        browserKey: req.cookies[this.browserCookieName],
        method: text('method') || undefined,
        tgtId,
      });
      return this.finish(req, reply, proceeded);
    }
    const result = await this.login.acceptCredentials({
      execution: text('execution'),
      browserKey: req.cookies[this.browserCookieName],
      // No account name contains control characters; dropping them keeps NUL & co. away from SQL.
      username: text('username').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256),
      password: text('password').slice(0, 4096),
      method: text('method') || undefined,
      rememberMe: checked(text('rememberMe')),
      publicWorkstation: checked(text('publicWorkstation')),
      warn: checked(text('warn')),
      tgtId,
      clientIp: req.ip,
      deviceCookie: req.cookies[DEVICE_COOKIE],
    });
    return this.finish(req, reply, result);
  }

  @Get('logout')
  async logout(@Query() q: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const tgtId = await this.tgc.decode(req.cookies[this.config.tgc.name], clientOf(req));
    // Cleared first: whatever happens next, this browser holds no SSO cookie any more.
    this.clearTgc(reply);
    const frontChannel = await this.login.logout(tgtId);
    if (req.cookies[WARN_COOKIE]) reply.setCookie(WARN_COOKIE, '', { ...this.cookieOptions(), maxAge: 0, expires: new Date(0) });
    // The CAS 2.0 `url` parameter is ignored (spec 2.3); `service` only when configured and registered.
    let service: string | undefined;
    try {
      service = param(q, 'service');
    } catch {
      service = undefined;
    }
    if (service && this.config.logout.followServiceRedirects && this.login.authorizedService(service)) {
      return this.redirect(reply, service);
    }
    if (frontChannel.length) {
      const origins = [...new Set(frontChannel.map(originOf).filter((o) => o !== null))].join(' ');
      reply.header('content-security-policy', csp(`img-src ${origins}`));
    }
    return this.html(reply, 200, loggedOutPage(frontChannel));
  }

  private async finish(req: FastifyRequest, reply: FastifyReply, r: LoginResult): Promise<void> {
    if (r.newSession) this.setTgc(reply, await this.tgc.encode(r.newSession.id, clientOf(req)), r.newSession.rememberMe);
    else if (r.staleCookie) this.clearTgc(reply);
    if (r.warnCookie) reply.setCookie(WARN_COOKIE, 'true', this.cookieOptions());
    if (r.deviceCookie) reply.setCookie(DEVICE_COOKIE, r.deviceCookie, { ...this.cookieOptions(), maxAge: DEVICE_COOKIE_MAX_AGE });
    const o = r.outcome;
    switch (o.kind) {
      case 'redirect':
        return this.redirect(reply, o.location);
      case 'post': {
        const nonce = randomBytes(16).toString('base64');
        reply.header('content-security-policy', csp(`script-src 'nonce-${nonce}'; form-action ${new URL(o.service).origin}`, nonce));
        return this.html(reply, 200, postRedirectPage(o.service, o.ticket, nonce));
      }
      case 'loggedIn':
        return this.html(reply, 200, loggedInPage(o.principal));
      case 'warn': {
        const execution = await this.flows.start(this.browserKey(req, reply), o.service, 'warn');
        return this.html(reply, 200, warnPage(o.service, execution, o.method));
      }
      case 'notAuthorized':
        return this.html(reply, 403, notAuthorizedPage());
      case 'accessDenied':
        return this.html(reply, 403, accessDeniedPage());
      case 'throttled':
        reply.header('retry-after', String(o.retryAfterSeconds));
        return this.form(req, reply, { service: o.service, method: o.method, error: throttledMessage(o.retryAfterSeconds) }, this.config.throttle.httpStatus);
      case 'form':
        return this.form(req, reply, o, o.status);
    }
  }

  /** The login form with a fresh single-use execution token bound to this browser. */
  private async form(req: FastifyRequest, reply: FastifyReply, o: FormModel, status: number): Promise<void> {
    const execution = await this.flows.start(this.browserKey(req, reply), o.service ?? null, 'login');
    const page = loginPage({
      action: 'login',
      execution,
      service: o.service,
      method: o.method,
      username: o.username,
      error: o.error,
      rememberMe: this.config.rememberMe.enabled,
    });
    return this.html(reply, status, page);
  }

  /**
   * The browser key flow tokens are bound to: the browser's own if this server issued it,
   * otherwise a fresh one set on the browser (a planted or forged value is never adopted).
   */
  private browserKey(req: FastifyRequest, reply: FastifyReply): string {
    const key = req.cookies[this.browserCookieName];
    if (this.flows.isIssuedBrowserKey(key)) return key;
    const fresh = this.flows.newBrowserKey();
    const options = this.config.server.secure ? { ...this.cookieOptions(), path: '/', secure: true } : this.cookieOptions();
    reply.setCookie(this.browserCookieName, fresh, options);
    return fresh;
  }

  private get browserCookieName(): string {
    return this.config.server.secure ? HOST_BROWSER_COOKIE : BROWSER_COOKIE;
  }

  /** A browser-session cookie, or for remember-me a persistent one (CAS `cas.tgc.remember-me-max-age`). */
  private setTgc(reply: FastifyReply, value: string, rememberMe: boolean): void {
    const persistent = rememberMe ? { maxAge: this.config.rememberMe.cookieMaxAgeSeconds } : {};
    reply.setCookie(this.config.tgc.name, value, { ...this.cookieOptions(), ...persistent });
  }

  private clearTgc(reply: FastifyReply): void {
    reply.setCookie(this.config.tgc.name, '', { ...this.cookieOptions(), maxAge: 0, expires: new Date(0) });
  }

  /** Browser-session cookies on the context path: HttpOnly, SameSite=Lax, Secure under https. */
  private cookieOptions() {
    return {
      path: this.config.server.contextPath || '/',
      httpOnly: true,
      sameSite: 'lax' as const,
      secure: this.config.server.secure,
    };
  }

  private redirect(reply: FastifyReply, location: string): void {
    // Appendix B: redirects back to applications must not be cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('expires', '0');
    reply.redirect(location, 302);
  }

  private html(reply: FastifyReply, status: number, body: string): void {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', csp(''));
    reply.status(status).header('content-type', HTML).header('cache-control', 'no-store').send(body);
  }
}

/** The client as pinning sees it: req.ip honours X-Forwarded-For only from TRUSTED_PROXIES. */
function clientOf(req: FastifyRequest): ClientInfo {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : '' };
}

function checked(value: string): boolean {
  return value === 'true' || value === 'on';
}

function csp(extra: string, styleNonce?: string): string {
  const style = styleNonce ? `style-src 'nonce-${styleNonce}'` : `style-src 'unsafe-inline'`;
  const base = `default-src 'none'; ${style}; frame-ancestors 'none'; base-uri 'none'`;
  return extra.includes('form-action') ? `${base}; ${extra}` : `${base}; form-action 'self'${extra ? `; ${extra}` : ''}`;
}

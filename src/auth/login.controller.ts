import { ApiExcludeController } from '@nestjs/swagger';
import { ArgumentsHost, Body, Catch, Controller, ExceptionFilter, Get, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { CasError } from '../common/cas-error';
import { flag, param, type RawParams } from '../common/params';
import { formPagePolicy } from '../common/security-headers';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { originOf } from '../services/service-url';
import { BrowserCookies, clientOf } from './cookies';
import { LoginFlows } from './login-flows';
import { AUTHENTICATION_UNAVAILABLE, LoginResult, LoginService, throttledMessage } from './login.service';
import { TrustedDeviceCookie } from './mfa/trusted/trusted-device-cookie';
import { TrustedDevices } from './mfa/trusted/trusted-devices';
import { TgcCodec } from './tgc-codec';
import { WebAuthnAssets } from './mfa/webauthn/webauthn-assets';
import { WebAuthnCeremonies } from './mfa/webauthn/webauthn-ceremonies';
import { webauthnPage } from './mfa/webauthn/webauthn-views';
import {
  accessDeniedPage,
  accountStatePage,
  loggedInPage,
  loggedOutPage,
  loginPage,
  mfaPage,
  mfaUnavailablePage,
  notAuthorizedPage,
  passwordWarningPage,
  postRedirectPage,
  unknownAuthnMethodPage,
  warnPage,
} from './views';

type FormModel = { service?: string; method?: string; username?: string; error?: string; authnMethod?: string };
const HTML = 'text/html; charset=utf-8';
/** A WebAuthn response is JSON of a few KB (an attestation with its certificates the largest). */
const MAX_WEBAUTHN_RESPONSE = 32768;

/**
 * GET /login with a protocol parameter given twice (params.ts refuses it with a CasError): CAS's
 * not-authorized page, 400. Scoped to that handler.
 */
@Catch(CasError)
class InvalidLoginRequestPage implements ExceptionFilter {
  catch(_error: CasError, host: ArgumentsHost): void {
    sendPage(host.switchToHttp().getResponse<FastifyReply>(), 400, notAuthorizedPage());
  }
}

/** HTTP edge of `/login` and `/logout`: cookies, status codes, pages. Rules live in LoginService. */
@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly login: LoginService,
    private readonly flows: LoginFlows,
    private readonly tgc: TgcCodec,
    private readonly cookies: BrowserCookies,
    private readonly trustedCookie: TrustedDeviceCookie,
    private readonly trustedDevices: TrustedDevices,
    private readonly webauthn: WebAuthnCeremonies,
    private readonly webauthnAssets: WebAuthnAssets,
  ) {}

  @Get('login')
  @UseFilters(InvalidLoginRequestPage)
  async showLogin(@Query() q: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const service = param(q, 'service');
    const renew = flag(q, 'renew');
    const gateway = flag(q, 'gateway');
    const method = param(q, 'method');
    const authnMethod = param(q, 'authn_method');
    const tgtId = await this.tgc.decode(this.cookies.tgc(req), clientOf(req));
    const result = await this.login.requestCredentials({
      service, renew, gateway, method, tgtId, warn: this.cookies.warn(req), authnMethod, trustedDeviceCookie: this.trustedCookie.read(req), origin: clientOf(req),
    });
    return this.finish(req, reply, result);
  }

  @Post('login')
  async submitLogin(@Body() body: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const text = (name: string) => {
      const v = body?.[name];
      return typeof v === 'string' ? v : '';
    };
    const tgtId = await this.tgc.decode(this.cookies.tgc(req), clientOf(req));
    if (text('_eventId') === 'proceed') {
      const proceeded = await this.login.proceedAfterWarning({
        execution: text('execution'),
        browserKey: this.cookies.browserKey(req),
        method: text('method') || undefined,
        tgtId,
        origin: clientOf(req),
      });
      return this.finish(req, reply, proceeded);
    }
    if (text('_eventId') === 'mfa') {
      // Only the token and the code are read: everything else of the login is inside the token.
      const verified = await this.login.submitMfa({
        execution: text('execution'),
        browserKey: this.cookies.browserKey(req),
        code: text('token').slice(0, 64),
        tgtId,
        clientIp: req.ip,
        deviceCookie: this.cookies.device(req),
        trustDevice: checked(text('trustDevice')),
        trustedDeviceCookie: this.trustedCookie.read(req),
        userAgent: clientOf(req).userAgent,
        origin: clientOf(req),
      });
      return this.finish(req, reply, verified);
    }
    if (text('_eventId') === 'webauthn' || text('_eventId') === 'passkey') {
      // The browser's WebAuthn answer (JSON, from the page script), with the page's token.
      const request = {
        execution: text('execution'), browserKey: this.cookies.browserKey(req), tgtId, clientIp: req.ip, deviceCookie: this.cookies.device(req), origin: clientOf(req),
      };
      const response = text('response').slice(0, MAX_WEBAUTHN_RESPONSE);
      const trust = { trustDevice: checked(text('trustDevice')), trustedDeviceCookie: this.trustedCookie.read(req), userAgent: clientOf(req).userAgent };
      const result =
        text('_eventId') === 'webauthn'
          ? await this.login.submitMfa({ ...request, ...trust, code: response })
          : await this.login.acceptPasskey({ ...request, response, method: text('method') || undefined });
      return this.finish(req, reply, result);
    }
    if (text('_eventId') === 'continue') {
      const continued = await this.login.continueAfterPasswordWarning({
        execution: text('execution'),
        browserKey: this.cookies.browserKey(req),
        method: text('method') || undefined,
        tgtId,
        origin: clientOf(req),
      });
      return this.finish(req, reply, continued);
    }
    const result = await this.login.acceptCredentials({
      execution: text('execution'),
      browserKey: this.cookies.browserKey(req),
      // No account name contains control characters; dropping them keeps NUL & co. away from SQL.
      username: text('username').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256),
      password: text('password').slice(0, 4096),
      method: text('method') || undefined,
      rememberMe: checked(text('rememberMe')),
      publicWorkstation: checked(text('publicWorkstation')),
      warn: checked(text('warn')),
      tgtId,
      clientIp: req.ip,
      deviceCookie: this.cookies.device(req),
      trustedDeviceCookie: this.trustedCookie.read(req),
      origin: clientOf(req),
    });
    return this.finish(req, reply, result);
  }

  @Get('logout')
  async logout(@Query() q: RawParams, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const tgtId = await this.tgc.decode(this.cookies.tgc(req), clientOf(req));
    // Cleared first: whatever happens next, this browser holds no SSO cookie any more.
    this.cookies.clearTgc(reply);
    const frontChannel = await this.login.logout(tgtId);
    this.cookies.clearWarn(req, reply);
    // The CAS 2.0 `url` parameter is ignored (spec 2.3); `service` only when configured and
    // registered, and given once (which copy to follow is not for the client to leave open).
    const service = Array.isArray(q?.service) ? undefined : q?.service;
    if (service && this.config.logout.followServiceRedirects && this.login.authorizedService(service)) {
      return this.redirect(reply, service);
    }
    if (frontChannel.length) {
      const origins = [...new Set(frontChannel.map(originOf).filter((o) => o !== null))].join(' ');
      reply.header('content-security-policy', formPagePolicy(`img-src ${origins}`));
    }
    return sendPage(reply, 200, loggedOutPage(frontChannel));
  }

  private async finish(req: FastifyRequest, reply: FastifyReply, r: LoginResult): Promise<void> {
    if (r.newSession) this.cookies.setTgc(reply, await this.tgc.encode(r.newSession.id, clientOf(req)), r.newSession.rememberMe);
    else if (r.staleCookie) this.cookies.clearTgc(reply);
    if (r.warnCookie) this.cookies.setWarn(reply);
    if (r.deviceCookie) this.cookies.setDevice(reply, r.deviceCookie);
    if (r.trustedDeviceCookie) this.trustedCookie.set(reply, r.trustedDeviceCookie);
    const o = r.outcome;
    switch (o.kind) {
      case 'redirect':
        return this.redirect(reply, o.location);
      case 'post': {
        const nonce = randomBytes(16).toString('base64');
        reply.header('content-security-policy', formPagePolicy(`script-src 'nonce-${nonce}'; form-action ${new URL(o.service).origin}`, nonce));
        return sendPage(reply, 200, postRedirectPage(o.service, o.ticket, nonce));
      }
      case 'loggedIn':
        return sendPage(reply, 200, loggedInPage(o.principal));
      case 'warn': {
        const execution = await this.flows.start(this.browserKey(req, reply), o.service, 'warn');
        allowFormRedirectTo(reply, o.service);
        return sendPage(reply, 200, warnPage(o.service, execution, o.method));
      }
      case 'notAuthorized':
        return sendPage(reply, 403, notAuthorizedPage());
      case 'accessDenied':
        return sendPage(reply, 403, accessDeniedPage());
      case 'throttled':
        reply.header('retry-after', String(o.retryAfterSeconds));
        return this.form(
          req,
          reply,
          { service: o.service, method: o.method, error: throttledMessage(o.retryAfterSeconds), authnMethod: o.authnMethod },
          this.config.throttle.httpStatus,
        );
      case 'unavailable':
        return this.form(
          req,
          reply,
          { service: o.service, method: o.method, username: o.username, error: AUTHENTICATION_UNAVAILABLE, authnMethod: o.authnMethod },
          503,
        );
      case 'accountState':
        // 401 as the generic failure: the attempt did not authenticate anyone.
        return sendPage(reply, 401, accountStatePage(o.state, { service: o.service, changeUrl: o.changeUrl }));
      case 'passwordWarning': {
        const execution = await this.flows.start(this.browserKey(req, reply), o.service ?? null, 'password-warning', o.session);
        allowFormRedirectTo(reply, o.service);
        return sendPage(reply, 200, passwordWarningPage(o.warning, { execution, service: o.service, method: o.method }));
      }
      case 'form':
        return this.form(req, reply, o, o.status);
      case 'mfa': {
        const execution = await this.flows.start(this.browserKey(req, reply), o.service ?? null, 'mfa', undefined, {
          authnMethod: o.authnMethod,
          pending: { ...o.pending },
        });
        if (o.webauthn) {
          allowOwnScripts(reply, o.service);
          const rememberBrowser = this.trustedDevices.offered(this.login.trustRequest(o.pending, o.service));
          return sendPage(reply, o.status, webauthnPage({ execution, error: o.error, prompt: o.webauthn, scripts: this.webauthnAssets.scripts(), rememberBrowser }));
        }
        allowFormRedirectTo(reply, o.service);
        return sendPage(reply, o.status, mfaPage({ execution, error: o.error, enrolment: o.enrolment, rememberBrowser: this.trustedDevices.offered(this.login.trustRequest(o.pending, o.service)) }));
      }
      case 'mfaUnavailable':
        return sendPage(reply, 503, mfaUnavailablePage());
      case 'unknownAuthnMethod':
        return sendPage(reply, 400, unknownAuthnMethodPage());
    }
  }

  /** The login form with a fresh single-use execution token bound to this browser. */
  private async form(req: FastifyRequest, reply: FastifyReply, o: FormModel, status: number): Promise<void> {
    const browserKey = this.browserKey(req, reply);
    const execution = await this.flows.start(browserKey, o.service ?? null, 'login', undefined, { authnMethod: o.authnMethod });
    allowFormRedirectTo(reply, o.service);
    let passkey: { execution: string; options: unknown; scripts: string[] } | undefined;
    if (this.webauthn.passkeysOffered) {
      // Its own token, carrying the challenge: the passkey button posts it instead of the password form's.
      const options = await this.webauthn.passkeyOptions();
      // The same browser key: a second fresh one would replace the first cookie and orphan the password form's token.
      const passkeyExecution = await this.flows.start(browserKey, o.service ?? null, 'passkey', undefined, {
        authnMethod: o.authnMethod,
        pending: { challenge: options.challenge },
      });
      passkey = { execution: passkeyExecution, options, scripts: this.webauthnAssets.scripts() };
      allowOwnScripts(reply, o.service);
    }
    const page = loginPage({
      action: 'login',
      execution,
      service: o.service,
      method: o.method,
      username: o.username,
      error: o.error,
      rememberMe: this.config.rememberMe.enabled,
      passkey,
    });
    return sendPage(reply, status, page);
  }

  /**
   * The browser key flow tokens are bound to: the browser's own if this server issued it,
   * otherwise a fresh one set on the browser (a planted or forged value is never adopted).
   */
  private browserKey(req: FastifyRequest, reply: FastifyReply): string {
    const key = this.cookies.browserKey(req);
    if (this.flows.isIssuedBrowserKey(key)) return key;
    const fresh = this.flows.newBrowserKey();
    this.cookies.setBrowserKey(reply, fresh);
    return fresh;
  }

  private redirect(reply: FastifyReply, location: string): void {
    // Appendix B: redirects back to applications must not be cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('expires', '0');
    reply.redirect(location, 302);
  }
}

/**
 * CSP's form-action also governs the redirects that follow a form's POST (Chrome enforces it):
 * with `form-action 'self'` alone, the 302 from POST /login to the application is blocked and
 * the user stays on this server's page. A page whose form can end at the service (the login
 * form, the code page, the warnings) allows the service's origin too; the service was checked
 * against the registry before any such page is shown.
 */
function allowFormRedirectTo(reply: FastifyReply, service: string | undefined): void {
  const origin = service === undefined ? null : originOf(service);
  if (origin !== null && origin !== 'null') reply.header('content-security-policy', formPagePolicy(`form-action 'self' ${origin}`));
}

/** A page that runs this server's WebAuthn scripts: `script-src 'self'` on top of allowFormRedirectTo's policy. */
function allowOwnScripts(reply: FastifyReply, service: string | undefined): void {
  const origin = service === undefined ? null : originOf(service);
  const formAction = origin !== null && origin !== 'null' ? `form-action 'self' ${origin}` : `form-action 'self'`;
  reply.header('content-security-policy', formPagePolicy(`script-src 'self'; ${formAction}`));
}

/** A server-rendered page, never cached, under the form-page policy unless the handler set one for it. */
function sendPage(reply: FastifyReply, status: number, body: string): void {
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', formPagePolicy());
  reply.status(status).header('content-type', HTML).header('cache-control', 'no-store').send(body);
}

function checked(value: string): boolean {
  return value === 'true' || value === 'on';
}

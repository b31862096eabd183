import type { CookieSerializeOptions } from '@fastify/cookie';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { ClientInfo } from './tgc-codec';

/** CAS's warning cookie: confirm before each SSO login. */
const WARN_COOKIE = 'CASPRIVACY';
/** The device cookie of the login throttle (device-cookie.ts), kept 180 days. */
const DEVICE_COOKIE = 'CASDEVICE';
const DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600;
/**
 * The browser key login forms are bound to (login CSRF). Under https it is a `__Host-` cookie,
 * which a sibling host cannot set (cookie tossing): Path=/, Secure, no Domain, as the prefix requires.
 */
const BROWSER_COOKIE = 'CASLOGIN';
const HOST_BROWSER_COOKIE = '__Host-CASLOGIN';
const EXPIRED = { maxAge: 0, expires: new Date(0) };

/**
 * Every cookie this server reads and sets, by name and with its options: the TGC (its name is
 * configured), CASPRIVACY, CASDEVICE and CASLOGIN. All are HttpOnly, SameSite=Lax, on the context
 * path, Secure under https; CASLOGIN under https is `__Host-CASLOGIN` on Path=/.
 */
@Injectable()
export class BrowserCookies {
  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  tgc(req: FastifyRequest): string | undefined {
    return req.cookies[this.config.tgc.name];
  }

  /** A browser-session cookie, or for remember-me a persistent one (CAS `cas.tgc.remember-me-max-age`). */
  setTgc(reply: FastifyReply, value: string, rememberMe: boolean): void {
    const persistent = rememberMe ? { maxAge: this.config.rememberMe.cookieMaxAgeSeconds } : {};
    reply.setCookie(this.config.tgc.name, value, { ...this.options(), ...persistent });
  }

  clearTgc(reply: FastifyReply): void {
    reply.setCookie(this.config.tgc.name, '', { ...this.options(), ...EXPIRED });
  }

  /** Whether the browser asked to be warned before each SSO login. */
  warn(req: FastifyRequest): boolean {
    return req.cookies[WARN_COOKIE] === 'true';
  }

  setWarn(reply: FastifyReply): void {
    reply.setCookie(WARN_COOKIE, 'true', this.options());
  }

  /** Clears the warning cookie of a browser that has one (any value). */
  clearWarn(req: FastifyRequest, reply: FastifyReply): void {
    if (req.cookies[WARN_COOKIE]) reply.setCookie(WARN_COOKIE, '', { ...this.options(), ...EXPIRED });
  }

  device(req: FastifyRequest): string | undefined {
    return req.cookies[DEVICE_COOKIE];
  }

  setDevice(reply: FastifyReply, value: string): void {
    reply.setCookie(DEVICE_COOKIE, value, { ...this.options(), maxAge: DEVICE_COOKIE_MAX_AGE });
  }

  browserKey(req: FastifyRequest): string | undefined {
    return req.cookies[this.browserCookieName];
  }

  setBrowserKey(reply: FastifyReply, value: string): void {
    const options = this.config.server.secure ? { ...this.options(), path: '/', secure: true } : this.options();
    reply.setCookie(this.browserCookieName, value, options);
  }

  private get browserCookieName(): string {
    return this.config.server.secure ? HOST_BROWSER_COOKIE : BROWSER_COOKIE;
  }

  /** Browser-session cookies on the context path: HttpOnly, SameSite=Lax, Secure under https. */
  private options(): CookieSerializeOptions {
    return {
      path: this.config.server.contextPath || '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.server.secure,
    };
  }
}

/** The client a TGC is pinned to: req.ip honours X-Forwarded-For only from TRUSTED_PROXIES. */
export function clientOf(req: FastifyRequest): ClientInfo {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : '' };
}

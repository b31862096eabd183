import { Inject, Injectable } from '@nestjs/common';
import Bowser from 'bowser';
import { isIP } from 'node:net';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import type { DeviceSummary, SessionLocation, SessionOriginRecord } from '../tickets/ticket-registry';
import type { ClientInfo } from './tgc-codec';

/**
 * The request a session or a service ticket comes from, as the controller saw it: `req.ip` (the
 * peer, or the X-Forwarded-For address a TRUSTED_PROXIES peer gave) and the User-Agent header.
 */
export type SessionOrigin = ClientInfo;

/** Longer User-Agents are cut: real ones are under 300 characters; the rest is padding or an attack. */
export const MAX_USER_AGENT = 512;
/** User-Agents whose parsed device SessionOrigins keeps (at most MAX_USER_AGENT characters each: ~0.5 MB). */
const DEVICE_CACHE_SIZE = 1000;
/** A parsed name or a city longer than this is not one; it is cut rather than stored whole. */
const MAX_NAME = 100;

/**
 * The address to record: a valid IPv4 or IPv6 address, an IPv4-mapped IPv6 address as the IPv4
 * one (so that `10.0.0.0/8` finds it), without an IPv6 zone (`%eth0`, which inet refuses). Null for
 * anything else: X-Forwarded-For from a trusted proxy is copied as the client sent it, and may be
 * `unknown` or garbage.
 */
export function recordedAddress(ip: string | undefined): string | null {
  if (typeof ip !== 'string') return null;
  const address = ip.trim().replace(/%[^%]*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped && isIP(mapped[1]) === 4) return mapped[1];
  return isIP(address) ? address.toLowerCase() : null;
}

/** The User-Agent to store and parse: control characters dropped (Postgres text takes no NUL), at most MAX_USER_AGENT characters. */
export function recordedUserAgent(userAgent: string | undefined): string | null {
  if (typeof userAgent !== 'string') return null;
  let ua = userAgent.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_USER_AGENT);
  // Never half a surrogate pair at the cut.
  if (/[\ud800-\udbff]$/.test(ua)) ua = ua.slice(0, -1);
  return ua || null;
}

/**
 * Browser, operating system and device type of a User-Agent (bowser, MIT). Unknown parts are
 * null. Run once per session, at its creation: the summary is stored, never parsed per request.
 */
export function deviceOf(userAgent: string | null): DeviceSummary {
  const none: DeviceSummary = { browser: null, os: null, type: null };
  if (!userAgent) return none;
  let parsed: Bowser.Parser.ParsedResult;
  try {
    parsed = Bowser.parse(userAgent);
  } catch {
    return none;
  }
  const { browser, os, platform } = parsed;
  const major = browser.version?.split('.')[0];
  // Windows says its marketing name in versionName (NT 10.0 → 10); elsewhere the version number is what users know.
  const osVersion = os.name === 'Windows' ? os.versionName : os.version;
  return {
    browser: named(browser.name, major),
    os: named(os.name, osVersion),
    type: platform.type || null,
  };
}

function named(name: string | undefined, version: string | undefined): string | null {
  if (!name) return null;
  return (version ? `${name} ${version}` : name).slice(0, MAX_NAME);
}

/**
 * Where a new session comes from: the address and User-Agent of its login, the device parsed from
 * it, and the address's country and city when GEOIP_DATABASE is set (the file opened at boot,
 * config/geoip-config.ts; looked up in memory, never over the network).
 */
@Injectable()
export class SessionOrigins {
  /**
   * deviceOf's answers by User-Agent, the most recently added DEVICE_CACHE_SIZE: a few browser
   * builds make most logins, and bowser's parse was 5 % of a directory login's Node CPU
   * (BENCH_ONLY=directory-login BENCH_CPU_PROF=1), about 0.1 ms per new session.
   */
  private readonly devices = new Map<string, DeviceSummary>();

  constructor(@Inject(CAS_CONFIG) private readonly config: CasConfig) {}

  describe(origin: SessionOrigin | undefined): SessionOriginRecord {
    const clientIp = recordedAddress(origin?.ip);
    const userAgent = recordedUserAgent(origin?.userAgent);
    return { clientIp, userAgent, device: this.deviceOf(userAgent), location: this.locate(clientIp) };
  }

  /** deviceOf, through the cache; a copy each time, so no caller shares another's object. */
  deviceOf(userAgent: string | null): DeviceSummary {
    if (userAgent === null) return deviceOf(null);
    let device = this.devices.get(userAgent);
    if (!device) {
      device = deviceOf(userAgent);
      if (this.devices.size >= DEVICE_CACHE_SIZE) this.devices.delete(this.devices.keys().next().value!);
      this.devices.set(userAgent, device);
    }
    return { ...device };
  }

  /** Country (ISO code) and city of an address, or null without a database or for an address it does not know (private ranges). */
  locate(ip: string | null): SessionLocation | null {
    const reader = this.config.geoIp.database?.reader;
    if (!reader || ip === null) return null;
    let found: ReturnType<typeof reader.get>;
    try {
      found = reader.get(ip);
    } catch {
      // A damaged record in a file that opened: the login goes on without a location.
      return null;
    }
    const iso = found?.country?.iso_code;
    const country = typeof iso === 'string' && /^[A-Z]{2}$/.test(iso) ? iso : null;
    const name = found?.city?.names?.en;
    const city = typeof name === 'string' && name.trim() ? name.trim().slice(0, MAX_NAME) : null;
    return country === null && city === null ? null : { country, city };
  }
}

import { deviceOf, MAX_USER_AGENT, recordedAddress, recordedUserAgent, SessionOrigins } from './session-origin';
import type { CasConfig } from '../config/cas-config';

describe('session origin: what is recorded of a request', () => {
  it('an address: IPv4 and IPv6 as given (IPv6 in lower case), IPv4-mapped as IPv4, no zone; anything else none', () => {
    expect(recordedAddress('192.0.2.7')).toBe('192.0.2.7');
    expect(recordedAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(recordedAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(recordedAddress('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(recordedAddress('fe80::1%eth0')).toBe('fe80::1');
    for (const bad of ['unknown', '', ' ', '192.0.2.7, 10.0.0.1', '999.1.1.1', '10.0.0.0/8', undefined]) expect(recordedAddress(bad)).toBeNull();
  });

  it('a User-Agent: control characters dropped, at most 512 characters, never half a surrogate pair; empty is none', () => {
    expect(recordedUserAgent('  curl/8.5.0 ')).toBe('curl/8.5.0');
    expect(recordedUserAgent('a\u0000b\u001fc\u007fd')).toBe('abcd');
    expect(recordedUserAgent('x'.repeat(10_000))).toHaveLength(MAX_USER_AGENT);
    expect(recordedUserAgent(`${'x'.repeat(MAX_USER_AGENT - 1)}😀`)).toBe('x'.repeat(MAX_USER_AGENT - 1));
    expect(recordedUserAgent('\u0000\u0001')).toBeNull();
    expect(recordedUserAgent(undefined)).toBeNull();
  });

  it('a device: browser with its major version, OS with the version users know, device type; unknown parts null', () => {
    expect(deviceOf('Mozilla/5.0 (Windows NT 6.1) Gecko/20100101 Firefox/50.0')).toEqual({ browser: 'Firefox 50', os: 'Windows 7', type: 'desktop' });
    expect(deviceOf('Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1'))
      .toEqual({ browser: 'Safari 16', os: 'iOS 16.6', type: 'tablet' });
    expect(deviceOf('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).toEqual({ browser: 'Googlebot 2', os: null, type: 'bot' });
    expect(deviceOf('curl/8.5.0')).toEqual({ browser: null, os: null, type: null });
    expect(deviceOf(null)).toEqual({ browser: null, os: null, type: null });
  });

  it('SessionOrigins parses a User-Agent once while it is among the last 1,000 seen, and answers as deviceOf', () => {
    const origins = new SessionOrigins({ geoIp: {} } as unknown as CasConfig);
    const ua = 'Mozilla/5.0 (Windows NT 6.1) Gecko/20100101 Firefox/50.0';
    const first = origins.describe({ ip: '192.0.2.7', userAgent: ua });
    expect(first.device).toEqual(deviceOf(ua));
    const again = origins.describe({ ip: '192.0.2.8', userAgent: ua });
    expect(again.device).toEqual(first.device);
    expect(again.device).not.toBe(first.device);
    for (let i = 0; i < 1000; i++) origins.describe({ ip: '192.0.2.9', userAgent: `curl/${i}` });
    // Pushed out by 1,000 newer ones, then parsed again: the same answer.
    expect(origins.describe({ ip: '192.0.2.7', userAgent: ua }).device).toEqual(deviceOf(ua));
    expect(origins.describe({ ip: '192.0.2.7', userAgent: '' }).device).toEqual({ browser: null, os: null, type: null });
  });
});

import { inflateRawSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { parseServiceDefinition, RegisteredService } from '../../services/registered-service';
import type { ReachedService } from '../ticket-rows';
import { frontChannelUrl, logoutRequests, logoutRequestXml } from './single-logout';

/** Services as an operator defines them (CAS JSON), looked up by registered id as the terminator does. */
const define = (id: number, path: string, extra: Record<string, unknown> = {}) =>
  parseServiceDefinition({
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    id,
    name: path,
    evaluationOrder: id,
    serviceId: `^https://${path}\\.example\\.org/.*`,
    ...extra,
  });
const SERVICES = new Map<number, RegisteredService>([
  [1, define(1, 'back', { logoutType: 'BACK_CHANNEL' })],
  [2, define(2, 'front', { logoutType: 'FRONT_CHANNEL', logoutUrl: 'https://front.example.org/slo?tenant=a' })],
  [3, define(3, 'none', { logoutType: 'NONE' })],
  [4, define(4, 'off', { logoutType: 'BACK_CHANNEL', accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false } })],
  [5, define(5, 'plain')],
]);
const lookup = (r: ReachedService) => (r.registeredServiceId === null ? null : (SERVICES.get(r.registeredServiceId) ?? null));

const NOW = new Date('2026-03-01T12:00:00.123Z');
let n = 0;
const reached = (registeredServiceId: number | null, service: string, issuedAt = new Date('2026-03-01T11:00:00Z')): ReachedService => ({
  ticketId: `ST-${++n}`,
  service,
  registeredServiceId,
  issuedAt,
});

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: false });

describe(logoutRequests.name, () => {
  it('case=which services: BACK_CHANNEL and FRONT_CHANNEL get one, NONE, disabled and unregistered none', () => {
    expect(SERVICES.get(4)!.enabled).toBe(false);
    const requests = logoutRequests(
      'casuser',
      [
        reached(1, 'https://back.example.org/a'),
        reached(2, 'https://front.example.org/b'),
        reached(3, 'https://none.example.org/c'),
        reached(4, 'https://off.example.org/d'),
        reached(99, 'https://gone.example.org/e'),
        reached(null, 'https://unknown.example.org/f'),
      ],
      lookup,
      NOW,
    );
    expect(requests.map((r) => [r.service, r.channel])).toEqual([
      ['https://back.example.org/a', 'BACK_CHANNEL'],
      ['https://front.example.org/b', 'FRONT_CHANNEL'],
    ]);
  });

  it('case=default logout type: a definition without logoutType is logged out on the back channel', () => {
    const [r] = logoutRequests('casuser', [reached(5, 'https://plain.example.org/x')], lookup, NOW);
    expect(r).toMatchObject({ channel: 'BACK_CHANNEL', logoutUrl: 'https://plain.example.org/x' });
  });

  it('case=one per service URL: query, path parameters and fragment ignored; the latest ticket is the SessionIndex', () => {
    const early = reached(1, 'https://back.example.org/app?x=1', new Date('2026-03-01T10:00:00Z'));
    const latest = reached(1, 'https://back.example.org/app;jsessionid=2', new Date('2026-03-01T11:30:00Z'));
    const middle = reached(1, 'https://back.example.org/app#top', new Date('2026-03-01T11:00:00Z'));
    const other = reached(1, 'https://back.example.org/other', new Date('2026-03-01T09:00:00Z'));
    const requests = logoutRequests('casuser', [early, latest, middle, other], lookup, NOW);
    expect(requests.map((r) => [r.ticketId, r.service])).toEqual([
      [latest.ticketId, latest.service],
      [other.ticketId, other.service],
    ]);
  });

  it('case=fields: the principal, the logout URL (the definition\'s, else the service URL), now, and a fresh LR- id each', () => {
    const back = reached(1, 'https://back.example.org/a');
    const front = reached(2, 'https://front.example.org/b');
    const [b, f] = logoutRequests('casuser', [back, front], lookup, NOW);
    expect(b).toEqual({
      id: expect.stringMatching(/^LR-[A-Za-z0-9_-]{20,}$/),
      ticketId: back.ticketId,
      principal: 'casuser',
      service: back.service,
      logoutUrl: back.service,
      issuedAt: NOW,
      channel: 'BACK_CHANNEL',
    });
    expect(f.logoutUrl).toBe('https://front.example.org/slo?tenant=a');
    expect(f.id).not.toBe(b.id);
  });

  it('case=nothing reached: no request', () => {
    expect(logoutRequests('casuser', [], lookup, NOW)).toEqual([]);
  });
});

describe(logoutRequestXml.name, () => {
  it('case=fields: SAML 2.0 LogoutRequest with ID, IssueInstant in whole UTC seconds, NameID and SessionIndex', () => {
    const text = logoutRequestXml('LR-1', 'casuser', 'ST-42', NOW);
    expect(text).not.toContain('\n');
    expect(xml.parse(text)).toEqual({
      'samlp:LogoutRequest': {
        '@_xmlns:samlp': 'urn:oasis:names:tc:SAML:2.0:protocol',
        '@_ID': 'LR-1',
        '@_Version': '2.0',
        '@_IssueInstant': '2026-03-01T12:00:00Z',
        'saml:NameID': { '@_xmlns:saml': 'urn:oasis:names:tc:SAML:2.0:assertion', '#text': 'casuser' },
        'samlp:SessionIndex': 'ST-42',
      },
    });
  });

  it('case=escaping: markup in the principal stays text, and characters XML forbids are dropped', () => {
    const text = logoutRequestXml('LR-1', 'a<b>&"c\u0001', 'ST-42', NOW);
    expect(text).toContain('a&lt;b&gt;&amp;&quot;c</saml:NameID>');
    expect(xml.parse(text)['samlp:LogoutRequest']['saml:NameID']['#text']).toBe('a<b>&"c');
  });
});

describe(frontChannelUrl.name, () => {
  const request = (logoutUrl: string) => ({
    id: 'LR-7', ticketId: 'ST-9', principal: 'casuser', service: 'https://front.example.org/b', logoutUrl, issuedAt: NOW, channel: 'FRONT_CHANNEL' as const,
  });

  it('case=url: the logout URL, its own query kept, with logoutRequest = base64 of the DEFLATEd LogoutRequest', () => {
    const url = new URL(frontChannelUrl(request('https://front.example.org/slo?tenant=a'))!);
    expect(`${url.origin}${url.pathname}`).toBe('https://front.example.org/slo');
    expect(url.searchParams.get('tenant')).toBe('a');
    const message = inflateRawSync(Buffer.from(url.searchParams.get('logoutRequest')!, 'base64')).toString('utf8');
    expect(message).toBe(logoutRequestXml('LR-7', 'casuser', 'ST-9', NOW));
  });

  it('case=unusable logout URL: null, so the logout goes on without that service', () => {
    for (const bad of ['not a url', 'javascript:alert(1)', 'ftp://front.example.org/slo']) expect(frontChannelUrl(request(bad))).toBeNull();
  });
});

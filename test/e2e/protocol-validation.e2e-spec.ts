import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP, OTHER } from '../helpers/test-services';

const NOATTRS = 'https://noattrs.example.org/x';
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: false, parseTagValue: false });
const q = (service: string, ticket: string, extra = '') => `service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket)}${extra}`;

describe('CAS validation endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** A fresh ST from a credential login (isFromNewLogin) for `service`. */
  const loginTicket = async (service = APP, b = new Browser(t.app)) => ticketOf(await b.login('casuser', 'Mellon', service));
  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const xml = (body: string) => {
    expect(XMLValidator.validate(body)).toBe(true);
    return parser.parse(body)['cas:serviceResponse'];
  };
  const failureCode = (body: string) => xml(body)['cas:authenticationFailure']['@code'];

  describe('/validate (CAS 1.0)', () => {
    it('answers exactly "yes\\n<user>\\n" for a good ticket (26)', async () => {
      const res = await get(`/cas/validate?${q(APP, await loginTicket())}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe('yes\ncasuser\n');
    });

    it('answers exactly "no\\n\\n" with 200 on failure (27)', async () => {
      for (const url of [`/cas/validate?${q(APP, 'ST-unknownunknownunknownunknown12')}`, '/cas/validate', `/cas/validate?${q(OTHER, await loginTicket())}`]) {
        const res = await get(url);
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe('no\n\n');
      }
    });
  });

  describe('/serviceValidate and /p3/serviceValidate', () => {
    it('succeeds in the CAS namespace (28) and fails the second time (29)', async () => {
      const st = await loginTicket();
      const first = await get(`/cas/serviceValidate?${q(APP, st)}`);
      expect(first.statusCode).toBe(200);
      expect(first.headers['content-type']).toMatch(/^application\/xml/);
      expect(first.body).toContain('xmlns:cas="http://www.yale.edu/tp/cas"');
      expect(xml(first.body)['cas:authenticationSuccess']['cas:user']).toBe('casuser');
      const second = await get(`/cas/serviceValidate?${q(APP, st)}`);
      expect(failureCode(second.body)).toBe('INVALID_TICKET');
    });

    it('gives INVALID_SERVICE for another service, and the ticket is dead afterwards (30, 31, T5)', async () => {
      const st = await loginTicket();
      const wrong = await get(`/cas/p3/serviceValidate?${q(OTHER, st)}`);
      expect(failureCode(wrong.body)).toBe('INVALID_SERVICE');
      expect(xml(wrong.body)['cas:authenticationFailure']['#text']).toContain('does not match supplied service');
      expect(failureCode((await get(`/cas/p3/serviceValidate?${q(APP, st)}`)).body)).toBe('INVALID_TICKET');
    });

    it('matches services ignoring percent-encoding and case (32) and fragments (34), not a trailing slash (33)', async () => {
      const issued = 'https://app.example.org/a%20b?x=1';
      const variants = ['https://APP.example.org/a b?x=1', 'https://app.example.org/a%20b?x=1#frag'];
      for (const v of variants) {
        const res = await get(`/cas/p3/serviceValidate?${q(v, await loginTicket(issued))}`);
        expect(xml(res.body)['cas:authenticationSuccess']['cas:user']).toBe('casuser');
      }
      const slash = await get(`/cas/p3/serviceValidate?${q('https://app.example.org/', await loginTicket('https://app.example.org'))}`);
      expect(failureCode(slash.body)).toBe('INVALID_SERVICE');
    });

    it('requires both parameters (35, 36) and a supported format (51)', async () => {
      expect(failureCode((await get(`/cas/serviceValidate?service=${encodeURIComponent(APP)}`)).body)).toBe('INVALID_REQUEST');
      expect(failureCode((await get('/cas/serviceValidate?ticket=ST-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).body)).toBe('INVALID_REQUEST');
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, await loginTicket(), '&format=YAML')}`)).body)).toBe('INVALID_REQUEST');
    });

    it('refuses an unknown ticket (37) and one validated after its 10 s (38)', async () => {
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, 'ST-abcdefghijklmnopqrstuvwxyz012345')}`)).body)).toBe('INVALID_TICKET');
      const st = await loginTicket();
      t.clock.advance(11);
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, st)}`)).body)).toBe('INVALID_TICKET');
    });

    it('honours renew=true only for tickets from a credential login (39, 40)', async () => {
      const b = new Browser(t.app);
      const fromLogin = await loginTicket(APP, b);
      expect(xml((await get(`/cas/serviceValidate?${q(APP, fromLogin, '&renew=true')}`)).body)['cas:authenticationSuccess']).toBeDefined();
      const fromSso = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(APP)}`));
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, fromSso, '&renew=true')}`)).body)).toBe('INVALID_TICKET');
    });

    it('releases the protocol attributes and the user attributes, multi-valued as siblings (44, 45, 47)', async () => {
      const b = new Browser(t.app);
      const res = await get(`/cas/p3/serviceValidate?${q(APP, await loginTicket(APP, b))}`);
      const attrs = xml(res.body)['cas:authenticationSuccess']['cas:attributes'];
      expect(new Date(attrs['cas:authenticationDate']).getTime()).toBeGreaterThan(0);
      expect(attrs['cas:longTermAuthenticationRequestTokenUsed']).toBe('false');
      expect(attrs['cas:isFromNewLogin']).toBe('true');
      expect(attrs['cas:mail']).toBe('casuser@example.org');
      expect(attrs['cas:memberOf']).toEqual(['staff', 'faculty']);
      const sso = ticketOf(await b.get(`/cas/login?service=${encodeURIComponent(APP)}`));
      const later = xml((await get(`/cas/p3/serviceValidate?${q(APP, sso)}`)).body);
      expect(later['cas:authenticationSuccess']['cas:attributes']['cas:isFromNewLogin']).toBe('false');
      expect(res.body.indexOf('cas:authenticationDate')).toBeLessThan(res.body.indexOf('cas:mail'));
    });

    it('applies the release policy: allowed list, and none by default (protocol and authentication attributes stay)', async () => {
      const other = xml((await get(`/cas/p3/serviceValidate?${q(OTHER, await loginTicket(OTHER))}`)).body);
      expect(Object.keys(other['cas:authenticationSuccess']['cas:attributes']).sort()).toEqual([
        'cas:authenticationDate', 'cas:authenticationMethod', 'cas:isFromNewLogin', 'cas:longTermAuthenticationRequestTokenUsed', 'cas:mail',
        'cas:successfulAuthenticationHandlers',
      ]);
      const none = xml((await get(`/cas/p3/serviceValidate?${q(NOATTRS, await loginTicket(NOATTRS))}`)).body);
      expect(Object.keys(none['cas:authenticationSuccess']['cas:attributes']).sort()).toEqual([
        'cas:authenticationDate', 'cas:authenticationMethod', 'cas:isFromNewLogin', 'cas:longTermAuthenticationRequestTokenUsed',
        'cas:successfulAuthenticationHandlers',
      ]);
    });

    it('answers CAS 2.0 /serviceValidate with attributes by default (CAS 7, 48)', async () => {
      const res = xml((await get(`/cas/serviceValidate?${q(APP, await loginTicket())}`)).body);
      expect(res['cas:authenticationSuccess']['cas:attributes']['cas:mail']).toBe('casuser@example.org');
    });

    it('answers JSON with arrays for every attribute (49) and failures with code and description (50)', async () => {
      const ok = await get(`/cas/p3/serviceValidate?${q(APP, await loginTicket(), '&format=JSON')}`);
      expect(ok.headers['content-type']).toMatch(/^application\/json/);
      const success = ok.json().serviceResponse.authenticationSuccess;
      expect(success.user).toBe('casuser');
      expect(success.attributes.memberOf).toEqual(['staff', 'faculty']);
      expect(success.attributes.mail).toEqual(['casuser@example.org']);
      expect(success.attributes.isFromNewLogin).toEqual([true]);
      const bad = await get(`/cas/p3/serviceValidate?${q(APP, 'ST-abcdefghijklmnopqrstuvwxyz012345', '&format=json')}`);
      expect(bad.json()).toEqual({
        serviceResponse: { authenticationFailure: { code: 'INVALID_TICKET', description: "Ticket 'ST-abcdefghijklmnopqrstuvwxyz012345' not recognized" } },
      });
    });

    it('escapes what it echoes (53) and refuses pgtUrl while no service may proxy', async () => {
      const res = await get(`/cas/serviceValidate?${q(APP, 'ST-<script>alert(1)</script>')}`);
      expect(res.body).not.toContain('<script>');
      expect(failureCode(res.body)).toBe('INVALID_TICKET');
      const proxy = await get(`/cas/serviceValidate?${q(APP, await loginTicket(), '&pgtUrl=https%3A%2F%2Fapp.example.org%2Fcb')}`);
      expect(failureCode(proxy.body)).toBe('UNAUTHORIZED_SERVICE_PROXY');
    });

    it('validates STs at /proxyValidate and /p3/proxyValidate too', async () => {
      for (const ep of ['proxyValidate', 'p3/proxyValidate']) {
        expect(xml((await get(`/cas/${ep}?${q(APP, await loginTicket())}`)).body)['cas:authenticationSuccess']['cas:user']).toBe('casuser');
      }
    });
  });

  describe('bad input (T1)', () => {
    const endpoints = ['validate', 'serviceValidate', 'proxyValidate', 'p3/serviceValidate', 'p3/proxyValidate'];
    const badTickets: [string, string][] = [
      ['empty', ''],
      ['257 characters', `ST-${'a'.repeat(254)}`],
      ['NUL', 'ST-abcdefghijklmnopqrst\u0000uvwxyz012345'],
      ['non-ASCII', 'ST-abcdefghijklmnopqrstüvwxyz012345'],
      ['lower-case prefix', 'st-abcdefghijklmnopqrstuvwxyz012345'],
      ['unknown prefix', 'XT-abcdefghijklmnopqrstuvwxyz012345'],
      ['underscore', 'ST-abcdefghijklmnopqrst_vwxyz012345'],
      ['dot', 'ST-abcdefghijklmnopqrst.vwxyz012345'],
      ['a TGT id', `TGT-${'a'.repeat(48)}`],
      ['too short', 'ST-abc'],
    ];

    /**
     * The statements the app sends to Postgres while handling `requests`. Counted on pg's
     * Client.prototype.query, which every client of the process goes through: TypeORM's queries
     * and the hot statements the ticket registry runs as prepared statements on the raw pool.
     * Only those sent from the requests' own async context count, so the app's timers (the
     * registry's twice-a-second version poll) do not.
     */
    const statementsSentBy = async (requests: () => Promise<void>): Promise<string[]> => {
      const sent: string[] = [];
      const inRequest = new AsyncLocalStorage<string[]>();
      const query = Client.prototype.query as (...args: unknown[]) => unknown;
      const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
        inRequest.getStore()?.push(String(text));
        return query.apply(this, args);
      } as never);
      try {
        await inRequest.run(sent, requests);
      } finally {
        spy.mockRestore();
      }
      return sent;
    };

    it('counts the statements of a well-formed ticket (the raw-pool prepared statement included)', async () => {
      const sent = await statementsSentBy(async () => {
        const res = await get(`/cas/serviceValidate?${q(APP, 'ST-abcdefghijklmnopqrstuvwxyz012345')}`);
        expect(failureCode(res.body)).toBe('INVALID_TICKET');
      });
      expect(sent).toEqual([expect.stringContaining('DELETE FROM tickets WHERE id = $1')]);
    });

    it.each(badTickets)('answers a %s ticket with a protocol failure and no SQL at all', async (_name, ticket) => {
      const sent = await statementsSentBy(async () => {
        for (const ep of endpoints) {
          for (const format of ['', '&format=JSON']) {
            const res = await get(`/cas/${ep}?${q(APP, ticket, format)}`);
            expect(res.statusCode).toBe(200);
            if (ep === 'validate') expect(res.body).toBe('no\n\n');
            else if (format) expect(['INVALID_REQUEST', 'INVALID_TICKET']).toContain(res.json().serviceResponse.authenticationFailure.code);
            else expect(['INVALID_REQUEST', 'INVALID_TICKET']).toContain(failureCode(res.body));
            expect(res.body.length).toBeLessThan(700);
          }
        }
      });
      expect(sent).toEqual([]);
    });

    it('refuses a ticket or service given twice (INVALID_REQUEST)', async () => {
      const st = await loginTicket();
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, st)}&ticket=${st}`)).body)).toBe('INVALID_REQUEST');
      expect(failureCode((await get(`/cas/serviceValidate?${q(APP, st)}&service=${encodeURIComponent(APP)}`)).body)).toBe('INVALID_REQUEST');
    });

    it('answers a 64 KB ticket with 414 before reading it', async () => {
      expect((await get(`/cas/serviceValidate?${q(APP, `ST-${'a'.repeat(65536)}`)}`)).statusCode).toBe(414);
    });
  });
});

describe('v3 forward compatibility switched off', () => {
  it('omits cas:attributes from CAS 2.0 /serviceValidate (48)', async () => {
    const t = await startTestApp({ env: { CAS_VIEW_CAS2_V3_FORWARD_COMPATIBLE: 'false' } });
    try {
      const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
      const res = await t.app.inject({ method: 'GET', url: `/cas/serviceValidate?${q(APP, st)}` });
      expect(res.body).toContain('<cas:user>casuser</cas:user>');
      expect(res.body).not.toContain('cas:attributes');
    } finally {
      await t.close();
    }
  });
});

describe('XML injection (T4)', () => {
  const username = 'a<b>&"c\'';
  const attributes = {
    [username]: {
      evil: ['</cas:attributes><cas:user>admin</cas:user>', ']]>', '&amp;', '<', '"', 'ctl\u0001\u0000x', 'bad\uFFFEz'],
      'a b': ['skipped'],
      '1x': ['skipped'],
      'x:y': ['skipped'],
      big: Array.from({ length: 10000 }, (_, i) => `v${i}`),
    },
  };
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { CAS_AUTHN_ACCEPT_USERS: `${username}::pw`, AUTHN_ACCEPT_USERS_ATTRIBUTES: JSON.stringify(attributes), AUTHN_THROTTLE_ENABLED: 'false' },
    });
  });
  afterAll(() => t.close());

  it('emits one escaped cas:user, drops illegal characters, skips illegal names; JSON says the same', async () => {
    const st1 = ticketOf(await new Browser(t.app).login(username, 'pw', APP));
    const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?${q(APP, st1)}` });
    expect(XMLValidator.validate(res.body)).toBe(true);
    expect(res.body.match(/<cas:user>/g)).toHaveLength(1);
    const success = parser.parse(res.body)['cas:serviceResponse']['cas:authenticationSuccess'];
    expect(success['cas:user']).toBe(username);
    const evil = success['cas:attributes']['cas:evil'];
    expect(evil).toEqual(['</cas:attributes><cas:user>admin</cas:user>', ']]>', '&amp;', '<', '"', 'ctlx', 'badz']);
    expect(success['cas:attributes']['cas:big']).toHaveLength(10000);
    for (const name of ['cas:a b', 'cas:1x', 'cas:x:y']) expect(success['cas:attributes'][name]).toBeUndefined();
    expect(res.body).not.toContain('skipped');

    const st2 = ticketOf(await new Browser(t.app).login(username, 'pw', APP));
    const json = (await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?format=JSON&${q(APP, st2)}` })).json();
    const js = json.serviceResponse.authenticationSuccess;
    expect(js.user).toBe(username);
    expect(js.attributes.evil).toEqual(evil);
    expect(Object.keys(js.attributes).sort()).toEqual(
      Object.keys(success['cas:attributes']).map((k) => k.replace(/^cas:/, '')).sort(),
    );
  });
});

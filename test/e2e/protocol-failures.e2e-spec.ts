import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const e = encodeURIComponent;
const UNKNOWN_ST = 'ST-abcdefghijklmnopqrstuvwxyz012345';
const UNKNOWN_PGT = 'PGT-abcdefghijklmnopqrstuvwxyz012345';
const NS = 'xmlns:cas="http://www.yale.edu/tp/cas"';
const XML = 'application/xml; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/** The exact answers a client sees, written out: the bytes the protocol endpoints have always sent. */
const xmlFailure = (code: string, text: string) =>
  `<cas:serviceResponse ${NS}><cas:authenticationFailure code="${code}">${text}</cas:authenticationFailure></cas:serviceResponse>`;
const jsonFailure = (code: string, description: string) => JSON.stringify({ serviceResponse: { authenticationFailure: { code, description } } });
const proxyFailure = (code: string, text: string) => `<cas:serviceResponse ${NS}><cas:proxyFailure code="${code}">${text}</cas:proxyFailure></cas:serviceResponse>`;

const VALIDATION = ['serviceValidate', 'proxyValidate', 'p3/serviceValidate', 'p3/proxyValidate'];

describe('protocol failures: every CasError of a protocol endpoint in that endpoint’s shape, 200 and no-store', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const expectAnswer = async (url: string, contentType: string, body: string) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect({ url, status: res.statusCode, type: res.headers['content-type'], cache: res.headers['cache-control'], body: res.body }).toEqual({
      url,
      status: 200,
      type: contentType,
      cache: 'no-store',
      body,
    });
  };

  it('/validate answers every failure with exactly "no\\n\\n", whatever the format parameter', async () => {
    for (const query of ['', `service=${e(APP)}&ticket=${UNKNOWN_ST}`, `service=${e(APP)}&ticket=${UNKNOWN_ST}&renew=1&renew=1`, 'format=YAML&format=JSON']) {
      await expectAnswer(`/cas/validate?${query}`, 'text/plain; charset=utf-8', 'no\n\n');
    }
  });

  it.each(VALIDATION)('/%s answers in XML by default and in JSON for format=json', async (ep) => {
    await expectAnswer(`/cas/${ep}`, XML, xmlFailure('INVALID_REQUEST', '&apos;service&apos; and &apos;ticket&apos; parameters are both required'));
    await expectAnswer(`/cas/${ep}?format=json`, JSON_TYPE, jsonFailure('INVALID_REQUEST', "'service' and 'ticket' parameters are both required"));
    await expectAnswer(`/cas/${ep}?service=${e(APP)}&ticket=${UNKNOWN_ST}&format=JSON`, JSON_TYPE, jsonFailure('INVALID_TICKET', `Ticket '${UNKNOWN_ST}' not recognized`));
    await expectAnswer(
      `/cas/${ep}?format=JSON&service=${e(APP)}&ticket=a&ticket=b`,
      JSON_TYPE,
      jsonFailure('INVALID_REQUEST', "Parameter 'ticket' must be given once"),
    );
  });

  it.each(VALIDATION)('/%s refuses an unsupported or repeated format in XML, before looking at the ticket', async (ep) => {
    const st = ticketOf(await new Browser(t.app).login('casuser', 'Mellon', APP));
    await expectAnswer(`/cas/${ep}?format=YAML&service=${e(APP)}&ticket=${st}`, XML, xmlFailure('INVALID_REQUEST', 'Unsupported format; use XML or JSON'));
    await expectAnswer(`/cas/${ep}?format=JSON&format=XML&service=${e(APP)}&ticket=${st}`, XML, xmlFailure('INVALID_REQUEST', 'Parameter &apos;format&apos; must be given once'));
    const unspent = await t.app.inject({ method: 'GET', url: `/cas/${ep}?service=${e(APP)}&ticket=${st}` });
    expect(unspent.body).toContain('<cas:authenticationSuccess>');
  });

  it.each(VALIDATION)('/%s escapes the echoed ticket and refuses a repeated pgtUrl', async (ep) => {
    await expectAnswer(`/cas/${ep}?service=${e(APP)}&ticket=${e(`<b>&'"`)}`, XML, xmlFailure('INVALID_TICKET', 'Ticket &apos;&lt;b&gt;&amp;&apos;&quot;&apos; not recognized'));
    await expectAnswer(
      `/cas/${ep}?service=${e(APP)}&ticket=${UNKNOWN_ST}&pgtUrl=a&pgtUrl=b`,
      XML,
      xmlFailure('INVALID_REQUEST', 'Parameter &apos;pgtUrl&apos; must be given once'),
    );
  });

  it('/proxy answers every failure as an XML proxyFailure, even for format=JSON', async () => {
    await expectAnswer('/cas/proxy?format=JSON', XML, proxyFailure('INVALID_REQUEST', '&apos;pgt&apos; and &apos;targetService&apos; parameters are both required'));
    await expectAnswer(`/cas/proxy?pgt=PGT-a&pgt=PGT-b&targetService=${e(APP)}`, XML, proxyFailure('INVALID_REQUEST', 'Parameter &apos;pgt&apos; must be given once'));
    await expectAnswer(`/cas/proxy?format=JSON&pgt=${UNKNOWN_PGT}&targetService=${e(APP)}`, XML, proxyFailure('INVALID_TICKET', 'Proxy-granting ticket not recognized'));
    await expectAnswer(
      `/cas/proxy?pgt=${UNKNOWN_PGT}&targetService=${e('https://unregistered.example.org/<x>')}`,
      XML,
      proxyFailure('UNAUTHORIZED_SERVICE', 'Service &apos;https://unregistered.example.org/&lt;x&gt;&apos; is not authorized to use CAS proxy tickets'),
    );
  });
});

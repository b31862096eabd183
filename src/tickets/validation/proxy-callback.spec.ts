import { callbackUrl, parseCallback } from './proxy-callback';

const PGT = 'PGT-abc';
const IOU = 'PGTIOU-def';

describe(callbackUrl.name, () => {
  it("keeps the callback's own query as written and appends pgtId and pgtIou", () => {
    expect(callbackUrl('https://app.example.org/cb', PGT, IOU)).toBe('https://app.example.org/cb?pgtId=PGT-abc&pgtIou=PGTIOU-def');
    expect(callbackUrl('https://app.example.org/cb?a=1&b=x%20y', PGT, IOU)).toBe('https://app.example.org/cb?a=1&b=x%20y&pgtId=PGT-abc&pgtIou=PGTIOU-def');
    expect(callbackUrl('https://app.example.org/cb?', PGT, IOU)).toBe('https://app.example.org/cb?pgtId=PGT-abc&pgtIou=PGTIOU-def');
    expect(callbackUrl('https://app.example.org/cb?a=1&', PGT, IOU)).toBe('https://app.example.org/cb?a=1&pgtId=PGT-abc&pgtIou=PGTIOU-def');
    expect(callbackUrl('https://app.example.org/cb?a=1#frag', PGT, IOU)).toBe('https://app.example.org/cb?a=1&pgtId=PGT-abc&pgtIou=PGTIOU-def');
  });

  it('refuses anything but https without user info', () => {
    for (const url of ['http://app.example.org/cb', 'ftp://app.example.org/', 'https://user:pw@app.example.org/cb', 'https://app.example.org@evil.org/', 'not a url', 'javascript:alert(1)']) {
      expect(parseCallback(url)).toBeNull();
      expect(callbackUrl(url, PGT, IOU)).toBeNull();
    }
  });
});

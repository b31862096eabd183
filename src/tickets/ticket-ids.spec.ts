// The module object itself (not an ES namespace copy), so its randomBytes can be replaced in a test.
import crypto = require('node:crypto');
import { newProxyGrantingTicketIou, newTicketId, parseTicketId, randomToken, TicketType } from './ticket-ids';

/** ln Γ(z), Lanczos approximation (g = 7, 9 terms): 15 significant digits for z > 0. */
function lnGamma(z: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = c[0];
  for (let i = 1; i < c.length; i++) x += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/**
 * P(X ≥ x) for X chi-square distributed with k degrees of freedom: the regularized upper
 * incomplete gamma function Q(k/2, x/2), by its series below a + 1 and its continued fraction
 * (modified Lentz) above.
 */
function chiSquareSurvival(x: number, k: number): number {
  const a = k / 2;
  const z = x / 2;
  if (z <= 0) return 1;
  const prefix = Math.exp(a * Math.log(z) - z - lnGamma(a));
  if (z < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && term > sum * 1e-16; n++) sum += term *= z / (a + n);
    return 1 - prefix * sum;
  }
  const tiny = 1e-300;
  let b = z + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return prefix * h;
}

/** Pearson's chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((s, n) => s + n, 0);
  const expected = total / counts.length;
  return counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
}

const SAMPLE = 200_000;
/** Family-wise false-alarm rate of the frequency tests: one run in a million fails by chance. */
const ALPHA = 1e-6;

describe('chi-square survival function (checked against published table values)', () => {
  it.each([
    [3.841458820694124, 1, 0.05],
    [80.232, 61, 0.05],
    [140.64184519679856, 61, 1e-6 / 32],
    [61, 61, 0.47592],
  ])('P(chi2 >= %d | df %d) = %d', (x, k, p) => {
    expect(chiSquareSurvival(x, k)).toBeCloseTo(p, Math.max(4, -Math.floor(Math.log10(p)) + 3));
  });
});

describe('ticket ids', () => {
  let ids: string[];
  beforeAll(() => {
    // ST ids: the shortest random part of all ticket kinds, and the one sent in URLs.
    ids = Array.from({ length: SAMPLE }, () => newTicketId('ST'));
  });
  const randomParts = () => ids.map((id) => id.slice('ST-'.length));

  it(`has no duplicate among ${SAMPLE.toLocaleString('en')} ids, each one a well-formed ticket id`, () => {
    expect(new Set(ids).size).toBe(SAMPLE);
    const malformed = ids.filter((id) => parseTicketId(id) !== 'ST');
    expect({ malformed: malformed.length, examples: malformed.slice(0, 3) }).toEqual({ malformed: 0, examples: [] });
  });

  it('carries at least 128 bits: log2(alphabet ^ length) of the random part, the alphabet measured from the output', () => {
    const parts = randomParts();
    const alphabet = new Set(parts.join(''));
    const length = parts.reduce((min, p) => Math.min(min, p.length), Infinity);
    const bits = length * Math.log2(alphabet.size);
    expect(bits).toBeGreaterThanOrEqual(128);
    expect({ alphabet: alphabet.size, length, bits: Math.floor(bits) }).toEqual({ alphabet: 62, length: 32, bits: 190 });
  });

  it('every kind of random value carries at least 128 bits', () => {
    const kinds: [string, () => string][] = [
      ...(['TGT', 'ST', 'PGT', 'PT'] as TicketType[]).map((t): [string, () => string] => [t, () => newTicketId(t).slice(t.length + 1)]),
      ['PGTIOU', () => newProxyGrantingTicketIou().slice('PGTIOU-'.length)],
      ['randomToken()', () => randomToken()],
    ];
    const bits = kinds.map(([kind, next]) => {
      const parts = Array.from({ length: 2000 }, next);
      return { kind, bits: Math.floor(Math.min(...parts.map((p) => p.length)) * Math.log2(new Set(parts.join('')).size)) };
    });
    expect(bits.filter((b) => b.bits < 128)).toEqual([]);
    expect(bits.map((b) => b.bits)).toEqual([285, 190, 285, 190, 285, 190]);
  });

  it('draws every character uniformly at every position (chi-square, Bonferroni over the positions)', () => {
    const parts = randomParts();
    const alphabet = [...new Set(parts.join(''))].sort();
    const index = new Map(alphabet.map((ch, i) => [ch, i]));
    const length = parts[0].length;
    const counts = Array.from({ length }, () => new Array<number>(alphabet.length).fill(0));
    for (const p of parts) for (let i = 0; i < length; i++) counts[i][index.get(p[i])!]++;
    const df = alphabet.length - 1;
    const perPosition = ALPHA / length;
    const failing = counts
      .map((c, position) => ({ position, chi2: Math.round(chiSquare(c)), p: chiSquareSurvival(chiSquare(c), df) }))
      .filter((r) => r.p <= perPosition);
    expect(failing).toEqual([]);
    // All positions pooled: more power against a small bias shared by every position.
    const pooled = alphabet.map((_, j) => counts.reduce((s, c) => s + c[j], 0));
    expect(chiSquareSurvival(chiSquare(pooled), df)).toBeGreaterThan(ALPHA);
  });

  it('takes all its randomness from the CSPRNG: no Math.random, time, counter or node id', () => {
    const random = jest.spyOn(Math, 'random');
    // With the CSPRNG answering zeros, every id is the same: nothing else goes into it.
    const bytes = jest.spyOn(crypto, 'randomBytes').mockImplementation(((n: number) => Buffer.alloc(n, 0)) as never);
    try {
      expect([newTicketId('ST'), newTicketId('ST'), randomToken(48)]).toEqual([`ST-${'A'.repeat(32)}`, `ST-${'A'.repeat(32)}`, 'A'.repeat(48)]);
      expect(bytes).toHaveBeenCalled();
      expect(random).not.toHaveBeenCalled();
    } finally {
      bytes.mockRestore();
      random.mockRestore();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { base32Decode, totpDelta } from './totp';

// otplib's own base32 codec (its authenticator's key decoder is thirty-two's decode).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const thirtyTwo = require('thirty-two') as { encode(b: Buffer): Buffer };
const base32 = (bytes: Buffer) => thirtyTwo.encode(bytes).toString().replace(/=/g, '');

describe('totpDelta (otplib checkDelta computed on node:crypto)', () => {
  const at = Date.UTC(2026, 11, 3, 12, 0, 7);

  it('decodes base32 as thirty-two does', () => {
    for (const n of [1, 5, 10, 16, 20, 32]) {
      const bytes = randomBytes(n);
      expect(base32Decode(base32(bytes)).equals(bytes)).toBe(true);
      expect(base32Decode(base32(bytes).toLowerCase()).equals(bytes)).toBe(true);
    }
    expect(() => base32Decode('AB1C')).toThrow();
  });

  it("gives otplib's delta for every step in and around the window, for secrets of every length", () => {
    for (const bytes of [20, 32, 10, 9, 5]) {
      const secret = bytes === 20 ? authenticator.generateSecret(20) : base32(randomBytes(bytes));
      for (const [past, future] of [[1, 1], [0, 0], [2, 1], [1, 3]]) {
        for (let offset = -5; offset <= 5; offset++) {
          for (const digits of [6, 8]) {
            const epoch = at + offset * 30_000;
            const code = authenticator.clone({ digits, step: 30, epoch }).generate(secret);
            const expected = authenticator.clone({ digits, step: 30, window: [past, future], epoch: at }).checkDelta(code, secret);
            expect(totpDelta(secret, code, { nowMs: at, step: 30, digits, past, future })).toBe(expected);
          }
        }
      }
    }
  });

  it('refuses a code of the wrong length or from outside the window', () => {
    const secret = authenticator.generateSecret(20);
    const code = authenticator.clone({ digits: 6, step: 30, epoch: at }).generate(secret);
    expect(totpDelta(secret, code, { nowMs: at, step: 30, digits: 6, past: 1, future: 1 })).toBe(0);
    expect(totpDelta(secret, `0${code}`, { nowMs: at, step: 30, digits: 6, past: 1, future: 1 })).toBeNull();
    expect(totpDelta(secret, code, { nowMs: at + 60_000, step: 30, digits: 6, past: 1, future: 1 })).toBeNull();
    expect(totpDelta(secret, code, { nowMs: at + 60_000, step: 60, digits: 6, past: 1, future: 1 })).toBeNull();
  });
});

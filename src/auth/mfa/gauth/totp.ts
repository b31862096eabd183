import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The TOTP check of a code POST (RFC 6238 over RFC 4226's HOTP, HMAC-SHA-1), on node:crypto
 * directly. It computes what otplib's `authenticator.checkDelta` computes (the enrolment still
 * uses otplib for the secret and the tests for codes; totp.spec.ts holds the two together), for
 * a tenth of its CPU: otplib decodes the base32 secret through thirty-two, whose deprecated
 * `new Buffer()` makes Node capture a stack trace at each of a process's first 10,000 calls, then
 * goes through hex strings for the key, the counter and each digest.
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32_VALUES = new Map([...BASE32].map((c, i) => [c, i]));
/** HMAC-SHA-1's output; otplib pads a shorter key to it, see hmacKey. */
const SHA1_KEY_BYTES = 20;

/** RFC 4648 base32 (padding and what follows it ignored, as thirty-two does); a character outside the alphabet throws. */
export function base32Decode(encoded: string): Buffer {
  const out = Buffer.alloc(Math.ceil((encoded.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const c of encoded.toUpperCase()) {
    if (c === '=') break;
    const v = BASE32_VALUES.get(c);
    if (v === undefined) throw new Error('the secret is not base32');
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/**
 * otplib's HMAC key for SHA-1 (its totpPadSecret): a secret whose hex form is shorter than 20
 * characters (under 10 bytes) is repeated 20 − that length times, cut to 20 bytes; any other is
 * used as it is. The product's secrets are 20 bytes; kept so that any secret gives the codes it
 * gave before.
 */
function hmacKey(secret: Buffer): Buffer {
  const hexLength = secret.length * 2;
  if (hexLength >= SHA1_KEY_BYTES) return secret;
  return Buffer.concat(Array.from({ length: SHA1_KEY_BYTES - hexLength }, () => secret)).subarray(0, SHA1_KEY_BYTES);
}

/** RFC 4226 §5.3: the code of one counter value, `digits` long with leading zeros. */
function hotp(key: Buffer, counter: number, digits: number): string {
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 0x100000000), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const digest = createHmac('sha1', key).update(message).digest();
  const offset = digest[digest.length - 1] & 0xf;
  const binary = ((digest[offset] & 0x7f) << 24) | (digest[offset + 1] << 16) | (digest[offset + 2] << 8) | digest[offset + 3];
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export interface TotpWindow {
  /** The time of the check, ms since the epoch. */
  nowMs: number;
  /** The time step, seconds. */
  step: number;
  digits: number;
  /** Steps accepted before and after the current one. */
  past: number;
  future: number;
}

/**
 * The step of `token` relative to the current one (0, -1 … -past, 1 … future, tried in that
 * order, as otplib's checkDelta), or null when no step of the window gives it. `token` is the
 * code as typed, already checked to be `digits` decimal digits; `secret` the base32 secret.
 */
export function totpDelta(secret: string, token: string, w: TotpWindow): number | null {
  const key = hmacKey(base32Decode(secret));
  const counter = Math.floor(w.nowMs / w.step / 1000);
  const given = Buffer.from(token);
  const deltas = [0];
  for (let i = 1; i <= w.past; i++) deltas.push(-i);
  for (let i = 1; i <= w.future; i++) deltas.push(i);
  for (const delta of deltas) {
    const code = Buffer.from(hotp(key, counter + delta, w.digits));
    if (code.length === given.length && timingSafeEqual(code, given)) return delta;
  }
  return null;
}

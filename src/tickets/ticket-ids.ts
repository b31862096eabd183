import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// 248 = 4 × 62: bytes at or above it are dropped so every character is equally likely.
const UNBIASED_LIMIT = 248;

/**
 * `length` characters of [A-Za-z0-9] from the CSPRNG, no counter, time or node id (CAS protocol
 * §3.7 allows only A-Z a-z 0-9 and `-`; mod_auth_cas drops tickets with `_`). 32 characters
 * carry 190 bits.
 */
export function randomToken(length = 32): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length + 8)) {
      if (b < UNBIASED_LIMIT) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export type TicketType = 'TGT' | 'ST' | 'PGT' | 'PT';

/** Random-part lengths: ST/PT stay short for URLs (35 chars in all), TGT/PGT longer. */
const RANDOM_LENGTH: Record<TicketType, number> = { TGT: 48, ST: 32, PGT: 48, PT: 32 };

export function newTicketId(type: TicketType): string {
  return `${type}-${randomToken(RANDOM_LENGTH[type])}`;
}

/**
 * The PGT IOU handed to the proxy callback beside the PGT and put in the validation response in
 * its place (spec 2.5.4): independent random data, so it reveals nothing of the PGT. Never stored.
 */
export function newProxyGrantingTicketIou(): string {
  return `PGTIOU-${randomToken(48)}`;
}

/**
 * The syntactic check done before any database query: a known prefix, then only the spec's
 * alphabet, 32..256 characters in all. Anything else cannot be a ticket we issued.
 */
const TICKET_FORMAT = /^(TGT|ST|PGT|PT)-[A-Za-z0-9-]{20,251}$/;

export function parseTicketId(value: string): TicketType | null {
  if (value.length < 24 || value.length > 256) return null;
  const m = TICKET_FORMAT.exec(value);
  return m ? (m[1] as TicketType) : null;
}

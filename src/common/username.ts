import { createHash } from 'node:crypto';

/**
 * The canonical form of a username: the one key every comparison of usernames uses (account
 * lookup and uniqueness, throttle counters, device cookies, sessions, admin queries). Two
 * spellings name one account exactly when their keys are equal; the key is never shown (the
 * principal CAS asserts is the account's own spelling).
 *
 * It is Unicode NFKC followed by full case folding (CaseFolding.txt statuses C and F, not the
 * Turkic T), then NFKC again. JavaScript has no casefold(), so each code point of the NFKC form
 * is mapped through toLowerCase(), toUpperCase(), toLowerCase() (the locale-independent full
 * mappings of SpecialCasing.txt), except U+0131 (dotless ı, which case folding leaves alone but
 * whose upper case is I). One code point at a time, so Greek final sigma gets no context: ς and
 * σ both give σ. Examples: ALICE → alice, ß and ẞ → ss, ΟΔΟΣ and οδος → οδοσ, K (Kelvin sign)
 * → k, ﬁ → fi, Ⅻ → xii, full-width ａ → a; İ (U+0130) → i̇ (i + U+0307), so `alİce` is another
 * account than `alice`, and ı stays ı.
 *
 * Checked against Python's str.casefold() (Unicode 14) for every assigned code point and for
 * random strings of cased, combining and compatibility characters: equal keys exactly when the
 * folded forms are equal. The key itself can differ where folding picks the upper case as its
 * representative (Cherokee: ꭰ and Ꭰ both give ꭰ here, Ꭰ in CaseFolding.txt); only equality
 * matters. The mappings come from the ICU data built into Node, so the key of a name made of
 * characters that a later Unicode version assigns could change: UsersService refuses unassigned
 * code points in new usernames.
 */
export function usernameKey(username: string): string {
  let folded = '';
  for (const ch of username.normalize('NFKC')) {
    folded += ch === '\u0131' ? ch : ch.toLowerCase().toUpperCase().toLowerCase();
  }
  return folded.normalize('NFKC');
}

/**
 * The username's key as a SHA-256 digest (base64url, 43 characters): for places that must not
 * hold the name in clear (a cookie) or need a bounded length (throttle counters: NFKC can make a
 * 256-character name 18 times longer).
 */
export function usernameDigest(username: string): string {
  return createHash('sha256').update(usernameKey(username), 'utf8').digest('base64url');
}

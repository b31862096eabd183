import { usernameDigest, usernameKey } from './username';

describe('usernameKey (NFKC + full case folding)', () => {
  // Expected keys from CaseFolding.txt (statuses C and F) after NFKC.
  it.each([
    ['ALICE', 'alice'],
    ['Alice', 'alice'],
    ['ß', 'ss'], // 00DF; F; 0073 0073
    ['ẞ', 'ss'], // 1E9E; F; 0073 0073 (upper then lower alone would give ß)
    ['Straße', 'strasse'],
    ['İ', 'i\u0307'], // 0130; F; 0069 0307
    ['alİce', 'ali\u0307ce'],
    ['ı', 'ı'], // U+0131 has no C/F folding (only the Turkic T one, not used)
    ['ς', 'σ'], // 03C2; C; 03C3
    ['ΟΔΟΣ', 'οδοσ'],
    ['οδος', 'οδοσ'],
    ['οδοσ', 'οδοσ'],
    ['\u212a', 'k'], // KELVIN SIGN
    ['ﬁ', 'fi'], // FB01; F; 0066 0069
    ['Ⅻ', 'xii'], // compatibility: ROMAN NUMERAL TWELVE
    ['ＡＬＩＣＥ', 'alice'], // full-width
    ['\u0345', 'ι'], // 0345; C; 03B9 COMBINING GREEK YPOGEGRAMMENI
    ['ΐ', 'ΐ'.normalize('NFKC')], // 0390; F; 03B9 0308 0301, recomposed by NFKC
    ['e\u0301', 'é'], // decomposed and precomposed spellings are one
    ['ǅ', 'd\u017e'], // titlecase digraph: NFKC gives D + ž
    ['𐐀', '𐐨'], // supplementary plane (Deseret)
  ])('%s → %s', (name, key) => {
    expect(usernameKey(name)).toBe(key);
  });

  it('spellings that fold equal have one key; İ and ı are other letters than i', () => {
    expect(new Set(['ALICE', 'alice', 'Alice', 'ＡＬＩＣＥ'].map(usernameKey)).size).toBe(1);
    expect(new Set(['ΟΔΟΣ', 'οδος', 'οδοσ', 'ΟΔΟς'].map(usernameKey)).size).toBe(1);
    expect(usernameKey('alİce')).not.toBe(usernameKey('alice'));
    expect(usernameKey('alıce')).not.toBe(usernameKey('alice'));
  });

  it('is idempotent: a key is its own key', () => {
    for (const name of ['ALICE', 'Straße', 'alİce', 'ΟΔΟΣ', 'ﬁ\u212a', 'Ⅻ', 'ꭰᏸ']) {
      expect(usernameKey(usernameKey(name))).toBe(usernameKey(name));
    }
  });

  it('the digest is the key hashed: equal for spellings that fold equal, 43 characters', () => {
    expect(usernameDigest('ALICE')).toBe(usernameDigest('alice'));
    expect(usernameDigest('alİce')).not.toBe(usernameDigest('alice'));
    expect(usernameDigest('ﷺ'.repeat(256))).toHaveLength(43);
  });
});

import { mergeAttributes } from './attribute-merger';

const handler = { mail: ['a@example.org'], memberOf: ['staff'], cn: ['Alice'] };
const repository = { mail: ['alice@example.org'], memberOf: ['staff', 'library'], eduPersonAffiliation: ['member'] };

describe('mergeAttributes (cas.authn.attribute-repository.core.merger)', () => {
  it("REPLACE: the repository's values win for the attributes it has; the others stay", () => {
    expect(mergeAttributes('REPLACE', handler, repository)).toEqual({
      mail: ['alice@example.org'],
      memberOf: ['staff', 'library'],
      cn: ['Alice'],
      eduPersonAffiliation: ['member'],
    });
  });

  it('ADD: only attributes not there yet are added; existing values are kept as they were', () => {
    expect(mergeAttributes('ADD', handler, repository)).toEqual({
      mail: ['a@example.org'],
      memberOf: ['staff'],
      cn: ['Alice'],
      eduPersonAffiliation: ['member'],
    });
  });

  it('MULTIVALUED: the values are united, each once, existing ones first', () => {
    expect(mergeAttributes('MULTIVALUED', handler, repository)).toEqual({
      mail: ['a@example.org', 'alice@example.org'],
      memberOf: ['staff', 'library'],
      cn: ['Alice'],
      eduPersonAffiliation: ['member'],
    });
  });

  it('changes neither argument, and an attribute named like an Object member is an attribute like any other', () => {
    const current = { mail: ['a'] };
    // As a JSON row or a directory entry could name them: own properties, not the prototype.
    const incoming = JSON.parse('{"__proto__": ["d"], "constructor": ["c"], "mail": ["b"]}') as Record<string, string[]>;
    for (const merger of ['REPLACE', 'ADD', 'MULTIVALUED'] as const) {
      const merged = mergeAttributes(merger, current, incoming);
      expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value).toEqual(['d']);
      expect(merged.constructor).toEqual(['c']);
      expect(Object.keys(merged).sort()).toEqual(['__proto__', 'constructor', 'mail']);
    }
    expect(current).toEqual({ mail: ['a'] });
    expect(incoming.mail).toEqual(['b']);
  });
});

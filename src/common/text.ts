/**
 * C0 control characters and DEL: never part of a username, a search text or an identifier. NUL
 * above all: Postgres cannot store it in text and answers an error (22021), so a value with it
 * must be refused before it reaches a query, or the request fails with a 500.
 */
const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/** Whether `value` holds a NUL, which no text column can store (a multi-line field may hold other controls). */
export function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

/**
 * Where a NUL sits in a parsed value (a query object, a JSON body): the path of the first string,
 * key or array item holding one ('name', 'accessStrategy.requiredAttributes.role[0]'), or null.
 */
export function nulPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return hasNul(value) ? path || 'value' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      if (hasNul(k)) return at;
      const found = nulPath(v, at);
      if (found) return found;
    }
  }
  return null;
}

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

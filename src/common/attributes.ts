/** A principal's attributes: each name has a list of values (CAS's multi-valued attributes). */
export type Attributes = Record<string, string[]>;

/**
 * Postgres text and jsonb cannot hold U+0000, so it is removed from attribute names and values
 * before they are stored (XML output drops it anyway, see common/xml.ts).
 */
export function storableAttributes(attributes: Attributes): Attributes {
  const clean = (s: string) => s.replace(/\u0000/g, '');
  return Object.fromEntries(Object.entries(attributes).map(([name, values]) => [clean(name), values.map(clean)]));
}

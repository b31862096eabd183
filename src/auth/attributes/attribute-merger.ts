import type { Attributes } from '../../common/attributes';
import type { AttributeMerger } from '../../config/attribute-repository-config';

/**
 * `incoming` (a repository's attributes) put onto `current` (what the handler and the earlier
 * repositories gave) the way CAS's `cas.authn.attribute-repository.core.merger` does:
 * - REPLACE: an attribute the repository has takes its values, whatever was there;
 * - ADD: only attributes not there yet are taken, existing ones keep their values;
 * - MULTIVALUED: the values of both, each once, the existing ones first.
 * Attributes only one side has are kept in every mode. Neither argument is changed.
 */
export function mergeAttributes(merger: AttributeMerger, current: Attributes, incoming: Attributes): Attributes {
  const merged: Attributes = { ...current };
  for (const [name, values] of Object.entries(incoming)) {
    const existing = Object.prototype.hasOwnProperty.call(merged, name) ? merged[name] : undefined;
    if (existing === undefined || merger === 'REPLACE') set(merged, name, [...values]);
    else if (merger === 'MULTIVALUED') set(merged, name, [...new Set([...existing, ...values])]);
  }
  return merged;
}

/** An own property even for `__proto__` (a plain assignment would set the prototype instead). */
function set(attributes: Attributes, name: string, values: string[]): void {
  Object.defineProperty(attributes, name, { value: values, enumerable: true, writable: true, configurable: true });
}

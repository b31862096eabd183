import type { Attributes } from '../common/attributes';
import type { AccessRules } from './registered-service';

/** Whether the rules look at attributes at all (the SSO path reads the session only then). */
export function hasAttributeRules(rules: AccessRules): boolean {
  return Object.keys(rules.requiredAttributes).length > 0 || Object.keys(rules.rejectedAttributes).length > 0;
}

/**
 * DefaultRegisteredServiceAccessStrategy's attribute rules. Rejected first: a principal value in
 * which any rejected pattern is found denies access (CAS's regex find, for any one rejected
 * attribute — stricter than CAS, which with requireAllAttributes needs every rejected attribute
 * to match). Then required: for each required attribute, one of the principal's values must fully
 * match one of the patterns; all attributes (requireAll) or any.
 */
export function attributesAllowed(rules: AccessRules, attributes: Attributes): boolean {
  const flags = rules.caseInsensitive ? 'i' : '';
  for (const [name, patterns] of Object.entries(rules.rejectedAttributes)) {
    const compiled = patterns.map((p) => new RegExp(p, flags));
    if ((attributes[name] ?? []).some((value) => compiled.some((p) => p.test(value)))) return false;
  }
  const names = Object.keys(rules.requiredAttributes);
  if (names.length === 0) return true;
  const satisfied = (name: string) => {
    const patterns = rules.requiredAttributes[name].map((p) => new RegExp(`^(?:${p})$`, flags));
    return (attributes[name] ?? []).some((value) => patterns.some((p) => p.test(value)));
  };
  return rules.requireAll ? names.every(satisfied) : names.some(satisfied);
}

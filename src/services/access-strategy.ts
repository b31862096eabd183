import type { Attributes } from '../config/cas-config';
import type { AccessRules } from './registered-service';

/**
 * DefaultRegisteredServiceAccessStrategy's attribute rules: for each required attribute, one of
 * the principal's values must fully match one of the patterns; all attributes (requireAll) or any.
 */
export function attributesAllowed(rules: AccessRules, attributes: Attributes): boolean {
  const names = Object.keys(rules.requiredAttributes);
  if (names.length === 0) return true;
  const flags = rules.caseInsensitive ? 'i' : '';
  const satisfied = (name: string) => {
    const patterns = rules.requiredAttributes[name].map((p) => new RegExp(`^(?:${p})$`, flags));
    return (attributes[name] ?? []).some((value) => patterns.some((p) => p.test(value)));
  };
  return rules.requireAll ? names.every(satisfied) : names.some(satisfied);
}

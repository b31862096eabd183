import type { Attributes } from '../common/attributes';
import type { AttributeReleasePolicy } from './registered-service';

/** The principal attributes a service may see under its attribute release policy. */
export function releaseAttributes(policy: AttributeReleasePolicy, attributes: Attributes): Attributes {
  switch (policy.kind) {
    case 'all':
      return attributes;
    case 'none':
      return {};
    case 'allowed':
      return Object.fromEntries(policy.names.filter((n) => n in attributes).map((n) => [n, attributes[n]]));
  }
}

import {
  AndFilter,
  ApproximateFilter,
  DN,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  FilterParser,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  SubstringFilter,
} from 'ldapts';

// The name typed never becomes LDAP syntax. A search filter is parsed once from the configured
// template (ldapts's FilterParser) and the name is put into the parsed filter's assertion values,
// which go on the wire as BER octet strings: `*`, `(`, `)`, `\` and NUL in a name are characters
// of the value, never wildcards or parentheses (RFC 4515 has no say, no string is built). A DN is
// a string, so the name is escaped as an RDN value (RFC 4514) by ldapts's DN, as ldaptive's
// FormatDnResolver does for CAS.

/** CAS's placeholders for the name in `search-filter`: `{user}`, or `{0}` (ldaptive's FilterTemplate). */
const PLACEHOLDER = /\{user\}|\{0\}/g;

/** A `search-filter` template, parsed: `filterFor(name)` gives the filter for one name. */
export class FilterTemplate {
  private readonly parsed: Filter;

  /** Throws when the template is not a filter ldapts can parse (checked at boot). */
  constructor(readonly template: string) {
    this.parsed = FilterParser.parseString(template);
  }

  filterFor(username: string): Filter {
    return substitute(this.parsed, username);
  }
}

function fill(value: string, username: string): string {
  return value.replace(PLACEHOLDER, () => username);
}

/** A copy of `filter` with the placeholder replaced by `username` in every assertion value. */
function substitute(filter: Filter, username: string): Filter {
  if (filter instanceof AndFilter) return new AndFilter({ filters: filter.filters.map((f) => substitute(f, username)) });
  if (filter instanceof OrFilter) return new OrFilter({ filters: filter.filters.map((f) => substitute(f, username)) });
  if (filter instanceof NotFilter) return new NotFilter({ filter: substitute(filter.filter, username) });
  if (filter instanceof EqualityFilter) return new EqualityFilter({ attribute: filter.attribute, value: fill(String(filter.value), username) });
  if (filter instanceof SubstringFilter) {
    return new SubstringFilter({
      attribute: filter.attribute,
      initial: fill(filter.initial, username),
      any: filter.any.map((a) => fill(a, username)),
      final: fill(filter.final, username),
    });
  }
  if (filter instanceof GreaterThanEqualsFilter) return new GreaterThanEqualsFilter({ attribute: filter.attribute, value: fill(String(filter.value), username) });
  if (filter instanceof LessThanEqualsFilter) return new LessThanEqualsFilter({ attribute: filter.attribute, value: fill(String(filter.value), username) });
  if (filter instanceof ApproximateFilter) return new ApproximateFilter({ attribute: filter.attribute, value: fill(String(filter.value), username) });
  if (filter instanceof ExtensibleFilter) {
    return new ExtensibleFilter({ matchType: filter.matchType, rule: filter.rule, dnAttributes: filter.dnAttributes, value: fill(String(filter.value), username) });
  }
  // PresenceFilter: no value to fill.
  return filter;
}

/**
 * `dn-format` with the name in place of `%s`, escaped as an RDN value (RFC 4514, ldapts's DN):
 * `,`, `+`, `=`, `"`, `\`, `<`, `>`, `;`, `#` and edge spaces cannot end the value or add an
 * RDN. Also for `%s@example.org` (a userPrincipalName, which AD would take for a DN if it held
 * `=` and `,`). Undefined for a name with a control character: ldapts leaves NUL unescaped, and no
 * directory entry is named with one.
 */
export function formatDn(format: string, username: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(username)) return undefined;
  const rdn = new DN().addPairRDN('x', username).toString();
  return format.replace('%s', () => rdn.slice('x='.length));
}

import escapeHtml from 'escape-html';

/**
 * HTML that is already safe to emit: the output of the `html` template or a constant of the code
 * (`raw`). Anything else interpolated into `html` is escaped, so a value from a user, a request or
 * the database cannot open a tag or an attribute.
 */
export class Html {
  constructor(private readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

type Interpolated = Html | string | number | boolean | null | undefined | readonly Interpolated[];

/**
 * The console's template tag: `html\`<td>${row.principal}</td>\`` escapes the principal. Arrays are
 * joined (each item escaped unless it is Html); null, undefined and false render nothing, so
 * `${cond && html\`...\`}` reads naturally.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** A constant of the code as HTML, e.g. a fixed icon. Never for a value that came from outside. */
export function raw(trustedConstant: string): Html {
  return new Html(trustedConstant);
}

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

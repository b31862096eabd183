// Printable ASCII only: anything else could not be a safe Location header anyway (T2).
const HEADER_SAFE_URL = /^[\x21-\x7e]{1,4096}$/;

/**
 * Whether a service URL can be used at all: one the browser may be sent to (a Location header,
 * a form action, an image) and that every later step can parse. Checked once, before the
 * registry and before any ticket, on every path that hands a service a ticket or sends the
 * browser to it: a registry pattern as loose as `^https://.*` also matches strings such as
 * `https://[x]/` that are no URL at all.
 */
export function isUsableServiceUrl(service: string): boolean {
  if (!HEADER_SAFE_URL.test(service)) return false;
  let url: URL;
  try {
    url = new URL(service);
  } catch {
    return false;
  }
  return url.protocol === 'https:' || url.protocol === 'http:';
}

/** The origin of a URL, or null when it does not parse (e.g. a logout URL from an old definition). */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

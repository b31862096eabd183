/**
 * Whether the `service` given at validation is the one the ticket was issued for (CAS 6.1+
 * DefaultServiceMatchingStrategy): both URL-decoded, fragments removed, compared ignoring case.
 * A trailing slash or a different host is a different service.
 */
export function sameService(issuedFor: string, presented: string): boolean {
  return normalize(issuedFor) === normalize(presented);
}

function normalize(url: string): string {
  let decoded = url;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    // malformed percent-encoding: compare as given
  }
  const hash = decoded.indexOf('#');
  return (hash >= 0 ? decoded.slice(0, hash) : decoded).toLowerCase();
}

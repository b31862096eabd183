/**
 * Requests this server sends itself (back-channel single logout, proxy callbacks) go to URLs that
 * come from the service registry, and a registry entry may name this very server. Two defences
 * keep such a request from ever being an admin request: every one carries OUTBOUND_HEADER, which
 * the admin guard refuses whoever the sender claims to be (it survives any relay that forwards
 * headers, e.g. a proxy on another port), and none is sent at all to a URL under the admin API's
 * path (isAdminApiUrl), on any host, since the server cannot know every name it answers to.
 */
export const OUTBOUND_HEADER = 'x-cas-outbound';

/** The headers every outbound request carries. */
export const OUTBOUND_HEADERS: Readonly<Record<string, string>> = { [OUTBOUND_HEADER]: '1', 'user-agent': 'cas-server (outbound)' };

/**
 * Whether a URL points under `<contextPath>/actuator`, the path read as leniently as any router
 * might: percent-decoded, repeated slashes collapsed, case folded. Any host: the server may be
 * reached as localhost, 127.0.0.1, its LAN address or its public name.
 */
export function isAdminApiUrl(url: URL, contextPath: string): boolean {
  return lenientPath(url.pathname).startsWith(`${contextPath.toLowerCase()}/actuator`);
}

/** A path as the most lenient router would match it (for deciding, never for display). */
export function lenientPath(path: string): string {
  let decoded = path;
  // Decoded until stable, so %2561 (an encoded %61) counts as well.
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (next === decoded) break;
    decoded = next;
  }
  return decoded.replace(/[/\\]+/g, '/').toLowerCase();
}

/**
 * A minimal browser over fetch, for clients outside the process (the interop tests): one cookie
 * jar per host:port (the CAS server and the apps listen on different ports of 127.0.0.1; keeping
 * them apart is enough here), redirects by hand so each hop can be asserted.
 */
export class FetchBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const jar = this.jar(new URL(url).host);
    const headers = new Headers(init.headers);
    if (!headers.has('user-agent')) headers.set('user-agent', 'interop-browser/1.0');
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value === '' || attrs.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  get(url: string): Promise<Response> {
    return this.fetch(url);
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Follows redirects (GET) until a non-redirect answer; returns it and the URLs visited. */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; visited: string[] }> {
    const visited: string[] = [];
    let res = await this.fetch(url, init);
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, url).toString();
      visited.push(next);
      url = next;
      res = await this.fetch(next);
    }
    return { res, visited };
  }

  cookie(hostOrUrl: string, name: string): string | undefined {
    return this.jars.get(hostOf(hostOrUrl))?.get(name);
  }

  /** The same browser with another application session: only the cookies of `host` are kept. */
  withCookiesOf(hostOrUrl: string): FetchBrowser {
    const other = new FetchBrowser();
    const host = hostOf(hostOrUrl);
    other.jars.set(host, new Map(this.jar(host)));
    return other;
  }

  private jar(host: string): Map<string, string> {
    const jar = this.jars.get(host) ?? new Map<string, string>();
    this.jars.set(host, jar);
    return jar;
  }
}

function hostOf(hostOrUrl: string): string {
  return hostOrUrl.includes('://') ? new URL(hostOrUrl).host : hostOrUrl;
}

/** Where a 302 sends the browser (throws on anything else, so a wrong status reads plainly). */
export function locationOf(res: Response): URL {
  const loc = res.headers.get('location');
  if (res.status !== 302 || !loc) throw new Error(`expected a 302 redirect, got ${res.status}`);
  return new URL(loc, res.url);
}

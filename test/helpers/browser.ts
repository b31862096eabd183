import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, Response } from 'light-my-request';

export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Parses Set-Cookie headers of a response, attributes keyed in lower case. */
export function setCookies(res: Response): SetCookie[] {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((line) => {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const a of attrs) {
      const i = a.indexOf('=');
      if (i < 0) attributes[a.toLowerCase()] = true;
      else attributes[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  });
}

/**
 * A browser over Fastify inject: keeps cookies like a user agent would (Max-Age=0 deletes),
 * and knows how to fill in the login form.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(
    private readonly app: NestFastifyApplication,
    readonly headers: Record<string, string> = { 'user-agent': 'jest-browser/1.0' },
  ) {}

  async request(opts: InjectOptions): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await this.app.inject({
      ...opts,
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...(opts.headers ?? {}) },
    });
    for (const c of setCookies(res)) {
      if (c.attributes['max-age'] === '0' || c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  get(url: string): Promise<Response> {
    return this.request({ method: 'GET', url });
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
  }

  /** GET the login form for a service, then POST credentials with its execution token. */
  async login(username: string, password: string, service?: string, extra: Record<string, string> = {}): Promise<Response> {
    const form = await this.get(`/cas/login${service ? `?service=${encodeURIComponent(service)}` : ''}`);
    const execution = executionOf(form.body);
    return this.post('/cas/login', { username, password, execution, _eventId: 'submit', ...extra });
  }

  /** One login attempt (form for `service`, then POST) made from the client address `ip`. */
  async loginFrom(ip: string, username: string, password: string, service: string): Promise<Response> {
    const form = await this.request({ method: 'GET', url: `/cas/login?service=${encodeURIComponent(service)}`, remoteAddress: ip });
    return this.request({
      method: 'POST',
      url: '/cas/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username, password, execution: executionOf(form.body) }).toString(),
    });
  }
}

export function executionOf(html: string): string {
  const m = /name="execution" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no execution token in page: ${html.slice(0, 200)}`);
  return m[1];
}

/** The `ticket` query parameter of a redirect. */
export function ticketOf(res: Response): string {
  const loc = res.headers.location;
  if (typeof loc !== 'string') throw new Error(`expected a redirect, got ${res.statusCode}`);
  const t = new URL(loc).searchParams.get('ticket');
  if (!t) throw new Error(`no ticket in ${loc}`);
  return t;
}

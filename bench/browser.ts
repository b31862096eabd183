/** A browser's side of the login, over fetch: what the SSO and login steps pre-issue before they measure. */
import type autocannon from 'autocannon';
import { UA } from './settings';

function cookiesOf(res: Response): string[] {
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !c.endsWith('='));
}

/** GET the login form as a browser: its cookies (CASLOGIN) and the single-use execution token. */
export async function loginForm(base: string, service: string): Promise<{ cookie: string; execution: string }> {
  const res = await fetch(`${base}/cas/login?service=${encodeURIComponent(service)}`, { headers: { 'user-agent': UA } });
  const html = await res.text();
  const execution = /name="execution" value="([^"]+)"/.exec(html)?.[1];
  if (!execution) throw new Error(`no execution token (HTTP ${res.status})`);
  return { cookie: cookiesOf(res).join('; '), execution };
}

/** A real browser login (form + POST); returns the TGC cookie pair. */
export async function browserLogin(base: string, service: string): Promise<string> {
  const f = await loginForm(base, service);
  const res = await fetch(`${base}/cas/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie, 'user-agent': UA },
    body: new URLSearchParams({ username: 'casuser', password: 'Mellon', execution: f.execution, _eventId: 'submit' }).toString(),
  });
  await res.arrayBuffer();
  const tgc = cookiesOf(res).find((c) => c.startsWith('TGC='));
  if (res.status !== 302 || !tgc) throw new Error(`login failed: HTTP ${res.status}`);
  return tgc;
}

/**
 * The autocannon request of a measured password login: POST /cas/login, each request with the next
 * pre-issued form (its cookies and single-use execution token) and the credentials `body()` gives.
 * `used()` tells how many forms were taken: more than there are means reused tokens (failures).
 */
export function formPosts(forms: { cookie: string; execution: string }[], body: () => string): { request: autocannon.Request; used: () => number } {
  let next = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/cas/login',
    setupRequest: (r) => {
      const f = forms[next++ % forms.length];
      return {
        ...r,
        headers: { ...r.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
        body: `${body()}&execution=${encodeURIComponent(f.execution)}&_eventId=submit`,
      };
    },
  };
  return { request, used: () => next };
}

/** fn(0) … fn(n - 1), at most `concurrency` at a time, results in order. */
export async function parallel<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

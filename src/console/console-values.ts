import type { FastifyReply } from 'fastify';
import { hasNul } from '../common/text';

/**
 * One text value of a submitted form or a query string: undefined when absent, null when it came
 * more than once, is not text or holds a NUL (a hand-made request; a page's own forms send each
 * name once, and no text column can store a NUL).
 */
export function textValue(source: unknown, name: string): string | null | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const v = (source as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' && !hasNul(v) ? v : null;
}

/** A console path with its query (empty values left out), for links and redirects. */
export function consoleHref(path: string, query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** POST/redirect/GET: the answer to a form that did its work. */
export function seeOther(reply: FastifyReply, location: string): void {
  void reply.status(303).header('cache-control', 'no-store').header('location', location).send();
}

/** An instant as the console shows it: UTC, to the second. */
export function utc(d: Date | string): string {
  return `${new Date(d).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

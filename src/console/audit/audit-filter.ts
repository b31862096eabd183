import type { AuditFilter } from '../../admin/audit-log';
import { textValue } from '../console-values';

/** The audit page's form as typed (shown again as typed), and what it asks AuditLog for. */
export interface AuditForm {
  actor: string;
  method: string;
  status: string;
  target: string;
  match: 'contains' | 'prefix';
  from: string;
  to: string;
  request: string;
}

export const AUDIT_FIELDS = ['actor', 'method', 'status', 'target', 'match', 'from', 'to', 'request'] as const;
export const AUDIT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export type AuditFormErrors = Partial<Record<(typeof AUDIT_FIELDS)[number] | 'before', string>>;

export type ParsedAuditQuery =
  | { ok: true; form: AuditForm; filter: AuditFilter; before?: number }
  | { ok: false; form: AuditForm; errors: AuditFormErrors };

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Reads the audit page's query string: every field optional; a bad value is an error named by its
 * field (the page shows it beside the input, with 400), never a 500 or a silently dropped filter.
 * Dates are whole UTC days, `to` included.
 */
export function parseAuditQuery(query: unknown): ParsedAuditQuery {
  const errors: AuditFormErrors = {};
  const text = (name: (typeof AUDIT_FIELDS)[number] | 'before', max: number): string => {
    const v = textValue(query, name);
    if (v === null) {
      errors[name] = 'Give one value.';
      return '';
    }
    const s = (v ?? '').trim();
    if (s.length > max) errors[name] = `At most ${max} characters.`;
    return s;
  };
  const form: AuditForm = {
    actor: text('actor', 128),
    method: text('method', 16).toUpperCase(),
    status: text('status', 3),
    target: text('target', 2048),
    match: text('match', 8) === 'prefix' ? 'prefix' : 'contains',
    from: text('from', 10),
    to: text('to', 10),
    request: text('request', 128),
  };
  const beforeText = text('before', 20);
  const filter: AuditFilter = {};
  if (form.actor) filter.actor = form.actor;
  if (form.method) {
    if (AUDIT_METHODS.includes(form.method)) filter.action = form.method;
    else errors.method ??= `One of ${AUDIT_METHODS.join(', ')}.`;
  }
  if (form.status) {
    const exact = /^[1-5]\d\d$/.exec(form.status);
    const klass = /^([1-5])xx$/i.exec(form.status);
    if (exact) filter.status = { from: Number(form.status), to: Number(form.status) };
    else if (klass) filter.status = { from: Number(klass[1]) * 100, to: Number(klass[1]) * 100 + 99 };
    else errors.status ??= 'A status such as 403, or a class such as 4xx.';
  }
  if (form.target) filter.target = { text: form.target, match: form.match };
  const since = form.from ? day(form.from) : undefined;
  const until = form.to ? day(form.to) : undefined;
  if (since === null) errors.from ??= 'A date such as 2026-01-31.';
  else if (since) filter.since = since;
  if (until === null) errors.to ??= 'A date such as 2026-01-31.';
  else if (until) filter.until = new Date(until.getTime() + DAY_MS);
  if (since && until && until < since) errors.to ??= 'On or after the “from” date.';
  if (form.request) filter.requestId = form.request;
  let before: number | undefined;
  if (beforeText) {
    before = /^[1-9]\d{0,15}$/.test(beforeText) ? Number(beforeText) : undefined;
    if (before === undefined || !Number.isSafeInteger(before)) errors.before ??= 'Not a page of this log: start again from the newest entries.';
  }
  if (Object.keys(errors).length) return { ok: false, form, errors };
  return { ok: true, form, filter, before };
}

/** `YYYY-MM-DD` as the start of that UTC day; null when it is not a real date. */
function day(s: string): Date | null {
  const m = DATE.exec(s);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? d : null;
}

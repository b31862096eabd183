import { Get, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuditEntry, AuditLog } from '../../admin/audit-log';
import { ConsoleController } from '../console-auth';
import { type ConsoleViewer, consolePage, sendConsolePage, viewer } from '../console-page';
import { consoleHref, utc } from '../console-values';
import { html, Html } from '../html';
import { AUDIT_METHODS, type AuditForm, type AuditFormErrors, parseAuditQuery } from './audit-filter';

/** Entries per page (one more is read to know of a next page). */
const PAGE = 50;
/** A filter no index serves reads at most this many entries per page (AuditLog.searchWindow): 40 ms, not 400, on 1,000,000. */
const WINDOW = 100_000;

const STYLE = `.audit-filters{display:grid;grid-template-columns:minmax(0,1fr);gap:.75rem;align-items:start;background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem}
.audit-filters .field{margin:0;min-width:0}
.audit-filters .filter-actions{display:flex;gap:.75rem;align-items:center}
@media (min-width:60rem){.audit-filters{grid-template-columns:repeat(5,minmax(0,1fr))}.audit-filters .span-2{grid-column:span 2}.audit-filters .filter-actions{grid-column:1/-1}}
.audit-filters input,.audit-filters select{height:2.5rem}
.table td.target{overflow-wrap:anywhere;min-width:11rem}.method{font-weight:600;font-size:.8rem}
.table td.nowrap{white-space:nowrap}
.table td.when{min-width:6.5rem}
.rid{display:inline-block;max-width:9rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}`;

/**
 * `GET /admin/audit`: the admin_audit log (every /actuator request and every console request, by
 * token id), newest first, 50 a page, filtered by actor, method, status, target, date range and
 * request id. AuditLog.search runs it: only the given conditions, each a bind parameter; an actor
 * or a request id reads its index, the rest walk the primary key from the newest entry.
 */
@ApiExcludeController()
@ConsoleController('audit')
export class AuditPageController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  async page(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const parsed = parseAuditQuery(query);
    if (!parsed.ok) return this.send(reply, v, 400, body(v, parsed.form, parsed.errors, { entries: [], filtered: false, paged: false }));
    const found = await this.audit.searchWindow(parsed.filter, PAGE + 1, parsed.before, WINDOW);
    const entries = found.entries.slice(0, PAGE);
    const next = found.entries.length > PAGE ? entries[entries.length - 1].id : undefined;
    const filtered = Object.keys(parsed.filter).length > 0;
    this.send(reply, v, 200, body(v, parsed.form, {}, { entries, filtered, next, paged: parsed.before !== undefined, stoppedAt: found.stoppedAt }));
  }

  private send(reply: FastifyReply, v: ConsoleViewer, status: number, content: Html): void {
    sendConsolePage(reply, status, consolePage(v, { title: 'Audit log', section: 'audit', body: content, style: STYLE }));
  }
}

function statusBadge(status: number): Html {
  const kind = status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'ok';
  return html`<span class="badge ${kind}">${status}</span>`;
}

function field(id: keyof AuditForm, label: string, control: Html, errors: AuditFormErrors, wide = false): Html {
  const error = errors[id];
  return html`<div class="field${wide ? ' span-2' : ''}"><label for="${id}">${label}</label>${control}${error && html`<p class="error-text" id="${id}-error">${error}</p>`}</div>`;
}

function textInput(id: keyof AuditForm, value: string, errors: AuditFormErrors, type = 'text', extra?: Html): Html {
  const invalid = errors[id] ? html` aria-invalid="true" aria-describedby="${id}-error"` : '';
  return html`<input type="${type}" id="${id}" name="${id}" value="${value}" spellcheck="false"${invalid}${extra ?? ''}>`;
}

interface AuditResults {
  entries: AuditEntry[];
  filtered: boolean;
  /** Where the next page starts (entries older than this id). */
  next?: number;
  paged: boolean;
  /** The search window ended before a full page: where to go on from. */
  stoppedAt?: { id: number; at: string };
}

function body(v: ConsoleViewer, form: AuditForm, errors: AuditFormErrors, r: AuditResults): Html {
  const { entries, filtered, next, paged, stoppedAt } = r;
  const methodInvalid = errors.method ? html` aria-invalid="true" aria-describedby="method-error"` : '';
  const methods = html`<select id="method" name="method"${methodInvalid}><option value="">Any</option>${AUDIT_METHODS.map(
    (m) => html`<option${m === form.method ? html` selected` : ''}>${m}</option>`,
  )}${form.method && !AUDIT_METHODS.includes(form.method) ? html`<option selected value="${form.method}">${form.method}</option>` : ''}</select>`;
  const match = html`<select id="match" name="match"><option value="contains"${form.match === 'contains' ? html` selected` : ''}>contains</option><option value="prefix"${form.match === 'prefix' ? html` selected` : ''}>starts with</option></select>`;
  const rows = entries.map(
    (e) => html`<tr>
<td class="when"><time datetime="${e.at}">${utc(e.at).slice(0, 19)}</time></td>
<td class="target"><span class="method">${e.action}</span> <span class="mono">${e.target}</span></td>
<td>${statusBadge(e.status)}</td>
<td class="mono nowrap">${e.actor}</td>
<td class="mono nowrap">${e.clientIp}</td>
<td>${e.requestId ? html`<a class="mono rid" title="${e.requestId}" href="${consoleHref(`${v.base}/audit`, { request: e.requestId })}">${e.requestId}</a>` : html`<span class="muted">—</span>`}</td>
</tr>`,
  );
  const query = { actor: form.actor, method: form.method, status: form.status, target: form.target, match: form.target && form.match === 'prefix' ? 'prefix' : undefined, from: form.from, to: form.to, request: form.request };
  const hasErrors = Object.keys(errors).length > 0;
  const goOn =
    stoppedAt &&
    html`<p class="pager muted">Searched back to <time datetime="${stoppedAt.at}">${utc(stoppedAt.at)}</time>. <a href="${consoleHref(`${v.base}/audit`, { ...query, before: stoppedAt.id })}">Search older entries →</a></p>`;
  const empty = stoppedAt
    ? html`<p class="empty">No entry since <time datetime="${stoppedAt.at}">${utc(stoppedAt.at)}</time> matches these filters.</p>`
    : filtered
    ? html`<p class="empty">No entry matches these filters. Widen the dates or <a href="${v.base}/audit">clear the filters</a>.</p>`
    : paged
      ? html`<p class="empty">No older entries. <a href="${v.base}/audit">Back to the newest</a>.</p>`
      : html`<p class="empty">Nothing recorded yet: every request to the admin API and this console is listed here once made.</p>`;
  return html`<h1>Audit log</h1>
<p class="lead">Every request to the admin API and to this console, newest first: who (the admin token's id), what, and the answer. Times and dates are UTC.</p>
${hasErrors && html`<p class="notice error" role="alert">Some filters are not valid: see the messages under them.</p>`}
${errors.before && html`<p class="notice error" role="alert">${errors.before}</p>`}
<form class="audit-filters" method="get" action="${v.base}/audit" role="search">
${field('actor', 'Actor (token id)', textInput('actor', form.actor, errors, 'text', html` maxlength="128"`), errors)}
${field('method', 'Method', methods, errors)}
${field('status', 'Status', textInput('status', form.status, errors, 'text', html` maxlength="3" placeholder="403 or 4xx"`), errors)}
${field('request', 'Request id', textInput('request', form.request, errors, 'text', html` maxlength="128"`), errors, true)}
${field('target', 'Target', textInput('target', form.target, errors, 'text', html` maxlength="2048" placeholder="/admin/users"`), errors, true)}
${field('match', 'Target match', match, errors)}
${field('from', 'From day', textInput('from', form.from, errors, 'date'), errors)}
${field('to', 'To day (included)', textInput('to', form.to, errors, 'date'), errors)}
<div class="filter-actions"><button class="btn" type="submit">Filter</button><a href="${v.base}/audit">Clear the filters</a></div>
</form>${
  hasErrors
    ? ''
    : entries.length
      ? html`<div class="table-wrap"><table class="table" aria-label="Audit entries">
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Actor</th><th scope="col">Client IP</th><th scope="col">Request id</th></tr></thead>
<tbody>${rows}</tbody></table></div>
<p class="pager">${paged ? html`<a href="${consoleHref(`${v.base}/audit`, query)}">← Newest</a>` : ''}${next !== undefined ? html`<a href="${consoleHref(`${v.base}/audit`, { ...query, before: next })}">Older entries →</a>` : ''}</p>${goOn}`
      : html`${empty}${goOn}`
}`;
}

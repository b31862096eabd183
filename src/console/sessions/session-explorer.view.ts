import type { HistoryEntry } from '../../tickets/session-history';
import type { LogoutRequestStatus } from '../../tickets/logout/single-logout-outbox';
import type { LiveTicket, SessionSummary, UserAddresses } from '../../tickets/session-search';
import type { SessionDetail } from '../../tickets/ticket-rows';
import { type ConsoleViewer, csrfField } from '../console-page';
import { html, Html } from '../html';

/**
 * The Sessions pages' HTML (session-explorer.controller.ts decides what they show). No live ticket
 * id is ever written: sessions are named by their handle (tickets/session-handle.ts) and user, and
 * ticket ids by their first characters.
 */

/** The explorer's form fields, as given (strings; blank ones absent). */
export interface ExplorerQuery {
  username?: string;
  /** One user exactly (the canonical username), from a group's link or a session's page. */
  user?: string;
  ip?: string;
  since?: string;
  until?: string;
  service?: string;
  device?: string;
  rememberMe?: string;
  mfa?: string;
  group?: string;
}

export type FieldErrors = Partial<Record<keyof ExplorerQuery | 'after', string>>;

export const GROUPS: Record<string, string> = {
  user: 'User',
  ip: 'IP address',
  service: 'Service',
  device: 'Device',
  multipleIps: 'Users on several IPs',
};

/** The explorer's query string of these fields (blank ones left out), `extra` on top. */
export function explorerQuery(q: ExplorerQuery, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra })) if (v !== undefined && v !== '') params.set(k, v);
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function when(d: Date | string | null | undefined): Html {
  if (d === null || d === undefined) return html`<span class="muted">—</span>`;
  const at = typeof d === 'string' ? new Date(d) : d;
  const iso = at.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** A ticket id's first characters: its type and 8 random ones (the rest is the credential). */
export function shortId(id: string): string {
  return `${id.slice(0, id.indexOf('-') + 9)}…`;
}

function field(name: keyof ExplorerQuery, label: string, value: string | undefined, errors: FieldErrors, hint: string, placeholder = ''): Html {
  const error = errors[name];
  return html`<div class="field"><label for="f-${name}">${label}</label>
<input type="text" id="f-${name}" name="${name}" value="${value ?? ''}"${placeholder ? html` placeholder="${placeholder}"` : ''} spellcheck="false" autocomplete="off"
 aria-describedby="f-${name}-hint${error ? html` f-${name}-error` : ''}"${error ? html` aria-invalid="true"` : ''}>
<p class="hint" id="f-${name}-hint">${hint}</p>${error && html`<p class="error-text" id="f-${name}-error">${error}</p>`}</div>`;
}

function select(name: keyof ExplorerQuery, label: string, value: string | undefined, options: [string, string][], errors: FieldErrors): Html {
  const error = errors[name];
  return html`<div class="field"><label for="f-${name}">${label}</label>
<select id="f-${name}" name="${name}"${error ? html` aria-invalid="true" aria-describedby="f-${name}-error"` : ''}>${options.map(
    ([v, text]) => html`<option value="${v}"${(value ?? '') === v ? html` selected` : ''}>${text}</option>`,
  )}</select>${error && html`<p class="error-text" id="f-${name}-error">${error}</p>`}</div>`;
}

export function filterForm(v: ConsoleViewer, q: ExplorerQuery, errors: FieldErrors): Html {
  const only = q.user !== undefined;
  // The less used filters fold away (no script: <details>), open when one of them is given or refused.
  const more = (['since', 'until', 'device', 'rememberMe', 'mfa'] as const).some((k) => q[k] !== undefined || errors[k] !== undefined);
  return html`<form class="filters" method="get" action="${v.base}/sessions" role="search" aria-label="Find sessions">
${only ? html`<input type="hidden" name="user" value="${q.user}">` : field('username', 'User starts with', q.username, errors, 'Any case', 'ali')}
${field('ip', 'IP address or range', q.ip, errors, 'An address or CIDR', '10.0.0.0/8')}
${field('service', 'Service', q.service, errors, 'Its id or URL start', 'https://…')}
${select('group', 'Group by', q.group, [['', 'Nothing: list sessions'], ...Object.entries(GROUPS)], errors)}
<details class="more"${more ? html` open` : ''}><summary>More filters: dates, device, remember me, multi-factor</summary><div class="more-fields">
${field('since', 'Signed in since', q.since, errors, '2h, 7d or an ISO date', '24h')}
${field('until', 'Signed in before', q.until, errors, '2h, 7d or an ISO date', '2026-12-03')}
${field('device', 'Device', q.device, errors, 'A type, or as grouped', 'mobile')}
${select('rememberMe', 'Remember me', q.rememberMe, [['', 'Any'], ['true', 'Yes'], ['false', 'No']], errors)}
${field('mfa', 'Multi-factor', q.mfa, errors, 'true, false or a provider', 'true')}
</div></details>
<div class="field filter-submit"><button class="btn" type="submit">Search</button></div>
</form>
${only && html`<p class="only">Only the sessions of <strong>${q.user}</strong>. <a href="${v.base}/sessions${explorerQuery({ ...q, user: undefined })}">Show every user's</a></p>`}`;
}

/** The hidden fields that carry the explorer's filters through the end form and its confirmation. */
export function filterFields(q: ExplorerQuery, form?: string): Html[] {
  return (Object.entries(q) as [string, string | undefined][])
    .filter(([k, val]) => val !== undefined && val !== '' && k !== 'group')
    .map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}"${form ? html` form="${form}"` : ''}>`);
}

function origin(s: { clientIp: string | null; location: { country: string | null; city: string | null } | null }): Html {
  const place = s.location && [s.location.city, s.location.country].filter(Boolean).join(', ');
  return html`${s.clientIp ? html`<span class="mono ip">${s.clientIp}</span>` : html`<span class="muted">unknown</span>`}${place && html`<br><span class="muted">${place}</span>`}`;
}

function device(d: { browser: string | null; os: string | null; type: string | null }): Html {
  const parts = [d.browser, d.os].filter(Boolean).join(' on ');
  if (!parts && !d.type) return html`<span class="muted">unknown</span>`;
  return html`${parts}${d.type && html` <span class="badge">${d.type}</span>`}`;
}

function factorBadges(s: { factors: Record<string, Date>; rememberMe: boolean }): Html {
  const ids = Object.keys(s.factors);
  return html`${ids.map((id) => html`<span class="badge ok">${id}</span>`)}${s.rememberMe && html`<span class="badge">remember me</span>`}${!ids.length && !s.rememberMe && html`<span class="muted">password</span>`}`;
}

export interface ListedSession {
  s: SessionDetail;
  handle: string;
}

/** The list of matching sessions, with the end form (checkboxes and buttons point at it by id). */
export function sessionList(v: ConsoleViewer, q: ExplorerQuery, rows: ListedSession[], matching: { count: number; capped: boolean }, next: string | undefined, first: boolean): Html {
  const detail = (r: ListedSession) => `${v.base}/sessions/${r.handle}?user=${encodeURIComponent(r.s.principal)}`;
  const countText = matching.capped ? `More than ${matching.count.toLocaleString('en')} sessions match` : `${matching.count.toLocaleString('en')} ${matching.count === 1 ? 'session matches' : 'sessions match'}`;
  if (!rows.length) {
    if (first && !Object.keys(q).length) return html`<p class="empty">No one is signed in right now: sessions appear here as users sign in.</p>`;
    return html`<p class="empty">${first ? 'No live session matches these filters. Widen them (a shorter user prefix, an earlier date) or clear them to see every session.' : 'No more sessions: this was the last page.'}
<br><a href="${v.base}/sessions">Clear the filters</a></p>`;
  }
  const endForm = html`<form id="end" method="post" action="${v.base}/sessions/end">${csrfField(v)}${filterFields(q)}</form>`;
  const table = html`<div class="table-wrap"><table class="table">
<caption class="visually-hidden">Live sessions</caption>
<thead><tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">User</th><th scope="col">From</th><th scope="col">Device</th>
<th scope="col">Signed in</th><th scope="col">Last used</th><th scope="col" class="num">Services</th><th scope="col">Factors</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${rows.map(
    (r, i) => html`<tr>
<td><input type="checkbox" form="end" name="selected" value="${r.handle}:${r.s.principal}" id="sel-${i}" aria-label="Select ${r.s.principal}'s session signed in ${r.s.createdAt.toISOString().slice(0, 16).replace('T', ' ')}"></td>
<td class="user"><a href="${detail(r)}">${r.s.principal}</a></td>
<td>${origin(r.s.origin)}</td><td class="device">${device(r.s.origin.device)}</td>
<td>${when(r.s.createdAt)}</td><td>${when(r.s.lastUsedAt)}</td>
<td class="num">${new Set(r.s.services.map((x) => x.service)).size}</td>
<td>${factorBadges(r.s)}</td>
<td class="row-actions"><a class="btn btn-secondary btn-small" href="${detail(r)}" aria-label="Details of ${r.s.principal}'s session">Details</a>
<button class="btn btn-danger btn-small" type="submit" form="end" name="one" value="${r.handle}:${r.s.principal}" aria-label="End ${r.s.principal}'s session…">End</button></td>
</tr>`,
  )}</tbody></table></div>`;
  return html`${endForm}
<div class="list-head"><p class="count" role="status">${countText}</p>
<div class="actions"><button class="btn btn-secondary" type="submit" form="end" name="scope" value="selected">End selected sessions</button>
<button class="btn btn-danger" type="submit" form="end" name="scope" value="matching">End all matching sessions…</button>
${q.user !== undefined && html`<button class="btn btn-danger" type="submit" form="end" name="scope" value="user">End all of ${q.user}'s sessions…</button>`}</div></div>
${table}
<nav class="pager" aria-label="Pages">${!first && html`<a href="${v.base}/sessions${explorerQuery(q)}">First page</a>`}${next && html`<a class="btn btn-secondary" href="${v.base}/sessions${explorerQuery(q, { after: next })}">Next 50 sessions</a>`}</nav>`;
}

/** The summary: groups of the matching sessions, each linking to its sessions. */
export function groupTable(v: ConsoleViewer, q: ExplorerQuery, groupBy: string, summary: SessionSummary, names: Map<string, string | null>): Html {
  if (!summary.top.length) {
    return html`<p class="empty">${summary.sessions ? `None of the ${summary.sessions} matching sessions has a ${GROUPS[groupBy].toLowerCase()} recorded.` : 'No live session matches these filters.'} <a href="${v.base}/sessions">Clear the filters</a></p>`;
  }
  const link = (key: string) => {
    const by: Record<string, ExplorerQuery> = { user: { user: key, username: undefined }, ip: { ip: key }, service: { service: key }, device: { device: key } };
    return `${v.base}/sessions${explorerQuery({ ...q, group: undefined, ...by[groupBy] })}`;
  };
  const label = (g: SessionSummary['top'][number]) =>
    groupBy === 'service' ? html`${names.get(g.key) ?? html`<span class="muted">service ${g.key}</span>`} <span class="muted">#${g.key}</span>` : groupBy === 'user' ? (g.label ?? g.key) : g.key;
  return html`<p class="count" role="status">${summary.sessions.toLocaleString('en')} matching sessions in ${summary.groups.toLocaleString('en')} ${summary.groups === 1 ? 'group' : 'groups'}${summary.groups > summary.top.length ? html`; the ${summary.top.length} largest` : ''}.</p>
<div class="table-wrap"><table class="table"><thead><tr><th scope="col">${GROUPS[groupBy]}</th><th scope="col" class="num">Sessions</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${summary.top.map((g) => html`<tr><td class="wrap">${label(g)}</td><td class="num">${g.sessions.toLocaleString('en')}</td><td class="row-actions"><a href="${link(g.key)}">Show ${g.sessions === 1 ? 'the session' : `the ${g.sessions} sessions`}</a>${groupBy === 'user' && endUserButton(v, g.key, g.label ?? g.key)}</td></tr>`)}</tbody></table></div>`;
}

export function multipleIpsTable(v: ConsoleViewer, q: ExplorerQuery, m: { users: number; top: UserAddresses[] }): Html {
  if (!m.top.length) return html`<p class="empty">No user has live sessions from more than one IP address${Object.keys(q).length > 1 ? ' among the matching sessions' : ''}.</p>`;
  return html`<p class="count" role="status">${m.users.toLocaleString('en')} ${m.users === 1 ? 'user has' : 'users have'} live sessions from several IP addresses${m.users > m.top.length ? html`; the ${m.top.length} with the most` : ''}.</p>
<div class="table-wrap"><table class="table"><thead><tr><th scope="col">User</th><th scope="col" class="num">Sessions</th><th scope="col">IP addresses</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${m.top.map(
    (u) => html`<tr><td>${u.username}</td><td class="num">${u.sessions}</td><td class="wrap">${u.addresses.map((a) => html`<span class="badge mono">${a}</span>`)}</td>
<td class="row-actions"><a href="${v.base}/sessions${explorerQuery({ ...q, group: undefined, username: undefined, user: u.username })}">Show the sessions</a>${endUserButton(v, u.username, u.username)}</td></tr>`,
  )}</tbody></table></div>`;
}

/** "End all of <user>'s sessions…": to the confirmation, which counts them. */
function endUserButton(v: ConsoleViewer, user: string, name: string): Html {
  return html`<form class="inline" method="post" action="${v.base}/sessions/end">${csrfField(v)}<input type="hidden" name="user" value="${user}">
<button class="btn btn-secondary btn-small" type="submit" name="scope" value="user" aria-label="End all of ${name}'s sessions">End all…</button></form>`;
}

/** A live session's page. */
export function liveSessionBody(v: ConsoleViewer, handle: string, s: SessionDetail, tickets: LiveTicket[]): Html {
  const user = s.principal;
  const services = html`<h2>Services reached</h2>${
    s.services.length
      ? html`<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Service</th><th scope="col">Ticket</th><th scope="col">Issued</th><th scope="col">To IP</th></tr></thead>
<tbody>${s.services.map((x) => html`<tr><td class="wrap mono">${x.service}</td><td class="mono">${shortId(x.ticketId)}</td><td>${when(x.issuedAt)}</td><td class="mono">${x.clientIp ?? '—'}</td></tr>`)}</tbody></table></div>`
      : html`<p class="empty">This session has not been used to sign in to any application yet.</p>`
  }`;
  const live = html`<h2>Live tickets</h2>${
    tickets.length
      ? html`<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Ticket</th><th scope="col">Type</th><th scope="col">Service</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col" class="num">Uses</th></tr></thead>
<tbody>${tickets.map((x) => html`<tr><td class="mono">${x.idPrefix}…</td><td>${x.type}</td><td class="wrap mono">${x.service ?? '—'}</td><td>${when(x.createdAt)}</td><td>${when(x.expiresAt)}</td><td class="num">${x.useCount}</td></tr>`)}</tbody></table></div>
${tickets.length >= 50 && html`<p class="muted">The 50 oldest are shown.</p>`}`
      : html`<p class="empty">No service, proxy or proxy-granting ticket of this session is waiting to be used.</p>`
  }`;
  return html`<p class="crumbs"><a href="${v.base}/sessions">Sessions</a> › <a href="${v.base}/sessions?user=${encodeURIComponent(user)}">${user}</a></p>
<h1>${user}'s session <span class="badge ok">live</span></h1>
<p class="lead">Signed in ${when(s.createdAt)}, last used ${when(s.lastUsedAt)}.</p>
<div class="panel"><dl class="facts">
<dt>User</dt><dd>${user}</dd>
<dt>Session</dt><dd class="mono">${shortId(s.id)} <span class="muted">(handle ${handle.slice(0, 12)}…)</span></dd>
<dt>Signed in</dt><dd>${when(s.createdAt)}${s.authenticationHandler && html` by <span class="mono">${s.authenticationHandler}</span>`}</dd>
<dt>Last used</dt><dd>${when(s.lastUsedAt)} <span class="muted">(${s.useCount} ${s.useCount === 1 ? 'ticket' : 'tickets'} granted)</span></dd>
<dt>Expires</dt><dd>${when(s.expiresAt)}${s.idleTimeoutSeconds !== null && html` <span class="muted">if idle; at the latest</span> ${when(s.hardExpiresAt)}`}</dd>
<dt>Factors</dt><dd>${factorBadges(s)}${Object.entries(s.factors).map(([id, at]) => html` <span class="muted">${id} at</span> ${when(at)}`)}</dd>
<dt>From</dt><dd>${origin(s.origin)}</dd>
<dt>Device</dt><dd>${device(s.origin.device)}</dd>
<dt>User-Agent</dt><dd class="mono">${s.origin.userAgent ?? '—'}</dd>
</dl></div>
<div class="actions">
<form method="post" action="${v.base}/sessions/end">${csrfField(v)}<input type="hidden" name="user" value="${user}">
<button class="btn btn-danger" type="submit" name="one" value="${handle}:${user}">End this session…</button>
<button class="btn btn-secondary" type="submit" name="scope" value="user">End all of ${user}'s sessions…</button></form>
<a href="${v.base}/sessions/history?user=${encodeURIComponent(user)}">${user}'s ended sessions</a>
</div>
${services}${live}`;
}

const STATUS_BADGE: Record<string, string> = { SUCCESS: 'ok', PENDING: 'warn', SENDING: 'warn', FAILURE: 'bad' };
const STATUS_TEXT: Record<string, string> = { SUCCESS: 'delivered', PENDING: 'pending', SENDING: 'sending', FAILURE: 'failed' };
const REASONS: Record<string, string> = {
  LOGOUT: 'the user signed out',
  ADMIN: 'ended by an administrator',
  EXPIRED_HARD: 'reached its maximum lifetime',
  EXPIRED_IDLE: 'expired after being idle',
  LIMIT: "over the user's session limit",
  DISABLED: 'the account was disabled',
  PASSWORD_CHANGE: 'the password was changed',
  REPLACED: 'replaced by a new sign-in in the same browser',
};

/** An ended session's page: its history row and the delivery of each logout request, with "retry now". */
export function endedSessionBody(v: ConsoleViewer, handle: string, e: HistoryEntry, requests: LogoutRequestStatus[]): Html {
  const user = e.principal;
  const deliveries = html`<h2>Single logout requests</h2>${
    requests.length
      ? html`<div class="table-wrap"><table class="table" id="deliveries"><thead><tr><th scope="col">Service</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th>
<th scope="col">Next attempt / done</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${requests.map(
          (r) => html`<tr><td class="wrap"><span class="mono">${r.service}</span>${r.logoutUrl !== r.service && html`<br><span class="muted">to</span> <span class="mono">${r.logoutUrl}</span>`}</td>
<td><span class="badge ${STATUS_BADGE[r.status]}">${STATUS_TEXT[r.status]}</span></td><td class="num">${r.attempts}</td>
<td>${r.status === 'PENDING' ? when(r.nextAttemptAt) : when(r.completedAt)}</td>
<td class="wrap">${r.status === 'SUCCESS' ? html`<span class="muted">none (HTTP ${r.lastHttpStatus ?? '—'})</span>` : (r.lastError ?? (r.lastHttpStatus !== null ? `HTTP ${r.lastHttpStatus}` : html`<span class="muted">none yet</span>`))}</td>
<td>${(r.status === 'PENDING' || r.status === 'FAILURE') && html`<form method="post" action="${v.base}/sessions/${handle}/retry">${csrfField(v)}<input type="hidden" name="user" value="${user}"><input type="hidden" name="request" value="${r.id}">
<button class="btn btn-secondary btn-small" type="submit">Retry now</button></form>`}</td></tr>`,
        )}</tbody></table></div>`
      : html`<p class="empty">${e.services.some((s) => s.logout === 'BACK_CHANNEL') ? 'The logout requests of this session were delivered and have since been purged from the outbox.' : 'No back-channel logout request was sent for this session.'}</p>`
  }`;
  const services = html`<h2>Services reached</h2>${
    e.services.length
      ? html`<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Service</th><th scope="col" class="num">Tickets</th><th scope="col">Last ticket</th><th scope="col">Logout</th></tr></thead>
<tbody>${e.services.map((s) => html`<tr><td class="wrap mono">${s.service}</td><td class="num">${s.tickets}</td><td>${when(s.issued_at)}</td>
<td>${s.logout.replace('_', ' ').toLowerCase()}${s.status && html` <span class="badge ${STATUS_BADGE[s.status]}">${STATUS_TEXT[s.status]}</span>`}</td></tr>`)}</tbody></table></div>`
      : html`<p class="empty">This session never signed in to an application.</p>`
  }`;
  return html`<p class="crumbs"><a href="${v.base}/sessions">Sessions</a> › <a href="${v.base}/sessions/history?user=${encodeURIComponent(user)}">${user}'s ended sessions</a></p>
<h1>${user}'s session <span class="badge">ended</span></h1>
<p class="lead">Ended ${when(e.ended_at)}: ${REASONS[e.reason] ?? e.reason}${e.ended_by && html` (<span class="mono">${e.ended_by}</span>)`}.</p>
<div class="panel"><dl class="facts">
<dt>User</dt><dd>${user}</dd>
<dt>Session</dt><dd class="mono">${shortId(e.ticket_granting_ticket)} <span class="muted">(handle ${handle.slice(0, 12)}…)</span></dd>
<dt>Signed in</dt><dd>${when(e.created_at)}${e.authentication_handler && html` by <span class="mono">${e.authentication_handler}</span>`}</dd>
<dt>Last used</dt><dd>${when(e.last_used_at)} <span class="muted">(${e.uses} ${e.uses === 1 ? 'ticket' : 'tickets'} granted)</span></dd>
<dt>Ended</dt><dd>${when(e.ended_at)}</dd>
<dt>Factors</dt><dd>${e.authentication_factors && Object.keys(e.authentication_factors).length ? Object.keys(e.authentication_factors).map((id) => html`<span class="badge ok">${id}</span>`) : html`<span class="muted">password</span>`}${e.remember_me && html`<span class="badge">remember me</span>`}</dd>
<dt>From</dt><dd>${origin({ clientIp: e.client_ip, location: e.location })}</dd>
<dt>Device</dt><dd>${device(e.device ?? { browser: null, os: null, type: null })}</dd>
<dt>User-Agent</dt><dd class="mono">${e.user_agent ?? '—'}</dd>
</dl></div>
${deliveries}${services}`;
}

/** A user's (or everyone's) ended sessions, newest first. */
export function historyBody(v: ConsoleViewer, user: string | undefined, rows: { e: HistoryEntry; handle: string }[], next: string | undefined, first: boolean): Html {
  const title = user === undefined ? 'Ended sessions' : html`${user}'s ended sessions`;
  const table = rows.length
    ? html`<div class="table-wrap"><table class="table"><thead><tr>${user === undefined && html`<th scope="col">User</th>`}<th scope="col">Ended</th><th scope="col">Why</th><th scope="col">Signed in</th><th scope="col">From</th><th scope="col" class="num">Services</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${rows.map(
        ({ e, handle }) => html`<tr>${user === undefined && html`<td>${e.principal}</td>`}<td>${when(e.ended_at)}</td><td>${REASONS[e.reason] ?? e.reason}</td><td>${when(e.created_at)}</td>
<td>${origin({ clientIp: e.client_ip, location: e.location })}</td><td class="num">${e.services.length}</td>
<td><a href="${v.base}/sessions/${handle}?user=${encodeURIComponent(e.principal)}">Details</a></td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="empty">${first ? 'No ended session is kept for this user: sessions appear here once they end (sign-out, expiry, an administrator).' : 'No more ended sessions.'}</p>`;
  const base = `${v.base}/sessions/history${user === undefined ? '' : `?user=${encodeURIComponent(user)}`}`;
  return html`<p class="crumbs"><a href="${v.base}/sessions">Sessions</a>${user !== undefined && html` › <a href="${v.base}/sessions?user=${encodeURIComponent(user)}">${user}</a>`}</p>
<h1>${title}</h1><p class="lead">Sessions that have ended, newest first: when, why, and where they came from.</p>
${table}<nav class="pager" aria-label="Pages">${!first && html`<a href="${base}">Newest</a>`}${next && html`<a class="btn btn-secondary" href="${base}${user === undefined ? '?' : '&'}cursor=${encodeURIComponent(next)}">Older sessions</a>`}</nav>`;
}

/** The page's own CSS (a constant): selection column, row buttons, the count line. */
export const SESSIONS_CSS = `.table-wrap{position:relative}
.table .ip{white-space:nowrap}.table time{display:inline-block;min-width:6.5rem}
.filters{align-items:flex-start}
.filters .filter-submit{flex:0 0 auto;min-width:0}
.more{flex:1 1 100%}.more summary{cursor:pointer;font-weight:600;color:#0b57b8;padding:.2rem 0}
.more-fields{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-start;margin-top:.6rem}.more-fields .field{margin:0;min-width:9rem;flex:1 1 9rem}
.table td.device{min-width:10rem}
@media (max-width:40rem){.more-fields .field{flex-basis:100%}}
.list-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem}
.count{margin:.25rem 0;font-weight:600}
.row-actions{white-space:nowrap}.row-actions .btn{margin:0 .25rem .25rem 0}
form.inline{display:inline;margin-left:.75rem}
.table td.user{overflow-wrap:anywhere;min-width:8rem}
.only{margin:-.25rem 0 1rem}
.crumbs{margin:0 0 .25rem;font-size:.875rem;overflow-wrap:anywhere}
h1{overflow-wrap:anywhere}
.confirm{max-width:40rem}
.confirm ul{padding-left:1.25rem;overflow-wrap:anywhere}
input[type=checkbox]{width:1.1rem;height:1.1rem}`;

import type { ThrottledCounter } from '../../auth/login-throttle';
import type { MfaReset } from '../../auth/users.service';
import type { UserSummary } from '../../auth/user-store';
import { type ConsoleViewer, csrfField } from '../console-page';
import { consoleHref, utc } from '../console-values';
import { html, Html } from '../html';

/** The section's own CSS: the tabs between accounts and throttles, and the account page's blocks. */
export const USERS_STYLE = `.tabs{display:flex;gap:.25rem;margin:0 0 1rem;padding:0;list-style:none;border-bottom:1px solid #d8dde3}
.tabs a{display:block;padding:.45rem .9rem;text-decoration:none;border:1px solid transparent;border-bottom:0;border-radius:4px 4px 0 0;margin-bottom:-1px;color:#0b57b8}
.tabs a[aria-current=page]{background:#fff;border-color:#d8dde3;color:#1b1f24;font-weight:600}
.users-search{align-items:flex-start}
.filters .search-actions{display:flex;gap:.75rem;align-items:center;flex:0 0 auto;min-height:2.5rem}
@media (min-width:40.01rem){.filters .search-actions{margin-top:1.55rem}}
.page-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem}
.user-name{font-weight:600;overflow-wrap:anywhere}
.table td.name{min-width:10rem;max-width:22rem}
.table td.when{white-space:nowrap}
.table td.subject{min-width:7rem;overflow-wrap:anywhere}
.sections .panel{margin:0}
.attrs{max-width:24rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.sections{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem;align-items:start}
.sections .panel h2{margin-top:0}
.narrow{max-width:32rem}
.confirm{max-width:40rem}.confirm h1{margin-top:0;overflow-wrap:anywhere}
.title-line{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}.title-line h1{overflow-wrap:anywhere;min-width:0}
.back{margin:0 0 .25rem;font-size:.9rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){.attrs{max-width:10rem}.throttles th,.throttles td{padding:.5rem .45rem}}`;

/** The notices after a redirect: fixed texts chosen by a fixed key (`?done=`), never text from the URL. */
export const USER_NOTICES: Record<string, string> = {
  added: 'The account was created. The user can log in with the password you set.',
  disabled: 'The account is disabled and its SSO sessions were ended.',
  enabled: 'The account is enabled: the user can log in again.',
  password: "The password was changed and the account's SSO sessions were ended.",
  'mfa-reset': 'The second factors were removed: the user enrols again at the next login that needs one.',
  'mfa-none': 'Nothing to reset: the user had no TOTP device, security key, passkey or trusted browser.',
  unthrottled: "The account's failed-login counters were cleared: its next login attempt goes through.",
  cleared: 'The counter was cleared: the next attempt from it goes through.',
};

export type FieldErrors = Partial<Record<string, string>>;

/** Accounts / Throttled now: the two views of the section. */
export function tabs(v: ConsoleViewer, current: 'accounts' | 'throttles'): Html {
  const tab = (id: string, href: string, label: string) => html`<li><a href="${href}"${id === current ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<nav aria-label="Users and throttles"><ul class="tabs">${tab('accounts', `${v.base}/users`, 'Accounts')}${tab('throttles', `${v.base}/users/throttles`, 'Throttled now')}</ul></nav>`;
}

/** A labelled input with its error under it (aria-invalid, aria-describedby) when it has one. */
function input(id: string, label: string, opts: { type?: string; value?: string; error?: string; hint?: string; autocomplete?: string; required?: boolean; maxlength?: number }): Html {
  const describedBy = [opts.error && `${id}-error`, opts.hint && `${id}-hint`].filter(Boolean).join(' ');
  return html`<div class="field"><label for="${id}">${label}</label>
<input type="${opts.type ?? 'text'}" id="${id}" name="${id}"${opts.value !== undefined ? html` value="${opts.value}"` : ''}${opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''}${opts.required ? html` required` : ''}${opts.maxlength ? html` maxlength="${opts.maxlength}"` : ''} spellcheck="false"${opts.error ? html` aria-invalid="true"` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
${opts.hint && html`<p class="hint" id="${id}-hint">${opts.hint}</p>`}${opts.error && html`<p class="error-text" id="${id}-error">${opts.error}</p>`}</div>`;
}

function status(u: { disabled: boolean }): Html {
  return u.disabled ? html`<span class="badge bad">Disabled</span>` : html`<span class="badge ok">Enabled</span>`;
}

function attributeNames(u: UserSummary): string {
  return Object.keys(u.attributes).join(', ');
}

/** A form's URL for an action on one account (`/users/<action>?username=`): the audit row records it. */
export function actionHref(v: ConsoleViewer, action: string, username: string): string {
  return consoleHref(`${v.base}/users/${action}`, { username });
}

export function accountHref(v: ConsoleViewer, username: string, done?: string): string {
  return consoleHref(`${v.base}/users/account`, { username, done });
}

/** Where the users table stands in the authentication chain, or that it is not in it. */
function sourceNote(tableIsSource: boolean, sources: string[]): Html {
  if (!tableIsSource) {
    return html`<p class="notice error" role="status">The users table is not an authentication source on this server: the accounts below cannot log in.</p>`;
  }
  return html`<p class="muted">These accounts log in with a password. Logins ask, in order: ${sources.map((s, i) => html`${i ? ', ' : ''}<span class="mono">${s}</span>${s === 'QueryDatabaseAuthenticationHandler' ? ' (this table)' : ''}`)}.</p>`;
}

export function usersListBody(
  v: ConsoleViewer,
  p: { prefix: string; prefixError?: string; users: UserSummary[]; next?: string; tableIsSource: boolean; sources: string[] },
): Html {
  const rows = p.users.map(
    (u) => html`<tr>
<td class="name"><a class="user-name" href="${accountHref(v, u.username)}">${u.username}</a></td>
<td>${status(u)}</td>
<td><div class="attrs mono" title="${attributeNames(u)}">${attributeNames(u) || html`<span class="muted">none</span>`}</div></td>
<td class="when"><time datetime="${u.createdAt.toISOString()}">${utc(u.createdAt)}</time></td>
<td class="when"><time datetime="${u.updatedAt.toISOString()}">${utc(u.updatedAt)}</time></td>
</tr>`,
  );
  const empty = p.prefix
    ? html`<p class="empty">No account name starts with “${p.prefix}”. Check the spelling, or <a href="${v.base}/users/new">add the account</a>.</p>`
    : html`<p class="empty">There are no accounts in the users table yet. <a href="${v.base}/users/new">Add a user</a>, or run <span class="mono">npm run users -- add &lt;name&gt;</span>.</p>`;
  return html`<div class="page-head"><h1>Users</h1><a class="btn" href="${v.base}/users/new">Add a user</a></div>
<p class="lead">Local accounts (the users table) and, under “Throttled now”, the accounts and addresses refused after failed logins.</p>
${tabs(v, 'accounts')}
${sourceNote(p.tableIsSource, p.sources)}
<form class="filters users-search" method="get" action="${v.base}/users" role="search">
${input('q', 'Username starts with (any case)', { type: 'search', value: p.prefix, error: p.prefixError, maxlength: 256 })}
<div class="search-actions"><button class="btn btn-secondary" type="submit">Search</button>${p.prefix ? html`<a href="${v.base}/users">Show all</a>` : ''}</div>
</form>
${
  p.users.length
    ? html`<div class="table-wrap"><table class="table" aria-label="Accounts">
<thead><tr><th scope="col">Username</th><th scope="col">Status</th><th scope="col">Attributes</th><th scope="col">Created</th><th scope="col">Last changed</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${p.next ? html`<p class="pager"><a href="${consoleHref(`${v.base}/users`, { q: p.prefix, after: p.next })}">Next accounts →</a></p>` : ''}`
    : p.prefixError
      ? ''
      : empty
}`;
}

export function addUserBody(v: ConsoleViewer, p: { username: string; errors: FieldErrors }): Html {
  return html`<p class="back"><a href="${v.base}/users">← All users</a></p>
<h1>Add a user</h1>
<p class="lead">Creates an account in the users table. Tell the user their password another way: it is not shown again.</p>
<form class="panel narrow" method="post" action="${v.base}/users/new" autocomplete="off" novalidate>
${csrfField(v)}
${input('username', 'Username', { value: p.username, error: p.errors.username, hint: 'Up to 256 characters, no spaces, colons or commas. Case is ignored when logging in.', required: true, maxlength: 256, autocomplete: 'off' })}
${input('password', 'Password', { type: 'password', error: p.errors.password, hint: 'At least 8 characters (12 or more recommended).', required: true, autocomplete: 'new-password' })}
${input('repeat', 'Repeat the password', { type: 'password', error: p.errors.repeat, required: true, autocomplete: 'new-password' })}
<div class="actions"><button class="btn" type="submit">Create the account</button><a href="${v.base}/users">Cancel</a></div>
</form>`;
}

export function accountBody(v: ConsoleViewer, u: UserSummary, errors: FieldErrors = {}): Html {
  const attributes = Object.keys(u.attributes).length ? html`<pre class="mono">${JSON.stringify(u.attributes, null, 2)}</pre>` : html`<span class="muted">none</span>`;
  // The account is named in the form's URL, not a hidden field: the audit row of the POST then says which one.
  const hidden = csrfField(v);
  const act = (action: string) => actionHref(v, action, u.username);
  return html`<p class="back"><a href="${v.base}/users">← All users</a></p>
<div class="title-line"><h1>${u.username}</h1>${status(u)}</div>
<p class="lead">An account of the users table: its state, its password, its second factors and its failed-login counters.</p>
<div class="panel"><dl class="facts">
<dt>Username</dt><dd class="mono">${u.username}</dd>
<dt>Status</dt><dd>${u.disabled ? 'Disabled: cannot log in' : 'Enabled: can log in'}</dd>
<dt>Created</dt><dd><time datetime="${u.createdAt.toISOString()}">${utc(u.createdAt)}</time></dd>
<dt>Last changed</dt><dd><time datetime="${u.updatedAt.toISOString()}">${utc(u.updatedAt)}</time></dd>
<dt>Attributes</dt><dd>${attributes}</dd>
</dl></div>
<div class="sections">
<section class="panel" aria-labelledby="password-title"><h2 id="password-title">Set a new password</h2>
<p class="muted">The account's SSO sessions end: whoever knew the old password is logged out.</p>
<form method="post" action="${act('password')}" autocomplete="off" novalidate>${hidden}
${input('password', 'New password', { type: 'password', error: errors.password, hint: 'At least 8 characters (12 or more recommended).', required: true, autocomplete: 'new-password' })}
${input('repeat', 'Repeat the new password', { type: 'password', error: errors.repeat, required: true, autocomplete: 'new-password' })}
<button class="btn" type="submit">Set the password</button></form></section>
<section class="panel" aria-labelledby="state-title"><h2 id="state-title">${u.disabled ? 'Enable the account' : 'Disable the account'}</h2>
${
  u.disabled
    ? html`<p class="muted">The user can log in again with their password.</p>
<form method="post" action="${act('enable')}">${hidden}<button class="btn" type="submit">Enable the account</button></form>`
    : html`<p class="muted">The user can no longer log in, and their SSO sessions end (single logout to every service).</p>
<form method="post" action="${act('disable')}">${hidden}<button class="btn btn-danger" type="submit">Disable the account…</button></form>`
}</section>
<section class="panel" aria-labelledby="mfa-title"><h2 id="mfa-title">Second factors</h2>
<p class="muted">For a lost phone or key: removes the TOTP devices with their recovery codes, the security keys and passkeys, and the trusted browsers. The user enrols again at the next login that needs a second factor.</p>
<form method="post" action="${act('reset-mfa')}">${hidden}<button class="btn btn-danger" type="submit">Reset second factors…</button></form></section>
<section class="panel" aria-labelledby="throttle-title"><h2 id="throttle-title">Failed-login counters</h2>
<p class="muted">A user locked out after failed logins can try again at once: clears the account's counters and those of the browsers that logged in to it.</p>
<form method="post" action="${act('unthrottle')}">${hidden}<button class="btn btn-secondary" type="submit">Clear the account's throttle</button></form></section>
</div>`;
}

/** The server-rendered confirmation of a disable or an MFA reset (the console runs no script). */
export function confirmBody(v: ConsoleViewer, p: { action: 'disable' | 'reset-mfa'; username: string }): Html {
  const [title, text, button] =
    p.action === 'disable'
      ? [`Disable ${p.username}?`, 'The user can no longer log in, and every SSO session of the account ends now, with single logout to the services it reached. You can enable the account again later.', 'Disable the account']
      : [
          `Reset the second factors of ${p.username}?`,
          'Their TOTP devices with the recovery codes, their security keys and passkeys, and their trusted browsers are removed. This cannot be undone: the user enrols again at the next login that needs a second factor.',
          'Reset second factors',
        ];
  return html`<div class="panel confirm"><h1>${title}</h1>
<p>${text}</p>
<form class="actions" method="post" action="${actionHref(v, p.action, p.username)}">${csrfField(v)}<input type="hidden" name="confirm" value="yes">
<button class="btn btn-danger" type="submit">${button}</button><a class="btn btn-secondary" href="${accountHref(v, p.username)}">Cancel</a></form></div>`;
}

export function notFoundBody(v: ConsoleViewer, username: string): Html {
  return html`<h1>No such account</h1>
<p class="lead">${username ? html`There is no account “${username}” in the users table.` : 'The request did not name one account of the users table.'}</p>
<p><a href="${v.base}/users">Back to the users</a></p>`;
}

export function mfaDone(r: MfaReset): string {
  return r.totpDevices || r.securityKeys || r.trustedBrowsers ? 'mfa-reset' : 'mfa-none';
}

const KIND_LABEL: Record<ThrottledCounter['kind'], string> = { account: 'Account', ip: 'Address', device: 'Browser' };

export function throttlesBody(v: ConsoleViewer, p: { counters: ThrottledCounter[]; next?: string; enabled: boolean; windowMinutes: number; error?: string }): Html {
  const who = (c: ThrottledCounter) =>
    c.kind === 'device'
      ? html`<span class="muted">a browser that logged in to an account before</span> <span class="mono" title="${c.subject}">${c.subject.slice(0, 12)}…</span>`
      : html`<span class="mono">${c.subject}</span>`;
  const rows = p.counters.map(
    (c) => html`<tr>
<td class="subject"><span class="badge warn">${KIND_LABEL[c.kind]}</span> ${who(c)}</td>
<td class="num">${c.failures} of ${c.limit}</td>
<td class="when"><time datetime="${c.until.toISOString()}" title="${utc(c.until)}">${utc(c.until).slice(11, 16)}</time></td>
<td><form method="post" action="${consoleHref(`${v.base}/users/throttles/clear`, { kind: c.kind, subject: c.subject })}">${csrfField(v)}
<button class="btn btn-secondary btn-small" type="submit" aria-label="Clear the counter of ${KIND_LABEL[c.kind].toLowerCase()} ${c.kind === 'device' ? 'browser' : c.subject}">Clear</button></form></td>
</tr>`,
  );
  return html`<div class="page-head"><h1>Users</h1><a class="btn" href="${v.base}/users/new">Add a user</a></div>
<p class="lead">Accounts, browsers and client addresses refusing password attempts now, after too many failed logins in the current ${p.windowMinutes}-minute window (times in UTC).</p>
${tabs(v, 'throttles')}
${p.error && html`<p class="notice error" role="alert">${p.error}</p>`}
${!p.enabled && html`<p class="notice" role="status">Throttling is off on this server (AUTHN_THROTTLE_ENABLED=false): no login attempt is refused.</p>`}
${
  p.counters.length
    ? html`<div class="table-wrap"><table class="table throttles" aria-label="Throttled counters">
<thead><tr><th scope="col">Refused</th><th scope="col" class="num">Failures</th><th scope="col">Until</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>
${p.next ? html`<p class="pager"><a href="${consoleHref(`${v.base}/users/throttles`, { after: p.next })}">Next →</a></p>` : ''}
<p class="muted">Clearing an account also clears the counters of the browsers that logged in to it. A counter also ends by itself when its window does.</p>`
    : html`<p class="empty">Nothing is throttled: no account, browser or address has reached its limit of failed logins in this window.</p>`
}`;
}

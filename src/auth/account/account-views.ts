import escapeHtml from 'escape-html';
import { page } from '../views';
import type { HistoryReason } from '../../tickets/session-history';
import type { SessionOrigin } from '../../tickets/session-listing';
import type { ApplicationView, PastSessionView, SessionsView, SessionView } from './account-sessions.service';

/**
 * The account page's own rules on top of the login pages' style: a little wider (a session is a
 * block of facts), long values (a User-Agent, an IPv6 address, a service URL) wrap instead of
 * widening the page, and the facts stack under their labels on a phone.
 */
const ACCOUNT_STYLE = `body{max-width:40rem}h2{font-size:1.1rem;margin:0 0 .4rem}
.sessions{list-style:none;padding:0;margin:0}.session{border:1px solid #ccc;border-radius:4px;padding:.8rem 1rem;margin-top:1rem}
.session.current{border-color:#1b1b1b;box-shadow:0 0 0 1px #1b1b1b}.badge{display:inline-block;font-size:.8rem;font-weight:normal;padding:.1rem .4rem;margin-left:.4rem;border:1px solid #1b1b1b;border-radius:3px;vertical-align:middle;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}dt{color:#555}dd{margin:0;min-width:0;overflow-wrap:anywhere}
.apps{margin:0;padding-left:1.2rem;list-style:disc}.apps li{overflow-wrap:anywhere}.ua{font-size:.85rem;color:#555}.muted{color:#555}.session form button{margin-top:.6rem}
.notice{border:1px solid #1b1b1b;padding:.6rem;margin-top:1rem}.others{margin-top:1.5rem;border-top:1px solid #ccc}
.history{margin-top:2.5rem;border-top:1px solid #ccc;padding-top:1rem}.history>h2{font-size:1.25rem}h3{font-size:1rem;margin:0 0 .3rem}.session.past{border-color:#ddd;padding:.6rem 1rem}
@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dt{font-size:.85rem}dd{margin-bottom:.4rem}}`;

/** The outcome of the form the page was just redirected from (`?done=`): fixed texts only. */
export type AccountNotice = 'ended' | 'ended-others' | 'ended-none';
const NOTICES: Record<AccountNotice, string> = {
  ended: 'That session has been logged out.',
  'ended-others': 'You have been logged out of all other devices.',
  'ended-none': 'There were no other sessions to log out.',
};

export function isAccountNotice(value: unknown): value is AccountNotice {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(NOTICES, value);
}

export interface AccountPageModel {
  view: SessionsView;
  csrf: string;
  now: Date;
  notice?: AccountNotice;
  /** This page's path (`/cas/account/sessions`): the forms post below it. */
  base: string;
  /** "Last sign-ins": the user's latest ended sessions, newest first (from the session history). Absent: the section is not shown. */
  lastSignIns?: PastSessionView[];
}

/**
 * `/account/sessions`: every live session of the user, this browser's first and marked, each
 * with a "Log out" form; "Log out all other devices" when there are others. Every form posts the
 * session's CSRF token; nothing runs a script.
 */
export function accountSessionsPage(m: AccountPageModel): string {
  const { view } = m;
  const others = view.sessions.filter((s) => !s.current).length;
  const unlisted = view.total - view.sessions.length;
  const body = `<h1>Your sessions</h1>
<p>You are logged in as <strong>${escapeHtml(view.principal)}</strong>. These are the browsers and devices where your account is logged in right now. If you do not recognise one, log it out and change your password.</p>
${m.notice ? `<p class="notice" role="status">${escapeHtml(NOTICES[m.notice])}</p>` : ''}
<ul class="sessions">
${view.sessions.map((s) => sessionItem(s, m)).join('\n')}
</ul>
${unlisted > 0 ? `<p class="muted">And ${unlisted} older session${unlisted === 1 ? '' : 's'} not shown here; "Log out all other devices" ends them too.</p>` : ''}
${
  others > 0 || unlisted > 0
    ? `<form class="others" method="post" action="${escapeHtml(m.base)}/logout-others">
<input type="hidden" name="csrf" value="${escapeHtml(m.csrf)}">
<button type="submit">Log out all other devices</button>
</form>`
    : '<p class="muted">You are not logged in anywhere else.</p>'
}
${m.lastSignIns ? lastSignIns(m.lastSignIns, m.now) : ''}`;
  return page('Your sessions', body, undefined, ACCOUNT_STYLE);
}

function sessionItem(s: SessionView, m: AccountPageModel): string {
  const o = s.origin;
  const facts: [string, string][] = [
    ...originFacts(o),
    ['Started', when(s.createdAt, m.now)],
    ['Last used', when(s.lastUsedAt, m.now)],
    ['Ends', s.rememberMe ? `${when(s.expiresAt, m.now)} (remembered)` : when(s.expiresAt, m.now)],
  ];
  return `<li class="session${s.current ? ' current' : ''}">
<h2>${escapeHtml(deviceTitle(o))}${s.current ? '<span class="badge">This browser</span>' : ''}</h2>
<dl>${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}<dt>Applications</dt><dd>${applicationList(s.applications, 'None yet')}</dd></dl>
${o.userAgent ? `<p class="ua">${escapeHtml(o.userAgent)}</p>` : ''}
<form method="post" action="${escapeHtml(m.base)}/logout">
<input type="hidden" name="csrf" value="${escapeHtml(m.csrf)}">
<input type="hidden" name="session" value="${escapeHtml(s.handle)}">
<button type="submit">${s.current ? 'Log out this browser' : 'Log out this one'}</button>
</form>
</li>`;
}

/** Why an ended session ended, in the user's words (the history's reasons). */
const ENDED_BECAUSE: Record<HistoryReason, string> = {
  LOGOUT: 'Logged out',
  ADMIN: 'Ended by an administrator',
  EXPIRED_IDLE: 'Expired after inactivity',
  EXPIRED_HARD: 'Reached its maximum lifetime',
  LIMIT: 'Ended by the session limit (a newer sign-in took its place)',
  DISABLED: 'Ended because the account was disabled',
  PASSWORD_CHANGE: 'Ended because the password was changed',
  REPLACED: 'Replaced by a new login in the same browser',
};

export function endedBecause(reason: HistoryReason): string {
  return ENDED_BECAUSE[reason];
}

/**
 * "Last sign-ins", below the live sessions (as CAS's account portal shows them): each ended
 * session with where it came from, when it started and ended, why, and what it reached. Nothing
 * to act on, so no forms; nothing names the session.
 */
function lastSignIns(past: PastSessionView[], now: Date): string {
  const items = past.map((s) => {
    const facts: [string, string][] = [
      ...originFacts(s.origin),
      ['Started', when(s.createdAt, now)],
      ['Ended', when(s.endedAt, now)],
      ['Why', escapeHtml(endedBecause(s.reason))],
    ];
    return `<li class="session past">
<h3>${escapeHtml(deviceTitle(s.origin))}</h3>
<dl>${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}<dt>Applications</dt><dd>${applicationList(s.applications, 'None')}</dd></dl>
</li>`;
  });
  return `<section class="history" aria-labelledby="last-sign-ins">
<h2 id="last-sign-ins">Last sign-ins</h2>
${
  items.length
    ? `<p class="muted">Your latest sessions that have ended, the most recent first. If one was not you, change your password.</p>
<ol class="sessions">
${items.join('\n')}
</ol>`
    : '<p class="muted">None yet: sessions that end (logged out or expired) are listed here.</p>'
}
</section>`;
}

/** Device, IP address and location of a login, as far as they are known. */
function originFacts(o: SessionOrigin): [string, string][] {
  const facts: [string, string][] = [];
  const type = o.deviceType ? DEVICE_TYPES[o.deviceType] : undefined;
  if (type) facts.push(['Device', type]);
  // An IPv6 address wraps at its colons on a phone, never inside a group (<wbr> adds no character to a copy).
  if (o.clientIp) facts.push(['IP address', escapeHtml(o.clientIp).replace(/:/g, ':<wbr>')]);
  const location = locationOf(o.locationCity, o.locationCountry);
  if (location) facts.push(['Location', escapeHtml(location)]);
  return facts;
}

/** The applications a session reached, by registered name (and host) where there is one. */
function applicationList(apps: ApplicationView[], none: string): string {
  if (!apps.length) return `<span class="muted">${none}</span>`;
  return `<ul class="apps">${apps
    .map((a) => `<li>${a.name ? `${escapeHtml(a.name)} <span class="muted">(${escapeHtml(hostOf(a.service))})</span>` : escapeHtml(a.service)}</li>`)
    .join('')}</ul>`;
}

/** A page for a form that cannot be honoured (stale or forged token, a session not the user's): why, and the way back. */
export function accountErrorPage(message: string, base: string): string {
  return page(
    'Your sessions',
    `<h1>Your sessions</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p><a href="${escapeHtml(base)}">Back to your sessions</a></p>`,
    undefined,
    ACCOUNT_STYLE,
  );
}

/** No session in this browser: the way to log in (the page needs one). */
export function accountLoginPage(login: string): string {
  return page(
    'Your sessions',
    `<h1>Your sessions</h1>
<p>This browser is not logged in. Log in to see where your account is logged in, and to log out other devices.</p>
<p><a href="${escapeHtml(login)}">Log in</a>, then come back to this page.</p>`,
    undefined,
    ACCOUNT_STYLE,
  );
}

/** The device_type values session-origin stores, as a user would name them. */
const DEVICE_TYPES: Record<string, string> = { desktop: 'Computer', mobile: 'Phone', tablet: 'Tablet', tv: 'TV', bot: 'Bot' };

/** "Firefox 133 on Windows 10", or as much of it as the User-Agent told. */
function deviceTitle(o: SessionOrigin): string {
  const { deviceBrowser: browser, deviceOs: os } = o;
  if (browser && os) return `${browser} on ${os}`;
  if (browser) return browser;
  if (os) return `A browser on ${os}`;
  return 'Unknown browser';
}

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region' });

/** "Lyon, France": the country's English name from its ISO code (the code itself if unknown). */
function locationOf(city: string | null, country: string | null): string | null {
  let name: string | null = null;
  if (country) {
    try {
      name = REGIONS.of(country.toUpperCase()) ?? country;
    } catch {
      name = country;
    }
  }
  return [city, name].filter(Boolean).join(', ') || null;
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });

/** "3 Dec 2026, 08:40 UTC (5 minutes ago)": the server does not know the browser's time zone, so UTC, said so. */
function when(at: Date, now: Date): string {
  return `<time datetime="${at.toISOString()}">${escapeHtml(DATE.format(at))} UTC</time> <span class="muted">(${relative(at, now)})</span>`;
}

function relative(at: Date, now: Date): string {
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return 'just now';
  // Rounded: a session ending in 1 h 59 min ends "in 2 hours", not "in 1 hour".
  const [n, unit] = abs < 3570 ? [Math.round(abs / 60), 'minute'] : abs < 84600 ? [Math.round(abs / 3600), 'hour'] : [Math.round(abs / 86400), 'day'];
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

function hostOf(service: string): string {
  try {
    return new URL(service).host;
  } catch {
    return service;
  }
}

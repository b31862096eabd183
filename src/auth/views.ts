import escapeHtml from 'escape-html';
import type { AccountState, PasswordWarning } from './handlers/authentication-handler';
import { scriptTags, webauthnForm } from './mfa/webauthn/webauthn-form';

/** Server-rendered pages: no external assets, no script except the nonce'd auto-submit form. */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}label{display:block;margin-top:1rem}input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
#secret{width:100%;box-sizing:border-box;padding:.5rem;font:1rem monospace;word-break:break-all;resize:none}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00000;border:1px solid #a00000;padding:.6rem;margin-top:1rem}
.passkey>form{margin-top:1.5rem;border-top:1px solid #ccc;padding-top:.2rem}`;

/** `extraStyle`: a page's own rules after the shared ones (a constant of the page, never user input). */
export function page(title: string, body: string, nonce?: string, extraStyle = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style${nonce ? ` nonce="${nonce}"` : ''}>${STYLE}${extraStyle}</style></head>
<body><main>${body}</main></body></html>`;
}

export interface LoginFormModel {
  action: string;
  execution: string;
  service?: string;
  method?: string;
  username?: string;
  error?: string;
  /** Offer the remember-me checkbox (unchecked by default, spec 4.1.1). */
  rememberMe?: boolean;
  /**
   * "Sign in with a passkey" (cas.authn.mfa.web-authn.core.allow-primary-authentication): its own
   * token and assertion options, and the scripts that run it. Shown only where the browser can.
   */
  passkey?: { execution: string; options: unknown; scripts: string[] };
}

export function loginPage(m: LoginFormModel): string {
  const hidden = (name: string, value?: string) =>
    value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return page(
    'Log in',
    `<h1>Central Authentication Service</h1>
${m.error ? `<p class="error" role="alert">${escapeHtml(m.error)}</p>` : ''}
<form method="post" action="${escapeHtml(m.action)}" autocomplete="off">
<label for="username">Username</label>
<input type="text" id="username" name="username" required autofocus autocapitalize="none" autocomplete="username" value="${escapeHtml(m.username ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" required autocomplete="current-password">
${m.rememberMe ? '<label><input type="checkbox" name="rememberMe" value="true"> Remember me on this device</label>' : ''}
<label><input type="checkbox" name="warn" value="true"> Warn me before logging me into other sites</label>
<label><input type="checkbox" name="publicWorkstation" value="true"> I am on a public computer (do not keep me logged in)</label>
${hidden('execution', m.execution)}${hidden('service', m.service)}${hidden('method', m.method)}
<input type="hidden" name="_eventId" value="submit">
<button type="submit">Log in</button>
</form>${m.passkey ? passkeyForm(m.passkey, m) : ''}`,
  );
}

/** The passkey button under the password form: a form of its own, hidden until the script finds WebAuthn. */
function passkeyForm(p: NonNullable<LoginFormModel['passkey']>, m: LoginFormModel): string {
  const hidden = (name: string, value?: string) =>
    value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return `
<div class="passkey">${webauthnForm({
    eventId: 'passkey',
    execution: p.execution,
    prompt: { ceremony: 'authentication', options: p.options },
    button: 'Sign in with a passkey',
    hidden: true,
    lead: '<p>Or sign in without a password, with a passkey or security key registered for your account.</p>\n',
    extra: hidden('method', m.method),
  })}</div>
${scriptTags(p.scripts)}`;
}

export function loggedInPage(principal: string): string {
  return page(
    'Logged in',
    `<h1>Log in successful</h1><p>You, <strong>${escapeHtml(principal)}</strong>, have successfully logged into the Central Authentication Service.</p>
<p>When you are finished, <a href="logout">log out</a> and close your browser.</p>
<p><a href="account/sessions">See where else you are logged in</a></p>`,
  );
}

/** The logged-out page; front-channel services are told by the browser fetching their logout URLs. */
export function loggedOutPage(frontChannel: string[] = []): string {
  const images = frontChannel.map((u) => `<img src="${escapeHtml(u)}" alt="" width="1" height="1">`).join('');
  return page(
    'Logged out',
    `<h1>Logout successful</h1><p>You have successfully logged out of the Central Authentication Service.</p>
<p>For security reasons, exit your web browser.</p>${images ? `<div aria-hidden="true">${images}</div>` : ''}`,
  );
}

/** CAS's warning before an SSO login (CASPRIVACY): the user confirms with a POST carrying a flow token. */
export function warnPage(service: string, execution: string, method?: string): string {
  return page(
    'Confirm log in',
    `<h1>Log in to another site?</h1>
<p>You are about to be logged in to <strong>${escapeHtml(service)}</strong> with your existing session.</p>
<form method="post" action="login">
<input type="hidden" name="execution" value="${escapeHtml(execution)}">
<input type="hidden" name="_eventId" value="proceed">
${method ? `<input type="hidden" name="method" value="${escapeHtml(method)}">` : ''}
<button type="submit">Continue</button>
</form>`,
  );
}

export function accessDeniedPage(): string {
  return page(
    'Access denied',
    `<h1>Access denied</h1><p>You are not authorized to use this application. Contact its administrators if you think you should be.</p>`,
  );
}

export function notAuthorizedPage(): string {
  return page(
    'Application not authorized',
    `<h1>Application not authorized to use CAS</h1><p>The application you attempted to authenticate to is not authorized to use CAS.</p>`,
  );
}

/** CAS 3.0 `method=POST`: a form that POSTs the ticket to the service, submitted by a nonce'd script. */
export function postRedirectPage(service: string, ticket: string, nonce: string): string {
  return page(
    'Redirecting',
    `<form id="cas-post" method="post" action="${escapeHtml(service)}">
<input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
<noscript><button type="submit">Continue</button></noscript></form>
<script nonce="${nonce}">document.getElementById('cas-post').submit()</script>`,
    nonce,
  );
}

/** The change-password link of the password pages: only an http(s) URL from the configuration. */
function changePasswordLink(changeUrl: string | undefined): string | null {
  if (!changeUrl) return null;
  let url: URL;
  try {
    url = new URL(changeUrl);
  } catch {
    return null;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
}

const HELP_DESK = 'Please contact your help desk or system administrator to regain access.';

/**
 * The page of each account state (CAS's casAccountLockedView, casAccountDisabledView,
 * casAccountExpiredView, casExpiredPassView, casMustChangePassView, casBadHoursView,
 * casBadWorkstationView): title, heading, and what the user can do about it.
 */
const ACCOUNT_STATE_PAGES: Record<AccountState, { title: string; heading: string; advice: string; passwordChange?: true }> = {
  locked: { title: 'Account locked', heading: 'This account has been locked.', advice: HELP_DESK },
  disabled: { title: 'Account disabled', heading: 'This account has been disabled.', advice: HELP_DESK },
  'account-expired': {
    title: 'Account expired',
    heading: 'This account has expired and is forbidden to log in.',
    advice: HELP_DESK,
  },
  'password-expired': {
    title: 'Password expired',
    heading: 'Your password has expired.',
    advice: 'Please contact your help desk or system administrator to change it.',
    passwordChange: true,
  },
  'must-change-password': {
    title: 'Password change required',
    heading: 'You must change your password before you can log in.',
    advice: 'Please contact your help desk or system administrator to change it.',
    passwordChange: true,
  },
  'invalid-login-time': {
    title: 'Not allowed at this time',
    heading: 'Your account is forbidden to log in at this time.',
    advice: 'Please try again later, within the hours your account is allowed to log in.',
  },
  'invalid-workstation': {
    title: 'Not allowed from this workstation',
    heading: 'You cannot log in from this workstation.',
    advice: 'Please log in from a workstation you are allowed to use, or contact your help desk or system administrator.',
  },
};

/**
 * The page of an account the directory (or the users table) refused for a reason it gave. The
 * change-password link comes from the configuration only; the "log in again" link stays on this
 * server (`login`, with the registered service the login was for).
 */
export function accountStatePage(state: AccountState, m: { service?: string; changeUrl?: string } = {}): string {
  const p = ACCOUNT_STATE_PAGES[state];
  const link = p.passwordChange ? changePasswordLink(m.changeUrl) : null;
  const advice = link
    ? `<p>Please <a href="${escapeHtml(link)}">change your password</a>, then log in with the new one.</p>`
    : `<p>${escapeHtml(p.advice)}</p>`;
  const again = `login${m.service === undefined ? '' : `?service=${encodeURIComponent(m.service)}`}`;
  return page(
    p.title,
    `<h1>${escapeHtml(p.heading)}</h1>
${advice}
<p><a href="${escapeHtml(again)}">Back to the login page</a></p>`,
  );
}

/** The lines of a password warning: days left, grace logins left (CAS's password.expiration.* messages). */
export function passwordWarningLines(w: PasswordWarning): string[] {
  const lines: string[] = [];
  const days = w.passwordExpiresInDays;
  if (days !== undefined && Number.isFinite(days) && days >= 0) {
    const d = Math.floor(days);
    lines.push(d === 0 ? 'Your password expires today.' : `Your password expires in ${d} day${d === 1 ? '' : 's'}.`);
  }
  const grace = w.graceLoginsRemaining;
  if (grace !== undefined && Number.isFinite(grace) && grace >= 0) {
    const g = Math.floor(grace);
    lines.push(`Your password has expired: you have ${g} login${g === 1 ? '' : 's'} left before you must change it.`);
  }
  if (!lines.length) lines.push('Your password expires soon.');
  return lines;
}

/**
 * After a successful login with a password about to expire (CAS's "Authentication Succeeded with
 * Warnings"): the warning, the change-password link if one is configured, and Continue, a form
 * posting the single-use token that grants the service ticket (or shows the logged-in page).
 */
export function passwordWarningPage(w: PasswordWarning, m: { execution: string; service?: string; method?: string }): string {
  const link = changePasswordLink(w.changeUrl);
  const lines = passwordWarningLines(w).map((l) => `<p class="error" role="alert">${escapeHtml(l)}</p>`).join('\n');
  const change = link
    ? `<p>Please <a href="${escapeHtml(link)}">change your password</a> now.</p>`
    : '<p>Please change your password soon, or contact your help desk or system administrator.</p>';
  const next = m.service === undefined ? 'Continue to finish logging in.' : `Continue to go on to ${m.service}.`;
  return page(
    'Password expiring',
    `<h1>Authentication succeeded with warnings</h1>
${lines}
${change}
<form method="post" action="login">
<input type="hidden" name="execution" value="${escapeHtml(m.execution)}">
<input type="hidden" name="_eventId" value="continue">
${m.method ? `<input type="hidden" name="method" value="${escapeHtml(m.method)}">` : ''}
<p>${escapeHtml(next)}</p>
<button type="submit">Continue</button>
</form>`,
  );
}

export interface MfaPageModel {
  execution: string;
  error?: string;
  /** Enrolment (no confirmed device yet): what to put into the authenticator app, shown once. */
  enrolment?: { otpauthUri: string; secret: string; scratchCodes: string[]; qrCodeSvg?: string };
  /** Trusted devices: the period the "remember this browser" box offers ("30 days"); absent, no box. */
  rememberBrowser?: string | null;
}

/**
 * The second step of a login that needs mfa-gauth: the code of the authenticator app (or a
 * recovery code), posted with the single-use token that carries the pending authentication. At
 * enrolment, the same page first shows the new device's key and recovery codes.
 */
export function mfaPage(m: MfaPageModel): string {
  const e = m.enrolment;
  const enrolment = e
    ? `<p>Add this account to your authenticator app (Google Authenticator, FreeOTP, Aegis…): scan this code, open the link on your phone, or type the key by hand.</p>
${e.qrCodeSvg ? `<div class="qr-code" role="img" aria-label="QR code of the authenticator key">${e.qrCodeSvg}</div>` : ''}
<p><a href="${escapeHtml(e.otpauthUri)}">Add to an authenticator app</a></p>
<label for="secret">Key</label>
<textarea id="secret" readonly rows="2" spellcheck="false">${escapeHtml(e.secret)}</textarea>
<p>Recovery codes: each logs you in once if you lose the device. Write them down now; they are not shown again.</p>
<ul class="scratch-codes">${e.scratchCodes.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('')}</ul>
<p>Then enter the code your app shows, to confirm the device.</p>`
    : '<p>Enter the code your authenticator app shows, or one of your recovery codes.</p>';
  return page(
    e ? 'Set up two-step verification' : 'Two-step verification',
    `<h1>${e ? 'Set up two-step verification' : 'Two-step verification'}</h1>
${m.error ? `<p class="error" role="alert">${escapeHtml(m.error)}</p>` : ''}
${enrolment}
<form method="post" action="login" autocomplete="off">
<label for="token">Verification code</label>
<input type="text" id="token" name="token" required autofocus inputmode="numeric" autocomplete="one-time-code" maxlength="20">
<input type="hidden" name="execution" value="${escapeHtml(m.execution)}">
<input type="hidden" name="_eventId" value="mfa">
${m.rememberBrowser ? `<label><input type="checkbox" name="trustDevice" value="true"> Remember this browser for ${escapeHtml(m.rememberBrowser)}</label>` : ''}
<button type="submit">Verify</button>
</form>
<p><a href="login">Start over</a></p>`,
  );
}

/** A login needed a multi-factor provider that cannot run (CAS failureMode CLOSED): no session. */
export function mfaUnavailablePage(): string {
  return page(
    'Multi-factor authentication unavailable',
    `<h1>Multi-factor authentication is unavailable</h1>
<p>This login requires multi-factor authentication, which is unavailable right now. You have not been logged in.</p>
<p>Please try again later, or contact your help desk or system administrator.</p>`,
  );
}

/** `authn_method` named a provider this server does not have: refused rather than ignored (fail closed). */
export function unknownAuthnMethodPage(): string {
  return page(
    'Unsupported authentication method',
    `<h1>Unsupported authentication method</h1>
<p>The application asked for an authentication method this server does not offer. You have not been logged in.</p>
<p>Please contact the application's administrators.</p>`,
  );
}

/**
 * A login refused by the session limit (CAS's unique principal policy, or a maximum): the user
 * holds `maximum` sessions already. No session was created and no ticket issued.
 */
export function sessionLimitPage(maximum: number): string {
  const [held, then] =
    maximum === 1
      ? ['You are already logged in on another device or browser, and only one session at a time is allowed.', 'Log out there (or wait for that session to end)']
      : [`You already have active sessions on other devices or browsers, and at most ${maximum} at a time are allowed.`, 'Log out on one of them (or wait for a session to end)'];
  return page(
    'Too many sessions',
    `<h1>Too many sessions</h1>
<p>${held} You have not been logged in.</p>
<p>${then}, then try again.</p>`,
  );
}

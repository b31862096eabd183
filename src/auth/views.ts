import escapeHtml from 'escape-html';

/** Server-rendered pages: no external assets, no script except the nonce'd auto-submit form. */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}label{display:block;margin-top:1rem}input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00000;border:1px solid #a00000;padding:.6rem;margin-top:1rem}`;

function page(title: string, body: string, nonce?: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style${nonce ? ` nonce="${nonce}"` : ''}>${STYLE}</style></head>
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
</form>`,
  );
}

export function loggedInPage(principal: string): string {
  return page(
    'Logged in',
    `<h1>Log in successful</h1><p>You, <strong>${escapeHtml(principal)}</strong>, have successfully logged into the Central Authentication Service.</p>
<p>When you are finished, <a href="logout">log out</a> and close your browser.</p>`,
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

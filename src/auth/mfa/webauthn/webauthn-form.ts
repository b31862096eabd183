import escapeHtml from 'escape-html';

/** What a WebAuthn form runs: the ceremony and its options (JSON for the page script). */
export interface WebAuthnFormPrompt {
  ceremony: 'registration' | 'authentication';
  options: unknown;
}

/** The `<script>` elements of a WebAuthn page: this server's files only (CSP script-src 'self'). */
export function scriptTags(scripts: string[]): string {
  return scripts.map((s) => `<script src="${escapeHtml(s)}" defer></script>`).join('');
}

/**
 * The form a WebAuthn ceremony posts: the ceremony's options for the page script, the token, and
 * the browser's answer in `response` (filled by the script). `_eventId` says which step; `lead`
 * and `extra` are markup of the caller (escaped there). Shared by the WebAuthn pages and the
 * login form's passkey button (views.ts), which is why it imports no view.
 */
export function webauthnForm(m: { eventId: string; execution: string; prompt: WebAuthnFormPrompt; button: string; hidden?: boolean; extra?: string; lead?: string }): string {
  return `<form method="post" action="login" autocomplete="off" data-webauthn="${m.prompt.ceremony}" data-options="${escapeHtml(JSON.stringify(m.prompt.options))}"${m.hidden ? ' hidden' : ''}>
${m.lead ?? ''}<input type="hidden" name="execution" value="${escapeHtml(m.execution)}">
<input type="hidden" name="_eventId" value="${escapeHtml(m.eventId)}">
<input type="hidden" name="response" value="">${m.extra ?? ''}
<button type="submit">${escapeHtml(m.button)}</button>
<p class="webauthn-status" role="status" aria-live="polite"></p>
</form>`;
}


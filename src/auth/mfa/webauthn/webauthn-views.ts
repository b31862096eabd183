import escapeHtml from 'escape-html';
import { page } from '../../views';
import type { WebAuthnPrompt } from './webauthn-ceremonies';
import { scriptTags, webauthnForm } from './webauthn-form';

export interface WebAuthnPageModel {
  execution: string;
  error?: string;
  prompt: WebAuthnPrompt;
  /** The scripts' relative URLs (WebAuthnAssets.scripts()). */
  scripts: string[];
  /** Trusted devices: the period the "remember this browser" box offers ("30 days"); absent, no box. */
  rememberBrowser?: string | null;
}

/**
 * The second step of a login that needs mfa-webauthn: the user's security key or passkey, or,
 * for a user without one, its registration (which then counts as the factor, as CAS's).
 */
export function webauthnPage(m: WebAuthnPageModel): string {
  const registration = m.prompt.ceremony === 'registration';
  const title = registration ? 'Set up a security key or passkey' : 'Verify with your security key or passkey';
  const intro = registration
    ? `<p>This login needs a security key or passkey, and none is registered for your account yet. Register one now: your browser will ask you to touch your security key, or to use this device's screen lock (fingerprint, face or PIN) or your phone.</p>`
    : `<p>Use your security key or passkey to finish logging in: your browser will ask you to touch the key, or to use this device's screen lock (fingerprint, face or PIN) or your phone.</p>`;
  return page(
    title,
    `<h1>${title}</h1>
${m.error ? `<p class="error" role="alert">${escapeHtml(m.error)}</p>` : ''}
${intro}
${webauthnForm({
    eventId: 'webauthn',
    execution: m.execution,
    prompt: m.prompt,
    button: registration ? 'Register security key or passkey' : 'Use security key or passkey',
    extra: m.rememberBrowser ? `\n<label><input type="checkbox" name="trustDevice" value="true"> Remember this browser for ${escapeHtml(m.rememberBrowser)}</label>` : '',
  })}
<noscript><p class="error">This step needs JavaScript: turn it on for this site, then reload the page.</p></noscript>
<p><a href="login">Start over</a></p>
${scriptTags(m.scripts)}`,
  );
}

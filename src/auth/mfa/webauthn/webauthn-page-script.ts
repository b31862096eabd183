/**
 * The script of the WebAuthn pages, served as its own file (webauthn-assets.ts) under the
 * pages' CSP `script-src 'self'`: no inline script, no eval. Kept as a string here so the build
 * (tsc, which copies no .js) and the Docker image carry it without a copy step.
 *
 * Each `form[data-webauthn]` holds the ceremony's options (JSON in `data-options`, from the
 * server); its submit button starts the browser's ceremony through @simplewebauthn/browser
 * (loaded before this script as the global SimpleWebAuthnBrowser), puts the JSON result into the
 * hidden `response` field and posts the form. A cancelled or failed ceremony leaves the page as
 * it was, with a message, and the button to try again (the token is not used up). Forms marked
 * `hidden` (the passkey button of the login form) are shown only where the browser can do it.
 */
export const WEBAUTHN_PAGE_SCRIPT = `(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  var supported = !!(lib && lib.browserSupportsWebAuthn());
  function message(error) {
    var name = error && error.name;
    if (name === 'NotAllowedError' || name === 'AbortError') return 'The request was cancelled or timed out. Try again.';
    if (name === 'InvalidStateError') return 'This security key or passkey is already registered.';
    if (name === 'SecurityError') return 'This page cannot use security keys or passkeys (its address does not match the server settings).';
    return 'Your browser could not complete the request. Try again, or use another security key or browser.';
  }
  function setUp(form) {
    var status = form.querySelector('.webauthn-status');
    var button = form.querySelector('button');
    var say = function (text) { if (status) status.textContent = text; };
    if (!supported) {
      if (form.hasAttribute('hidden')) return;
      say('This browser does not support security keys or passkeys.');
      if (button) button.disabled = true;
      return;
    }
    form.removeAttribute('hidden');
    var ceremony = form.getAttribute('data-webauthn');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var options;
      try { options = JSON.parse(form.getAttribute('data-options')); } catch (e) { say(message(e)); return; }
      if (button) button.disabled = true;
      say(ceremony === 'registration' ? 'Follow your browser to register your security key or passkey…' : 'Follow your browser to use your security key or passkey…');
      var run = ceremony === 'registration' ? lib.startRegistration({ optionsJSON: options }) : lib.startAuthentication({ optionsJSON: options });
      run.then(function (result) {
        form.elements.namedItem('response').value = JSON.stringify(result);
        say('Checking…');
        form.submit();
      }, function (error) {
        if (button) button.disabled = false;
        say(message(error));
      });
    });
  }
  var forms = document.querySelectorAll('form[data-webauthn]');
  for (var i = 0; i < forms.length; i++) setUp(forms[i]);
})();
`;

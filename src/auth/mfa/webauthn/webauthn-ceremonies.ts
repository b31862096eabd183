import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { createHash } from 'node:crypto';
import { usernameKey } from '../../../common/username';
import { CAS_CONFIG, type CasConfig } from '../../../config/cas-config';
import type { PendingMfa } from '../pending-mfa';
import { WebAuthnCredentials, type WebAuthnCredential } from './webauthn-credentials';

/** What the page's script hands to the browser's WebAuthn call, as JSON. */
export type WebAuthnOptions = PublicKeyCredentialCreationOptionsJSON | PublicKeyCredentialRequestOptionsJSON;

/** The ceremony a page runs: a registration (a user without a credential) or an assertion. */
export interface WebAuthnPrompt {
  ceremony: 'registration' | 'authentication';
  options: WebAuthnOptions;
}

/**
 * Why a response was refused: `invalid` (malformed, wrong challenge, origin, relying party,
 * signature, user verification, or a credential not the user's), `cloned` (a signed assertion
 * whose counter did not grow: the credential is flagged now), `flagged` (flagged before),
 * `exists` (a registration of a credential id already registered, or a second device while
 * multiple-device registration is off).
 */
export type WebAuthnRefusal = 'invalid' | 'cloned' | 'flagged' | 'exists';

export type WebAuthnVerification = { ok: true; credentialId: string } | { ok: false; reason: WebAuthnRefusal };

/** A passkey login's result: the credential's user, when the assertion holds. */
export type PasskeyVerification = { ok: true; username: string; credentialId: string } | { ok: false; reason: WebAuthnRefusal };

/** Five minutes to touch the key (CAS's library default is the browser's). */
const TIMEOUT_MS = 300_000;

/**
 * The WebAuthn ceremonies of `mfa-webauthn` (W3C WebAuthn L2/L3 through @simplewebauthn/server):
 * options with a fresh challenge, and the verification of what the browser sends back, bound to
 * that challenge, the relying party id and the allowed origins. The challenge is never stored
 * here: it travels in the login's single-use execution token (PendingMfa, or the passkey form's
 * token), so a response can be verified once, by any node, and only for the login it was made for.
 */
@Injectable()
export class WebAuthnCeremonies {
  private readonly logger = new Logger('WebAuthn');

  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly credentials: WebAuthnCredentials,
  ) {}

  get enabled(): boolean {
    return this.config.webAuthn.enabled;
  }

  /** The login form offers "Sign in with a passkey". */
  get passkeysOffered(): boolean {
    return this.config.webAuthn.enabled && this.config.webAuthn.allowPrimaryAuthentication;
  }

  /**
   * The second factor's page for `pending`: an assertion with the user's credentials, or, for a
   * user without any, the registration of one (enrolment right after the password, as CAS).
   * A user whose every credential is flagged is still asked for an assertion (and refused): a
   * flagged key must not turn into a way to register a new one with the password alone.
   */
  async prompt(pending: PendingMfa): Promise<{ pending: PendingMfa; prompt: WebAuthnPrompt }> {
    const w = this.config.webAuthn;
    const existing = await this.credentials.list(pending.username);
    let prompt: WebAuthnPrompt;
    if (existing.length === 0) {
      const displayName = pending.attributes[w.displayNameAttribute]?.[0] ?? pending.username;
      const options = await generateRegistrationOptions({
        rpName: w.relyingPartyName,
        rpID: w.relyingPartyId,
        userName: pending.username,
        userID: userHandle(pending.username),
        userDisplayName: displayName.slice(0, 64),
        timeout: TIMEOUT_MS,
        // The library knows direct and none: indirect (anonymised by the client) is taken as none.
        attestationType: w.attestationConveyancePreference === 'direct' ? 'direct' : 'none',
        // Discoverable when the authenticator can (a passkey), so it can also sign in without a username.
        authenticatorSelection: { residentKey: 'preferred', userVerification: w.userVerification },
      });
      prompt = { ceremony: 'registration', options };
    } else {
      const options = await generateAuthenticationOptions({
        rpID: w.relyingPartyId,
        allowCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
        userVerification: w.userVerification,
        timeout: TIMEOUT_MS,
      });
      prompt = { ceremony: 'authentication', options };
    }
    return { pending: { ...pending, webauthnChallenge: prompt.options.challenge, webauthnCeremony: prompt.ceremony }, prompt };
  }

  /** The options of "Sign in with a passkey": any discoverable credential of this relying party, user verification required. */
  async passkeyOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({ rpID: this.config.webAuthn.relyingPartyId, userVerification: 'required', timeout: TIMEOUT_MS });
  }

  /** The second factor: the browser's response to the page `pending` was served with. */
  async verify(pending: PendingMfa, responseText: string): Promise<WebAuthnVerification> {
    const challenge = pending.webauthnChallenge;
    const response = parseResponse(responseText);
    if (!challenge || !response) return { ok: false, reason: 'invalid' };
    if (pending.webauthnCeremony === 'registration') return this.register(pending, challenge, response as unknown as RegistrationResponseJSON);
    const credential = await this.credentials.findByCredentialId(String(response.id));
    // Another user's credential proves nothing about this one.
    if (!credential || usernameKey(credential.username) !== usernameKey(pending.username)) return { ok: false, reason: 'invalid' };
    return this.assert(credential, challenge, response as unknown as AuthenticationResponseJSON, this.config.webAuthn.userVerification === 'required');
  }

  /** The credential id of a passkey response, to find its user before anything is verified (throttling). */
  async passkeyOwner(responseText: string): Promise<string | null> {
    const response = parseResponse(responseText);
    const credential = response ? await this.credentials.findByCredentialId(String(response.id)) : null;
    return credential?.username ?? null;
  }

  /**
   * "Sign in with a passkey": the assertion names its credential, the credential its user. The
   * authenticator must have verified its user (PIN, biometrics): the passkey stands for the
   * password too. The user handle, when the authenticator sends one, must be the credential's.
   */
  async verifyPasskey(challenge: string, responseText: string): Promise<PasskeyVerification> {
    const response = parseResponse(responseText) as unknown as AuthenticationResponseJSON | null;
    if (!response) return { ok: false, reason: 'invalid' };
    const credential = await this.credentials.findByCredentialId(String(response.id));
    if (!credential) return { ok: false, reason: 'invalid' };
    const handle = response.response?.userHandle;
    if (handle !== undefined && handle !== Buffer.from(userHandle(credential.username)).toString('base64url')) return { ok: false, reason: 'invalid' };
    const result = await this.assert(credential, challenge, response, true);
    return result.ok ? { ok: true, username: credential.username, credentialId: credential.id } : result;
  }

  private async register(pending: PendingMfa, challenge: string, response: RegistrationResponseJSON): Promise<WebAuthnVerification> {
    const w = this.config.webAuthn;
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: w.allowedOrigins,
        expectedRPID: w.relyingPartyId,
        requireUserVerification: w.userVerification === 'required',
      });
    } catch (e) {
      this.refused('registration', e);
      return { ok: false, reason: 'invalid' };
    }
    if (!verified.verified) return { ok: false, reason: 'invalid' };
    const info = verified.registrationInfo;
    const id = await this.credentials.add(
      {
        credentialId: info.credential.id,
        username: pending.username,
        publicKey: info.credential.publicKey,
        signCount: info.credential.counter,
        transports: (info.credential.transports ?? []).filter((t) => /^[a-z-]{1,20}$/.test(t)).slice(0, 8),
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
        userVerified: info.userVerified,
        name: info.credentialDeviceType === 'multiDevice' ? 'Passkey' : 'Security key',
      },
      !w.multipleDeviceRegistrationEnabled,
    );
    return id ? { ok: true, credentialId: id } : { ok: false, reason: 'exists' };
  }

  /**
   * An assertion of `credential`. The library is given a counter of 0 so that it checks the
   * signature first: only a response the authenticator really signed may flag a credential
   * (otherwise anyone could disable a user's key by posting a low counter). The counter is then
   * compared here, and recorded by a conditional UPDATE.
   */
  private async assert(credential: WebAuthnCredential, challenge: string, response: AuthenticationResponseJSON, requireUserVerification: boolean): Promise<WebAuthnVerification> {
    const w = this.config.webAuthn;
    if (credential.flaggedAt) return { ok: false, reason: 'flagged' };
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: w.allowedOrigins,
        expectedRPID: w.relyingPartyId,
        credential: { id: credential.credentialId, publicKey: Uint8Array.from(credential.publicKey), counter: 0, transports: credential.transports },
        requireUserVerification,
      });
    } catch (e) {
      this.refused('authentication', e);
      return { ok: false, reason: 'invalid' };
    }
    if (!verified.verified) return { ok: false, reason: 'invalid' };
    const { newCounter, credentialBackedUp } = verified.authenticationInfo;
    const stored = credential.signCount;
    // Authenticators without a counter send 0 every time (many passkeys): nothing to compare.
    if (w.validateSignatureCounter && (newCounter > 0 || stored > 0) && newCounter <= stored) {
      await this.credentials.flag(credential.id);
      this.logger.warn(`credential ${credential.id} of a user presented signature counter ${newCounter}, stored ${stored}: possibly cloned, flagged`);
      return { ok: false, reason: 'cloned' };
    }
    const counter = w.validateSignatureCounter ? newCounter : Math.max(newCounter, stored);
    // Lost to a concurrent assertion with the same counter (the same response twice): refused, not flagged.
    if (!(await this.credentials.recordUse(credential.id, counter, credentialBackedUp, w.validateSignatureCounter))) return { ok: false, reason: 'invalid' };
    return { ok: true, credentialId: credential.id };
  }

  /** The library's reason, for the log only (it names no secret: origins, ids, flags). */
  private refused(ceremony: string, e: unknown): void {
    const text = e instanceof Error ? e.message : String(e);
    this.logger.log(`${ceremony} response refused: ${text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300)}`);
  }
}

/**
 * The WebAuthn user handle of a user: SHA-256 of the canonical username, the same for every
 * credential of the user (an authenticator replaces its passkey for the account rather than
 * adding one), and no username in clear on the authenticator (WebAuthn §14.6.1).
 */
export function userHandle(username: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(createHash('sha256').update(`cas-webauthn-user:${usernameKey(username)}`, 'utf8').digest());
}

/** The browser's JSON (registration or assertion), or null when it is not one. */
type ResponseJSON = { id: string; response: { userHandle?: string } } & Record<string, unknown>;

function parseResponse(text: string): ResponseJSON | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || typeof (value as { id?: unknown }).id !== 'string') return null;
    if (typeof (value as { response?: unknown }).response !== 'object' || (value as { response?: unknown }).response === null) return null;
    return value as ResponseJSON;
  } catch {
    return null;
  }
}

/** What the page says for each refusal (never which check failed: that is for the log). */
export function webAuthnRefusalMessage(reason: WebAuthnRefusal): string {
  switch (reason) {
    case 'invalid':
      return 'Your security key or passkey was not accepted. Please try again.';
    case 'cloned':
    case 'flagged':
      return 'This security key or passkey has been blocked because it may have been copied. Please contact your help desk or system administrator.';
    case 'exists':
      return 'This security key or passkey is already registered. Please use another one, or start over.';
  }
}

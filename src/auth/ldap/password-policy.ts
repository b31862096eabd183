import type { BerReader, BerWriter } from 'asn1';
import { Control, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import type { AccountState, PasswordWarning } from '../handlers/authentication-handler';
import {
  activeDirectoryBindState,
  activeDirectoryPasswordExpiry,
  AD_PASSWORD_EXPIRY_ATTRIBUTE,
} from './active-directory-errors';

/**
 * `cas.authn.ldap[n].password-policy.*`: how a directory's account states are read.
 * `GENERIC`: OpenLDAP's ppolicy response control; `AD`: Active Directory's bind error sub-codes
 * and account attributes.
 */
export interface PasswordPolicySettings {
  enabled: boolean;
  type: 'GENERIC' | 'AD';
  /** A password expiring within this many days gives a warning after login. */
  warningDays: number;
  /** Where the warning page sends the user to change the password. */
  passwordChangeUrl?: string;
}

/** What the user's bind means for the login. */
export type BindOutcome =
  | { kind: 'success'; warning?: PasswordWarning }
  | { kind: 'rejected'; state?: AccountState; changeUrl?: string }
  | { kind: 'unavailable'; error: unknown };

/** The `error` ENUMERATED of draft-behera-ldap-password-policy, by value. */
export const PASSWORD_POLICY_ERRORS = [
  'passwordExpired',
  'accountLocked',
  'changeAfterReset',
  'passwordModNotAllowed',
  'mustSupplyOldPassword',
  'insufficientPasswordQuality',
  'passwordTooShort',
  'passwordTooYoung',
  'passwordInHistory',
] as const;
export type PasswordPolicyError = (typeof PASSWORD_POLICY_ERRORS)[number];

/** PasswordPolicyResponseValue, decoded. Warning and error are both optional, as in the draft. */
export interface PasswordPolicyResponse {
  /** Seconds until the password expires (warning, within the server's pwdExpireWarning). */
  timeBeforeExpiration?: number;
  /** The password has expired; this many more logins are allowed with it (warning). */
  graceAuthNsRemaining?: number;
  /** Why the server refuses (or, for changeAfterReset, restricts) the account. */
  error?: PasswordPolicyError;
  /** The error's value when it is none of the draft's (kept for the log). */
  unknownError?: number;
}

// Tags of PasswordPolicyResponseValue (the draft's module is IMPLICIT TAGS; the [0] CHOICE is
// explicit, hence constructed). OpenLDAP's ppolicy.c encodes with these same tags.
const SEQUENCE = 0x30;
const WARNING = 0xa0;
const TIME_BEFORE_EXPIRATION = 0x80;
const GRACE_AUTHNS_REMAINING = 0x81;
const ERROR = 0x81;
/** The draft's maxInt (INTEGER (0 .. maxInt)). */
const MAX_INT = 2_147_483_647;

/**
 * Decodes PasswordPolicyResponseValue from the control value's reader:
 *
 *   PasswordPolicyResponseValue ::= SEQUENCE {
 *     warning [0] CHOICE { timeBeforeExpiration [0] INTEGER (0 .. maxInt),
 *                          graceAuthNsRemaining [1] INTEGER (0 .. maxInt) } OPTIONAL,
 *     error   [1] ENUMERATED { passwordExpired (0), accountLocked (1), ... } OPTIONAL }
 *
 * An absent value says nothing (empty response). A malformed one throws: ldapts then fails the bind
 * it came with, so the login is refused as "unavailable" rather than let through without the
 * state the server meant to give.
 */
export function decodePasswordPolicyResponse(reader: BerReader): PasswordPolicyResponse {
  const response: PasswordPolicyResponse = {};
  if (reader.peek() === null) return response;
  if (reader.readSequence(SEQUENCE) === null) throw malformed('truncated sequence');
  const end = reader.offset + reader.length;
  while (reader.offset < end) {
    const tag = reader.peek();
    if (tag === WARNING) {
      if (reader.readSequence(WARNING) === null) throw malformed('truncated warning');
      const choice = reader.peek();
      if (choice === TIME_BEFORE_EXPIRATION) {
        response.timeBeforeExpiration = readNonNegativeInteger(reader, choice);
      } else if (choice === GRACE_AUTHNS_REMAINING) {
        response.graceAuthNsRemaining = readNonNegativeInteger(reader, choice);
      } else {
        throw malformed(`warning choice 0x${choice?.toString(16)}`);
      }
    } else if (tag === ERROR) {
      const value = readNonNegativeInteger(reader, ERROR);
      const error = PASSWORD_POLICY_ERRORS[value];
      if (error) response.error = error;
      else response.unknownError = value;
    } else {
      throw malformed(`element 0x${tag?.toString(16)}`);
    }
  }
  return response;
}

/** A context-tagged INTEGER/ENUMERATED: the library reads the element, Node the two's complement. */
function readNonNegativeInteger(reader: BerReader, tag: number): number {
  const content = reader.readString(tag, true);
  if (content === null || content.length === 0 || content.length > 6) {
    throw malformed(`integer 0x${tag.toString(16)}`);
  }
  const value = content.readIntBE(0, content.length);
  if (value < 0 || value > MAX_INT) throw malformed(`integer 0x${tag.toString(16)} out of range: ${value}`);
  return value;
}

function malformed(what: string): Error {
  return new Error(`Malformed password policy response control: ${what}`);
}

/**
 * The password policy request control (draft-behera-ldap-password-policy, OID
 * 1.3.6.1.4.1.42.2.27.8.5.1), sent non-critical and without a value on the user's bind: a server
 * without ppolicy ignores it. ldapts hands the response control of the same OID to the request
 * control it came for (ControlParser looks it up among the request's controls), so the answer is
 * read from `value` once the bind has settled, whether it succeeded or threw.
 * Use one per bind: sending it again forgets the previous answer.
 */
export class PasswordPolicyControl extends Control {
  static readonly type = '1.3.6.1.4.1.42.2.27.8.5.1';
  /** The server's answer to the last bind this control was sent with; undefined when none came. */
  value?: PasswordPolicyResponse;

  constructor() {
    super(PasswordPolicyControl.type, { critical: false });
  }

  override write(writer: BerWriter): void {
    this.value = undefined;
    super.write(writer);
  }

  protected override parseControl(reader: BerReader): void {
    this.value = decodePasswordPolicyResponse(reader);
  }
}

/** A fresh request control for the user's bind when the policy is `GENERIC` and enabled. */
export function passwordPolicyControl(settings: PasswordPolicySettings): PasswordPolicyControl | undefined {
  return settings.enabled && settings.type === 'GENERIC' ? new PasswordPolicyControl() : undefined;
}

/** The attributes the entry search must also return for the policy (AD's expiry time). */
export function passwordPolicyAttributes(settings: PasswordPolicySettings): string[] {
  return settings.enabled && settings.type === 'AD' ? [AD_PASSWORD_EXPIRY_ATTRIBUTE] : [];
}

/**
 * The states ppolicy errors mean, as CAS's DefaultLdapAccountStateHandler maps them.
 * insufficientPasswordQuality: CAS's AccountPasswordMustChangeException too. The other errors
 * answer password changes, not binds.
 */
const STATE_BY_PPOLICY_ERROR: Partial<Record<PasswordPolicyError, AccountState>> = {
  accountLocked: 'locked',
  passwordExpired: 'password-expired',
  changeAfterReset: 'must-change-password',
  insufficientPasswordQuality: 'must-change-password',
};

const SECONDS_PER_DAY = 86_400;

/** The user's entry as the search returned it (ldapts's Entry fits). */
export type EntryAttributes = Readonly<Record<string, string | string[] | Buffer | Buffer[]>>;

/**
 * What binding as the user means, CAS's way (LdapAuthenticationHandler with the account state
 * handler of `password-policy.type`):
 * - `error`: what the bind threw, undefined when it succeeded;
 * - `control`: the PasswordPolicyControl sent with the bind (`GENERIC`);
 * - `entry`: the user's entry, searched after the bind, with `passwordPolicyAttributes` (`AD`);
 * - `now`: the injected clock's time, for AD's expiry date.
 * A refused password is `rejected`, with the account state when the directory gave one; an error
 * that is not about the credentials (connection, timeout, busy, …) is `unavailable`. Without an
 * enabled policy there are no states and no warnings.
 */
export function bindOutcome(
  settings: PasswordPolicySettings,
  error: unknown,
  control?: PasswordPolicyControl,
  entry?: EntryAttributes,
  now: Date = new Date(),
): BindOutcome {
  if (!settings.enabled) return plainOutcome(error);
  return settings.type === 'AD' ? activeDirectoryOutcome(settings, error, entry, now) : genericOutcome(settings, error, control);
}

function plainOutcome(error: unknown): BindOutcome {
  if (error === undefined) return { kind: 'success' };
  if (error instanceof InvalidCredentialsError) return { kind: 'rejected' };
  return { kind: 'unavailable', error };
}

/**
 * OpenLDAP's ppolicy: the response control says why. A policy error decides even when the bind
 * succeeded (changeAfterReset: the server accepts the password but allows nothing until it is
 * changed) and whatever result code the refusal had (389 DS answers a lockout with
 * constraintViolation). The warnings only come with a successful bind.
 */
function genericOutcome(settings: PasswordPolicySettings, error: unknown, control?: PasswordPolicyControl): BindOutcome {
  const response = control?.value;
  const state = response?.error && STATE_BY_PPOLICY_ERROR[response.error];
  if (state && (error === undefined || error instanceof ResultCodeError)) return refusedFor(settings, state);
  if (error !== undefined) return plainOutcome(error);
  if (response?.graceAuthNsRemaining !== undefined) {
    // The password has expired: always said, even on the last grace login (0 left).
    return { kind: 'success', warning: withChangeUrl(settings, { graceLoginsRemaining: response.graceAuthNsRemaining }) };
  }
  if (response?.timeBeforeExpiration !== undefined) {
    return expiryWarning(settings, response.timeBeforeExpiration);
  }
  return { kind: 'success' };
}

/** A refusal for an account state; the states the user ends by changing the password link to where. */
function refusedFor(settings: PasswordPolicySettings, state: AccountState): BindOutcome {
  const changeable = state === 'password-expired' || state === 'must-change-password';
  return changeable && settings.passwordChangeUrl ? { kind: 'rejected', state, changeUrl: settings.passwordChangeUrl } : { kind: 'rejected', state };
}

/** Active Directory: the sub-code in the refusal's message; the expiry time in the entry. */
function activeDirectoryOutcome(
  settings: PasswordPolicySettings,
  error: unknown,
  entry: EntryAttributes | undefined,
  now: Date,
): BindOutcome {
  if (error instanceof InvalidCredentialsError) {
    const state = activeDirectoryBindState(error.message);
    return state ? refusedFor(settings, state) : { kind: 'rejected' };
  }
  if (error !== undefined) return plainOutcome(error);
  const expiry = activeDirectoryPasswordExpiry(firstValue(entry, AD_PASSWORD_EXPIRY_ATTRIBUTE));
  if (!expiry) return { kind: 'success' };
  return expiryWarning(settings, (expiry.getTime() - now.getTime()) / 1000);
}

/**
 * The warning for a password expiring in `seconds`, within `warning-days` (CAS: whole days left
 * < warning-days, i.e. seconds < warning-days × 86400); the days shown are rounded up, so a
 * password expiring in 2.5 days says 3.
 */
function expiryWarning(settings: PasswordPolicySettings, seconds: number): BindOutcome {
  if (seconds < 0 || seconds >= settings.warningDays * SECONDS_PER_DAY) return { kind: 'success' };
  return { kind: 'success', warning: withChangeUrl(settings, { passwordExpiresInDays: Math.ceil(seconds / SECONDS_PER_DAY) }) };
}

function withChangeUrl(settings: PasswordPolicySettings, warning: PasswordWarning): PasswordWarning {
  return settings.passwordChangeUrl ? { ...warning, changeUrl: settings.passwordChangeUrl } : warning;
}

/** An attribute's first value as text; attribute names are case-insensitive. */
function firstValue(
  entry: EntryAttributes | undefined,
  name: string,
): string | undefined {
  if (!entry) return undefined;
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

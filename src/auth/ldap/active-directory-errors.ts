import type { AccountState } from '../handlers/authentication-handler';

/**
 * Active Directory refuses a simple bind with resultCode 49 and says why in the diagnostic message,
 * as a Win32 error in hex after `data`:
 *   80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data 775, v4563
 * The codes and the states CAS gives them: ldaptive's ActiveDirectoryAccountState.Error (which
 * parses `data (\w+)` as hex) mapped by CAS's DefaultLdapAccountStateHandler.
 * - 0x525 ERROR_NO_SUCH_USER and 0x52e ERROR_LOGON_FAILURE have no state: CAS maps 525 to nothing
 *   and 52e to FailedLoginException, so both show the generic failure (an unknown name looks like a
 *   wrong password). AD itself answers 52e for most unknown names.
 * - The others are sent only once the password was right, so their pages reveal nothing to
 *   someone guessing (775, locked out, is sent whatever the password).
 */
const STATE_BY_AD_ERROR = new Map<number, AccountState | undefined>([
  [0x525, undefined], // ERROR_NO_SUCH_USER (1317)
  [0x52e, undefined], // ERROR_LOGON_FAILURE (1326)
  [0x530, 'invalid-login-time'], // ERROR_INVALID_LOGON_HOURS (1328): InvalidLoginTimeException
  [0x531, 'invalid-workstation'], // ERROR_INVALID_WORKSTATION (1329): InvalidLoginLocationException
  [0x532, 'password-expired'], // ERROR_PASSWORD_EXPIRED (1330): CredentialExpiredException
  [0x533, 'disabled'], // ERROR_ACCOUNT_DISABLED (1331): AccountDisabledException
  [0x701, 'account-expired'], // ERROR_ACCOUNT_EXPIRED (1793): AccountExpiredException
  [0x773, 'must-change-password'], // ERROR_PASSWORD_MUST_CHANGE (1907): AccountPasswordMustChangeException
  [0x775, 'locked'], // ERROR_ACCOUNT_LOCKED_OUT (1909): AccountLockedException
]);

/** The Win32 error AD gave in a bind's diagnostic message (`data 775` → 0x775), if any. */
export function activeDirectoryErrorCode(diagnosticMessage: string): number | undefined {
  const match = /\bdata ([0-9a-f]+)\b/i.exec(diagnosticMessage);
  return match ? Number.parseInt(match[1], 16) : undefined;
}

/**
 * The account state an AD bind refusal carries; undefined for a wrong password, an unknown user,
 * and any message without a code this server knows (the generic failure page).
 */
export function activeDirectoryBindState(diagnosticMessage: string): AccountState | undefined {
  const code = activeDirectoryErrorCode(diagnosticMessage);
  return code === undefined ? undefined : STATE_BY_AD_ERROR.get(code);
}

/**
 * The constructed attribute AD computes as pwdLastSet + the effective maximum password age, the one
 * CAS's AD policy (ldaptive's ActiveDirectoryAuthenticationResponseHandler) reads after a successful
 * bind; the handler asks for it in the entry search. CAS asks for pwdLastSet too, but uses it only
 * with an expiration period it never configures.
 */
export const AD_PASSWORD_EXPIRY_ATTRIBUTE = 'msDS-UserPasswordExpiryTimeComputed';

/** 100-ns intervals from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
/** 0x7FFFFFFFFFFFFFFF: the password never expires (MS-ADTS, msDS-UserPasswordExpiryTimeComputed). */
const FILETIME_NEVER = 0x7fff_ffff_ffff_ffffn;

/**
 * When the password expires, from `msDS-UserPasswordExpiryTimeComputed` (a Windows FILETIME in
 * decimal); undefined when it never does (0x7FFFFFFFFFFFFFFF), must be changed at next logon (0:
 * AD refuses that bind with 773 anyway) or the value is absent or unreadable.
 */
export function activeDirectoryPasswordExpiry(value: string | undefined): Date | undefined {
  if (value === undefined || !/^\d{1,20}$/.test(value.trim())) return undefined;
  const filetime = BigInt(value.trim());
  if (filetime === 0n || filetime >= FILETIME_NEVER) return undefined;
  return new Date(Number((filetime - FILETIME_UNIX_EPOCH) / 10_000n));
}

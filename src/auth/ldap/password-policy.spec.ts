import { BerReader, BerWriter } from 'asn1';
import {
  BindRequest,
  BusyError,
  ConstraintViolationError,
  ControlParser,
  InvalidCredentialsError,
  MessageParser,
  StatusCodeParser,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';
import {
  activeDirectoryBindState,
  activeDirectoryErrorCode,
  activeDirectoryPasswordExpiry,
} from './active-directory-errors';
import {
  bindOutcome,
  decodePasswordPolicyResponse,
  PasswordPolicyControl,
  passwordPolicyAttributes,
  passwordPolicyControl,
  type PasswordPolicyResponse,
  type PasswordPolicySettings,
} from './password-policy';

const OID = '1.3.6.1.4.1.42.2.27.8.5.1';
const generic: PasswordPolicySettings = { enabled: true, type: 'GENERIC', warningDays: 7, passwordChangeUrl: 'https://pw.example.org/change' };
const ad: PasswordPolicySettings = { ...generic, type: 'AD' };
const DAY = 86_400;

/** PasswordPolicyResponseValue as a server encodes it, built with the library's writer. */
function responseValue(parts: { time?: number; grace?: number; error?: number }): Buffer {
  const w = new BerWriter();
  w.startSequence();
  if (parts.time !== undefined || parts.grace !== undefined) {
    w.startSequence(0xa0);
    if (parts.time !== undefined) w.writeInt(parts.time, 0x80);
    else w.writeInt(parts.grace!, 0x81);
    w.endSequence();
  }
  if (parts.error !== undefined) w.writeEnumeration(parts.error, 0x81);
  w.endSequence();
  return w.buffer;
}

function decode(bytes: Buffer | number[]): PasswordPolicyResponse {
  return decodePasswordPolicyResponse(new BerReader(Buffer.from(bytes)));
}

/** A bind's control after a response with this value, through ldapts's own control parsing. */
function answered(value: Buffer): PasswordPolicyControl {
  const control = new PasswordPolicyControl();
  const w = new BerWriter();
  w.startSequence();
  w.writeString(OID);
  w.writeBuffer(value, 0x04);
  w.endSequence();
  expect(ControlParser.parse(new BerReader(w.buffer), [control])).toBe(control);
  return control;
}

describe('PasswordPolicyControl (draft-behera-ldap-password-policy)', () => {
  it('is sent non-critical, without a value, under the ppolicy OID', () => {
    const w = new BerWriter();
    new PasswordPolicyControl().write(w);
    const expected = new BerWriter();
    expected.startSequence();
    expected.writeString(OID);
    expected.writeBoolean(false);
    expected.endSequence();
    expect(w.buffer).toEqual(expected.buffer);
  });

  it.each([
    ['timeBeforeExpiration', { time: 2513067 }, { timeBeforeExpiration: 2513067 }],
    ['timeBeforeExpiration 0', { time: 0 }, { timeBeforeExpiration: 0 }],
    ['timeBeforeExpiration maxInt', { time: 2147483647 }, { timeBeforeExpiration: 2147483647 }],
    ['graceAuthNsRemaining', { grace: 4 }, { graceAuthNsRemaining: 4 }],
    ['graceAuthNsRemaining 0', { grace: 0 }, { graceAuthNsRemaining: 0 }],
    ['passwordExpired', { error: 0 }, { error: 'passwordExpired' }],
    ['accountLocked', { error: 1 }, { error: 'accountLocked' }],
    ['changeAfterReset', { error: 2 }, { error: 'changeAfterReset' }],
    ['passwordInHistory', { error: 8 }, { error: 'passwordInHistory' }],
    ['an error beyond the draft', { error: 200 }, { unknownError: 200 }],
    ['changeAfterReset with timeBeforeExpiration', { time: 3600, error: 2 }, { timeBeforeExpiration: 3600, error: 'changeAfterReset' }],
    ['neither', {}, {}],
  ])('decodes %s', (_name, parts, expected) => {
    expect(decode(responseValue(parts))).toEqual(expected);
  });

  // The same values as ldaptive's PasswordPolicyControlTest writes them byte by byte
  // (vt-middleware/ldaptive core/src/test/java/org/ldaptive/control/PasswordPolicyControlTest.java).
  it.each([
    [[0x30, 0x07, 0xa0, 0x05, 0x80, 0x03, 0x26, 0x58, 0xab], { timeBeforeExpiration: 2513067 }],
    [[0x30, 0x05, 0xa0, 0x03, 0x81, 0x01, 0x04], { graceAuthNsRemaining: 4 }],
    [[0x30, 0x03, 0x81, 0x01, 0x00], { error: 'passwordExpired' }],
    [[0x30, 0x03, 0x81, 0x01, 0x01], { error: 'accountLocked' }],
    [[0x30, 0x0a, 0xa0, 0x05, 0x80, 0x03, 0x26, 0x58, 0xab, 0x81, 0x01, 0x02], { timeBeforeExpiration: 2513067, error: 'changeAfterReset' }],
    [[0x30, 0x00], {}],
    [[], {}],
  ])('decodes ldaptive\'s bytes %j', (bytes, expected) => {
    expect(decode(bytes)).toEqual(expected);
  });

  it.each([
    ['another outer tag', [0x31, 0x03, 0x81, 0x01, 0x01]],
    ['an unknown warning choice', [0x30, 0x05, 0xa0, 0x03, 0x82, 0x01, 0x04]],
    ['an unknown element', [0x30, 0x03, 0x82, 0x01, 0x01]],
    ['an empty integer', [0x30, 0x02, 0x81, 0x00]],
    ['a negative time', [0x30, 0x05, 0xa0, 0x03, 0x80, 0x01, 0xff]],
    ['a truncated integer', [0x30, 0x03, 0x81, 0x05, 0x01]],
    ['a sequence longer than the value', [0x30, 0x09, 0x81, 0x01, 0x01]],
  ])('refuses %s', (_name, bytes) => {
    expect(() => decode(bytes)).toThrow(/password policy|Expected/);
  });

  it('is filled by ldapts when the response carries the control of its OID', () => {
    expect(answered(responseValue({ error: 1 })).value).toEqual({ error: 'accountLocked' });
  });

  /**
   * BindResponse messages (messageID 2) captured from Debian's slapd 2.5.13 with the ppolicy overlay
   * (policy: pwdMaxAge 10 days, pwdExpireWarning 5 days, a grace policy with pwdGraceAuthNLimit 3),
   * read from ldapts's socket while binding with this control; beside each, what `ldapwhoami -e
   * ppolicy` prints for such a response.
   */
  it.each([
    ['a user in good standing: an empty response value', '302f02010261070a010004000400a021301f0419312e332e362e312e342e312e34322e322e32372e382e352e3104023000', {}, { kind: 'success' }],
    ['"Password expires in 259188 seconds"', '303602010261070a010004000400a02830260419312e332e362e312e342e312e34322e322e32372e382e352e3104093007a005800303f474', { timeBeforeExpiration: 259188 }, { kind: 'success', warning: { passwordExpiresInDays: 3, changeUrl: 'https://pw.example.org/change' } }],
    ['"Invalid credentials (49); Password expired"', '303202010261070a013104000400a02430220419312e332e362e312e342e312e34322e322e32372e382e352e3104053003810100', { error: 'passwordExpired' }, { kind: 'rejected', state: 'password-expired', changeUrl: 'https://pw.example.org/change' }],
    ['"Password expired, 1 grace logins remain"', '303402010261070a010004000400a02630240419312e332e362e312e342e312e34322e322e32372e382e352e3104073005a003810101', { graceAuthNsRemaining: 1 }, { kind: 'success', warning: { graceLoginsRemaining: 1, changeUrl: 'https://pw.example.org/change' } }],
    ['"Invalid credentials (49); Account locked"', '303202010261070a013104000400a02430220419312e332e362e312e342e312e34322e322e32372e382e352e3104053003810101', { error: 'accountLocked' }, { kind: 'rejected', state: 'locked' }],
    ['"Success (0); Password must be changed"', '303202010261070a010004000400a02430220419312e332e362e312e342e312e34322e322e32372e382e352e3104053003810102', { error: 'changeAfterReset' }, { kind: 'rejected', state: 'must-change-password', changeUrl: 'https://pw.example.org/change' }],
  ])('slapd\'s bind response through ldapts\'s message parser: %s', (_name, hex, value, outcome) => {
    const control = new PasswordPolicyControl();
    const request = new BindRequest({ messageId: 2, dn: 'uid=someone,ou=people,dc=example,dc=org', password: 'secret', controls: [control] });
    request.write(); // as the client does when it sends: forgets any earlier answer
    const details = { message: request, controls: [control] };
    const parser = new MessageParser();
    let response: Parameters<typeof StatusCodeParser.parse>[0];
    parser.on('message', (m) => (response = m));
    parser.on('error', (e) => {
      throw e;
    });
    parser.read(Buffer.from(hex, 'hex'), new Map([['2', details]]));

    expect(response).toBeDefined();
    expect(control.value).toEqual(value);
    // What Client.bind would throw (nothing for a success), then what the login makes of it.
    const error = response!.status === 0 ? undefined : StatusCodeParser.parse(response);
    expect(bindOutcome(generic, error, control)).toEqual(outcome);
  });

  it('sending it again forgets the previous answer', () => {
    const control = answered(responseValue({ error: 1 }));
    control.write(new BerWriter());
    expect(control.value).toBeUndefined();
    expect(bindOutcome(generic, undefined, control)).toEqual({ kind: 'success' });
  });

  it('is sent only with an enabled GENERIC policy; AD asks for its expiry attribute instead', () => {
    expect(passwordPolicyControl(generic)).toBeInstanceOf(PasswordPolicyControl);
    expect(passwordPolicyControl(ad)).toBeUndefined();
    expect(passwordPolicyControl({ ...generic, enabled: false })).toBeUndefined();
    expect(passwordPolicyAttributes(ad)).toEqual(['msDS-UserPasswordExpiryTimeComputed']);
    expect(passwordPolicyAttributes(generic)).toEqual([]);
    expect(passwordPolicyAttributes({ ...ad, enabled: false })).toEqual([]);
  });
});

/** A refusal for `state`: the states ended by a new password carry the configured change URL. */
function refusal(settings: PasswordPolicySettings, state: string): object {
  const changeable = state === 'password-expired' || state === 'must-change-password';
  return changeable && settings.passwordChangeUrl ? { kind: 'rejected', state, changeUrl: settings.passwordChangeUrl } : { kind: 'rejected', state };
}

describe('bindOutcome GENERIC (OpenLDAP ppolicy, CAS DefaultLdapAccountStateHandler)', () => {
  const refused = () => new InvalidCredentialsError();

  it.each([
    ['accountLocked', 'locked', 1],
    ['passwordExpired', 'password-expired', 0],
    ['changeAfterReset', 'must-change-password', 2],
    ['insufficientPasswordQuality', 'must-change-password', 5],
  ])('refused bind with %s → %s', (_name, state, error) => {
    expect(bindOutcome(generic, refused(), answered(responseValue({ error })))).toEqual(refusal(generic, state));
  });

  it('changeAfterReset on a successful bind still refuses: nothing is allowed until the password is changed', () => {
    expect(bindOutcome(generic, undefined, answered(responseValue({ error: 2 })))).toEqual({ kind: 'rejected', state: 'must-change-password', changeUrl: generic.passwordChangeUrl });
  });

  it('a lockout answered with another result code (389 DS: constraintViolation) is still locked', () => {
    const error = new ConstraintViolationError('Exceed password retry limit. Please try later.');
    expect(bindOutcome(generic, error, answered(responseValue({ error: 1 })))).toEqual({ kind: 'rejected', state: 'locked' });
  });

  it('a refused bind without a control, or with a control saying nothing, is rejected without state', () => {
    expect(bindOutcome(generic, refused())).toEqual({ kind: 'rejected' });
    expect(bindOutcome(generic, refused(), new PasswordPolicyControl())).toEqual({ kind: 'rejected' });
    expect(bindOutcome(generic, refused(), answered(responseValue({})))).toEqual({ kind: 'rejected' });
    expect(bindOutcome(generic, refused(), answered(responseValue({ error: 8 })))).toEqual({ kind: 'rejected' });
    expect(bindOutcome(generic, refused(), answered(responseValue({ error: 200 })))).toEqual({ kind: 'rejected' });
  });

  it.each([
    ['3 days', 3 * DAY, 3],
    ['2.5 days (rounded up)', 2.5 * DAY, 3],
    ['one hour', 3600, 1],
    ['just under warning-days', 7 * DAY - 1, 7],
  ])('timeBeforeExpiration %s → warning with the days left and the change URL', (_name, seconds, days) => {
    expect(bindOutcome(generic, undefined, answered(responseValue({ time: seconds })))).toEqual({
      kind: 'success',
      warning: { passwordExpiresInDays: days, changeUrl: 'https://pw.example.org/change' },
    });
  });

  it('timeBeforeExpiration at or beyond warning-days → success without warning', () => {
    expect(bindOutcome(generic, undefined, answered(responseValue({ time: 7 * DAY })))).toEqual({ kind: 'success' });
    expect(bindOutcome(generic, undefined, answered(responseValue({ time: 30 * DAY })))).toEqual({ kind: 'success' });
    expect(bindOutcome({ ...generic, warningDays: 0 }, undefined, answered(responseValue({ time: 3600 })))).toEqual({ kind: 'success' });
  });

  it('graceAuthNsRemaining → warning with the logins left (0 too: the password has expired)', () => {
    expect(bindOutcome(generic, undefined, answered(responseValue({ grace: 2 })))).toEqual({
      kind: 'success',
      warning: { graceLoginsRemaining: 2, changeUrl: 'https://pw.example.org/change' },
    });
    expect(bindOutcome(generic, undefined, answered(responseValue({ grace: 0 })))).toEqual({
      kind: 'success',
      warning: { graceLoginsRemaining: 0, changeUrl: 'https://pw.example.org/change' },
    });
  });

  it('without a change URL the warning has none', () => {
    const { passwordChangeUrl: _none, ...noUrl } = generic;
    expect(bindOutcome(noUrl, undefined, answered(responseValue({ time: DAY })))).toEqual({
      kind: 'success',
      warning: { passwordExpiresInDays: 1 },
    });
  });

  it('a successful bind without a control is a plain success', () => {
    expect(bindOutcome(generic, undefined)).toEqual({ kind: 'success' });
    expect(bindOutcome(generic, undefined, new PasswordPolicyControl())).toEqual({ kind: 'success' });
  });
});

/**
 * The diagnostic messages Active Directory sends with resultCode 49, verbatim from ldaptive's
 * ActiveDirectoryAccountStateTest (vt-middleware/ldaptive, core/src/test/java/org/ldaptive/auth/ext/)
 * and the "Common Active Directory LDAP bind errors" list (e.g. dotCMS's "Active Directory Error
 * Codes" page): "80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data 525,
 * v893". Newer domain controllers send 8009030C and other DSIDs/versions, e.g. "8009030C: LdapErr:
 * DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1"; AD may end it with a NUL.
 * ldapts puts the message in the error: new InvalidCredentialsError(message) is what its
 * StatusCodeParser builds from the BindResponse.
 */
const adMessage = (data: string) => `80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data ${data}, v893`;
const adRefusal = (message: string) => new InvalidCredentialsError(message);

describe('bindOutcome AD (bind error sub-codes, CAS DefaultLdapAccountStateHandler)', () => {
  it.each([
    ['530', 'invalid-login-time'],
    ['531', 'invalid-workstation'],
    ['532', 'password-expired'],
    ['533', 'disabled'],
    ['701', 'account-expired'],
    ['773', 'must-change-password'],
    ['775', 'locked'],
  ])('data %s → %s', (data, state) => {
    expect(bindOutcome(ad, adRefusal(adMessage(data)))).toEqual(refusal(ad, state));
  });

  it.each([
    ['52e (wrong password)', adMessage('52e')],
    ['525 (no such user: the generic page, as CAS shows, so a name\'s existence is not told)', adMessage('525')],
    ['52e with a trailing NUL', '80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data 52e, v2580\u0000'],
    ['52f (account restriction, unmapped in CAS)', adMessage('52f')],
    ['no data code', 'Invalid Credentials'],
    ['an empty message', ''],
  ])('%s → rejected without state', (_name, message) => {
    expect(bindOutcome(ad, adRefusal(message))).toEqual({ kind: 'rejected' });
  });

  it('reads the newer 8009030C form and upper-case hex', () => {
    expect(bindOutcome(ad, adRefusal('8009030C: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1'))).toEqual({ kind: 'rejected', state: 'locked' });
    expect(bindOutcome(ad, adRefusal('80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data 52E, v4563'))).toEqual({ kind: 'rejected' });
    expect(activeDirectoryErrorCode(adMessage('52e'))).toBe(0x52e);
    expect(activeDirectoryBindState('80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data 775, v4563')).toBe('locked');
  });

  it('a sub-code in a message of another result code is not an account state: unavailable', () => {
    const error = new UnwillingToPerformError(adMessage('775'));
    expect(bindOutcome(ad, error)).toEqual({ kind: 'unavailable', error });
  });

  describe('password expiry warning from msDS-UserPasswordExpiryTimeComputed (ldaptive ActiveDirectoryAuthenticationResponseHandler)', () => {
    const now = new Date('2026-12-03T05:00:00Z');
    /** A Date as a Windows FILETIME: 100-ns intervals since 1601-01-01 UTC. */
    const filetime = (d: Date) => String(BigInt(d.getTime()) * 10_000n + 116_444_736_000_000_000n);
    const inDays = (days: number) => new Date(now.getTime() + days * DAY * 1000);

    it('FILETIME decoding: 2026-12-03T05:00:00Z is 134407476000000000', () => {
      expect(filetime(now)).toBe('134407476000000000');
      expect(activeDirectoryPasswordExpiry('134407476000000000')).toEqual(now);
    });

    it('expiring within warning-days → warning with the days left', () => {
      const entry = { dn: 'CN=Alice,DC=example,DC=org', 'msDS-UserPasswordExpiryTimeComputed': [filetime(inDays(3))] };
      expect(bindOutcome(ad, undefined, undefined, entry, now)).toEqual({
        kind: 'success',
        warning: { passwordExpiresInDays: 3, changeUrl: 'https://pw.example.org/change' },
      });
      // Attribute names are case-insensitive; a single string value is read too.
      expect(bindOutcome(ad, undefined, undefined, { 'msds-userpasswordexpirytimecomputed': filetime(inDays(0.5)) }, now)).toEqual({
        kind: 'success',
        warning: { passwordExpiresInDays: 1, changeUrl: 'https://pw.example.org/change' },
      });
    });

    it.each([
      ['beyond warning-days', () => filetime(inDays(8))],
      ['never expires (0x7FFFFFFFFFFFFFFF)', () => '9223372036854775807'],
      ['must change at next logon (0)', () => '0'],
      ['already past', () => filetime(inDays(-1))],
      ['not a number', () => 'soon'],
    ])('%s → success without warning', (_name, value) => {
      expect(bindOutcome(ad, undefined, undefined, { 'msDS-UserPasswordExpiryTimeComputed': [value()] }, now)).toEqual({ kind: 'success' });
    });

    it('no entry or no attribute → success without warning', () => {
      expect(bindOutcome(ad, undefined, undefined, undefined, now)).toEqual({ kind: 'success' });
      expect(bindOutcome(ad, undefined, undefined, { dn: 'CN=Alice,DC=example,DC=org' }, now)).toEqual({ kind: 'success' });
    });
  });
});

describe('bindOutcome without an enabled policy, and errors that are not about the credentials', () => {
  it('disabled: no states, no warnings', () => {
    const off = { ...generic, enabled: false };
    expect(bindOutcome(off, new InvalidCredentialsError(), answered(responseValue({ error: 1 })))).toEqual({ kind: 'rejected' });
    expect(bindOutcome(off, undefined, answered(responseValue({ error: 2 })))).toEqual({ kind: 'success' });
    expect(bindOutcome(off, undefined, answered(responseValue({ time: DAY })))).toEqual({ kind: 'success' });
    const adOff = { ...ad, enabled: false };
    expect(bindOutcome(adOff, adRefusal(adMessage('775')))).toEqual({ kind: 'rejected' });
    const entry = { 'msDS-UserPasswordExpiryTimeComputed': [String(BigInt(Date.now() + DAY * 1000) * 10_000n + 116_444_736_000_000_000n)] };
    expect(bindOutcome(adOff, undefined, undefined, entry)).toEqual({ kind: 'success' });
  });

  it.each([
    ['busy', new BusyError()],
    ['unavailable', new UnavailableError()],
    ['unwilling to perform', new UnwillingToPerformError()],
    ['a timeout', new Error('Timeout')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:389'), { code: 'ECONNREFUSED' })],
    ['a malformed ppolicy control (ldapts fails the bind with the decoding error)', new Error('Malformed password policy response control: element 0x82')],
  ])('%s → unavailable, in every mode', (_name, error) => {
    for (const settings of [generic, ad, { ...generic, enabled: false }]) {
      expect(bindOutcome(settings, error)).toEqual({ kind: 'unavailable', error });
    }
  });
});

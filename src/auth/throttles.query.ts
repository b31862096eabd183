import { NoControlCharacters, QueryParam, Rule } from '../common/admin-api';

/** The login form keeps at most this many characters of a username: no counter has a longer one. */
const MAX_USERNAME = 256;

/** `DELETE /actuator/throttles?username=`: the account as the form saw it, not trimmed. */
export class ThrottlesQuery {
  @QueryParam(
    'username',
    Rule('required', (v?: string) => v !== undefined && v.trim() !== '', "'username' is required"),
    // UTF-16 units, as the form counts them (class-validator's MaxLength counts a surrogate pair once).
    Rule('maxLength', (v) => v.length <= MAX_USERNAME, `'username' is at most ${MAX_USERNAME} characters`),
    NoControlCharacters('username'),
  )
  username: string;
}

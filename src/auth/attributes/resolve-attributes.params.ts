import { ApiProperty } from '@nestjs/swagger';
import { NoControlCharacters, Rule } from '../../common/admin-api';

/** The login form keeps at most this many characters of a username (as throttles.query.ts). */
const MAX_USERNAME = 256;

/** `/actuator/resolveAttributes/{username}`: the username as a login would give it to the repositories. */
export class ResolveAttributesParams {
  @ApiProperty({ type: String, description: 'The username to resolve attributes for' })
  @Rule('required', (v?: string) => typeof v === 'string' && v.trim() !== '', "'username' is required")
  // UTF-16 units, as the form counts them.
  @Rule('maxLength', (v: string) => v.length <= MAX_USERNAME, `'username' is at most ${MAX_USERNAME} characters`)
  // No login has one: a control character in a name is a mistake of the caller (or a probe).
  @NoControlCharacters('username')
  username: string;
}

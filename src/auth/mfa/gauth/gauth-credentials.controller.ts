import { applyDecorators, Controller, Delete, Get, HttpCode, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiProperty } from '@nestjs/swagger';
import { AdminApi, NoControlCharacters, Rule } from '../../../common/admin-api';
import { GauthCredentials, type GauthDevice } from './gauth-credentials';

/** The login form keeps at most this many characters of a username (as throttles.query.ts). */
const MAX_USERNAME = 256;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rules of resolve-attributes.params.ts: what a login could have been given. */
const UsernameParam = () =>
  applyDecorators(
    Rule('required', (v?: string) => typeof v === 'string' && v.trim() !== '', "'username' is required"),
    // UTF-16 units, as the form counts them.
    Rule('maxLength', (v: string) => v.length <= MAX_USERNAME, `'username' is at most ${MAX_USERNAME} characters`),
    // No login has one: a control character in a name is a mistake of the caller (or a probe).
    NoControlCharacters('username'),
  );

/** `/actuator/gauthCredentialRepository/{username}`: the user as a login would name them (any case). */
export class GauthUserParams {
  @ApiProperty({ type: String, description: 'The username whose TOTP devices are meant' })
  @UsernameParam()
  username: string;
}

/** `/actuator/gauthCredentialRepository/{username}/{id}`: one device of the user. */
export class GauthDeviceParams extends GauthUserParams {
  @ApiProperty({ type: String, description: 'The device id (a UUID), as the list gives it' })
  @Rule('deviceId', (v?: string) => typeof v === 'string' && UUID.test(v), "'id' must be a device id (a UUID) from the list")
  id: string;
}

/**
 * A device as the endpoint shows it: CAS's OneTimeTokenAccount keys for what is safe to show
 * (`id`, `username`, `name`, `registrationDate`, `lastUsedDateTime`, `source`) and
 * `confirmationDate` (null: enrolled, first code not typed yet). Never the secret, the validation
 * code or the scratch codes, not even hashed: CAS's account carries them, this answer does not.
 */
function view(d: GauthDevice) {
  return {
    id: d.id,
    username: d.username,
    name: d.deviceName,
    registrationDate: d.registeredAt.toISOString(),
    confirmationDate: d.confirmedAt?.toISOString() ?? null,
    lastUsedDateTime: d.lastUsedAt?.toISOString() ?? null,
    source: 'Google Authenticator',
  };
}

/**
 * `/actuator/gauthCredentialRepository` (CAS's GoogleAuthenticatorTokenCredentialRepositoryEndpoint):
 * a user's TOTP (mfa-gauth) devices, for the help desk, and their removal when a phone is lost; the
 * user then enrols again at the next login that needs the factor. CAS's paths; a user without
 * devices is an empty list, as in CAS. Deleting answers how many devices went (CAS answers an
 * empty 200). Reading and deleting need no key: no secret is opened. Audited as every /actuator
 * request. Here rather than in admin because the devices are auth's (docs/architecture.md).
 */
@Controller('actuator')
@AdminApi()
export class GauthCredentialsController {
  constructor(private readonly gauth: GauthCredentials) {}

  @Get('gauthCredentialRepository/:username')
  @ApiOperation({ summary: "The user's TOTP devices (mfa-gauth): id, name, registration, confirmation and last use; never secrets" })
  async list(@Param() { username }: GauthUserParams) {
    return (await this.gauth.list(username)).map(view);
  }

  @Get('gauthCredentialRepository/:username/:id')
  @ApiOperation({ summary: 'One TOTP device of the user; 404 when the user has no such device' })
  async one(@Param() { username, id }: GauthDeviceParams) {
    const device = (await this.gauth.list(username)).find((d) => d.id === id.toLowerCase());
    if (!device) throw new NotFoundException({ status: 404, message: 'No such TOTP device for this user' });
    return view(device);
  }

  @Delete('gauthCredentialRepository/:username')
  @HttpCode(200)
  @ApiOperation({ summary: "Removes the user's TOTP devices with their scratch codes; answers how many" })
  async remove(@Param() { username }: GauthUserParams) {
    return { username, removed: await this.gauth.remove(username) };
  }
}

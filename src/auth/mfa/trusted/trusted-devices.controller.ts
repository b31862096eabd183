import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiOperation, ApiProperty } from '@nestjs/swagger';
import { AdminApi, NoControlCharacters, Rule } from '../../../common/admin-api';
import { type TrustedDeviceRecord, TrustedDevices } from './trusted-devices';

/** The login form keeps at most this many characters of a username (as throttles.query.ts). */
const MAX_USERNAME = 256;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/actuator/multifactorTrustedDevices/{username}`: the user as a login would name them (any case), or a record key. */
export class TrustedDeviceParams {
  @ApiProperty({ type: String, description: 'The username whose trusted browsers are meant; for DELETE also a record key (recordKey) from the list' })
  @Rule('required', (v?: string) => typeof v === 'string' && v.trim() !== '', "'username' is required")
  @Rule('maxLength', (v: string) => v.length <= MAX_USERNAME, `'username' is at most ${MAX_USERNAME} characters`)
  @NoControlCharacters('username')
  username: string;
}

/**
 * A record as the endpoint shows it, with CAS's MultifactorAuthenticationTrustRecord keys
 * (`principal`, `name`, `recordDate`, `expirationDate`, `recordKey`,
 * `multifactorAuthenticationProvider`) and `lastUsedDate`. Never `deviceFingerprint`: it is the
 * hash of the browser's secret, of no use to the help desk.
 */
function view(r: TrustedDeviceRecord) {
  return {
    id: r.id,
    recordKey: r.id,
    principal: r.username,
    name: r.name,
    multifactorAuthenticationProvider: r.provider,
    recordDate: r.recordedAt.toISOString(),
    expirationDate: r.expiresAt.toISOString(),
    lastUsedDate: r.lastUsedAt?.toISOString() ?? null,
  };
}

/**
 * `/actuator/multifactorTrustedDevices` (CAS's MultifactorAuthenticationTrustedDevicesReportEndpoint):
 * the browsers a user trusted to skip the second factor, and their revocation (a stolen laptop, a
 * shared computer). CAS's paths: GET by username; DELETE by record key, which CAS has, and by
 * username, which the issue asks for, on the one path: a record key (a UUID from the list)
 * revokes that record, anything else is a username whose records all go. The next login in a
 * revoked browser asks for the code. Audited as every /actuator request.
 */
@Controller('actuator')
@AdminApi()
export class TrustedDevicesController {
  constructor(private readonly trusted: TrustedDevices) {}

  @Get('multifactorTrustedDevices/:username')
  @ApiOperation({ summary: "The user's trusted browsers: record key, name, provider, recorded, expires, last used; expired ones until the housekeeping deletes them" })
  async list(@Param() { username }: TrustedDeviceParams) {
    return (await this.trusted.list(username)).map(view);
  }

  @Delete('multifactorTrustedDevices/:username')
  @HttpCode(200)
  @ApiOperation({ summary: "Revokes one record by its key (recordKey), or every trusted browser of a user; answers how many" })
  async remove(@Param() { username }: TrustedDeviceParams) {
    if (UUID.test(username)) {
      const removed = await this.trusted.removeRecord(username);
      if (removed) return { recordKey: username.toLowerCase(), removed };
    }
    return { username, removed: await this.trusted.removeForUser(username) };
  }
}

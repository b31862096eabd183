import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { AdminApi } from '../../../common/admin-api';
import { GauthUserParams } from '../gauth/gauth-credentials.controller';
import { WebAuthnCredentials, type WebAuthnCredential } from './webauthn-credentials';

/**
 * A credential as the endpoint shows it: what the help desk needs to tell a user's keys apart
 * and spot a flagged one. The public key is left out (no use to a person, and long).
 */
function view(c: WebAuthnCredential) {
  return {
    id: c.id,
    username: c.username,
    name: c.name,
    credentialId: c.credentialId,
    registrationDate: c.registeredAt.toISOString(),
    lastUsedDateTime: c.lastUsedAt?.toISOString() ?? null,
    signatureCount: c.signCount,
    transports: c.transports,
    deviceType: c.deviceType,
    backedUp: c.backedUp,
    aaguid: c.aaguid,
    userVerified: c.userVerified,
    /** Set: a signature counter went backwards (a possible clone); refused until removed. */
    flaggedDateTime: c.flaggedAt?.toISOString() ?? null,
    source: 'WebAuthn',
  };
}

/**
 * `/actuator/webAuthnDevices` (CAS's WebAuthnRegisteredDevicesEndpoint): a user's security keys
 * and passkeys (mfa-webauthn), and their removal (a lost key, or a flagged one); the user
 * registers again at the next login that needs the factor. A user without credentials is an
 * empty list. Audited as every /actuator request. Username rules as gauthCredentialRepository's.
 */
@Controller('actuator')
@AdminApi()
export class WebAuthnDevicesController {
  constructor(private readonly credentials: WebAuthnCredentials) {}

  @Get('webAuthnDevices/:username')
  @ApiOperation({ summary: "The user's WebAuthn credentials (mfa-webauthn): id, name, use, counter, flag; never the public key" })
  async list(@Param() { username }: GauthUserParams) {
    return (await this.credentials.list(username)).map(view);
  }

  @Delete('webAuthnDevices/:username')
  @HttpCode(200)
  @ApiOperation({ summary: "Removes the user's WebAuthn credentials; answers how many" })
  async remove(@Param() { username }: GauthUserParams) {
    return { username, removed: await this.credentials.remove(username) };
  }
}

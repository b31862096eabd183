import { Controller, Get, Header } from '@nestjs/common';
import { PublicSigningJwk, SessionEventKeys } from './session-event-keys';

/**
 * `GET /sse/jwks`: the key set session-event receivers verify the SETs with (as CAS publishes its
 * OIDC keys at `/oidc/jwks`). Public and unauthenticated, as a JWKS is: only the public half of the
 * key is in it. Receivers may cache it five minutes; a new key is picked by its `kid`.
 */
@Controller('sse')
export class SessionEventsJwksController {
  constructor(private readonly keys: SessionEventKeys) {}

  @Get('jwks')
  @Header('cache-control', 'public, max-age=300')
  jwks(): { keys: PublicSigningJwk[] } {
    return this.keys.jwks();
  }
}

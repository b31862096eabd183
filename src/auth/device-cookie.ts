import { Inject, Injectable } from '@nestjs/common';
import { compactVerify, CompactSign } from 'jose';
import { usernameDigest } from '../common/username';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { randomToken } from '../tickets/ticket-ids';
import { TgcCodec } from './tgc-codec';

const encoder = new TextEncoder();

/**
 * The device cookie of OWASP's "device cookies" defence: issued after a successful login, a JWS
 * (HS512) naming the account (the digest of its canonical username: not in clear, and the same
 * for every spelling) and a random device id. Attempts from a browser holding one for the
 * account are throttled on their own counter instead of the account's.
 */
@Injectable()
export class DeviceCookies {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly tgc: TgcCodec,
  ) {}

  issue(username: string): Promise<string> {
    return new CompactSign(encoder.encode(JSON.stringify({ typ: 'device', u: usernameDigest(username), d: randomToken(24) })))
      .setProtectedHeader({ alg: 'HS512' })
      .sign(this.tgc.deviceSigningKey());
  }

  /** The device id when the cookie is valid and was issued for this username; otherwise undefined. */
  async deviceFor(cookie: string | undefined, username: string): Promise<string | undefined> {
    if (!cookie || cookie.length > 1024) return undefined;
    try {
      const { payload } = await compactVerify(cookie, this.tgc.deviceSigningKey(), { algorithms: ['HS512'] });
      const p = JSON.parse(new TextDecoder().decode(payload)) as { typ?: string; u?: string; d?: string };
      return p.typ === 'device' && p.u === usernameDigest(username) && typeof p.d === 'string' ? p.d : undefined;
    } catch {
      return undefined;
    }
  }

  get secure(): boolean {
    return this.config.server.secure;
  }
}

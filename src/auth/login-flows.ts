import { Injectable } from '@nestjs/common';
import { EncryptJWT, jwtDecrypt, errors } from 'jose';
import { createHash, createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Clock } from '../common/clock';
import { Sql } from '../database/sql';
import { randomToken } from '../tickets/ticket-ids';
import { TgcCodec } from './tgc-codec';
import { type AccountLookup, STORED_USER_COLUMNS, type StoredUserRow, storedUserOf } from './user-store';

const FLOW_TTL_SECONDS = 15 * 60;
/**
 * A used token's row outlives the token by this much, so a node whose clock runs behind the
 * cleaning node's cannot accept a replay of a token whose use was already forgotten.
 */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
/**
 * A service URL is at most 4 KB; the encrypted token adds less than 200 bytes around it. An MFA
 * token also carries the principal's attributes (a directory's groups can be many).
 */
const MAX_EXECUTION_LENGTH = 65536;
const BROWSER_KEY = /^([A-Za-z0-9]{32})\.([A-Za-z0-9_-]{43})$/;
const hash = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * What a token is for: the login form's credentials, "Continue" on the warning interstitial, or
 * "Continue" on the password-expiry warning shown after a login.
 */
export type FlowPurpose = 'login' | 'warn' | 'password-warning' | 'mfa' | 'passkey';

export interface LoginFlow {
  service: string | null;
  /** The SSO session the login created (password-warning only): Continue grants its ticket. */
  session?: string;
  /** The `authn_method` the login was asked with (a multi-factor provider id), carried to the POST. */
  authnMethod?: string;
  /** mfa only: the authentication waiting for its second factor (login-flows carries it, opaque). */
  pending?: Record<string, unknown>;
}

/** A token's single use, to record: its id and when its row may go (used_login_executions). */
export interface FlowUse {
  id: string;
  expiresAt: Date;
}

/**
 * A token's use: $1 its id, $2 its expiry; a row back when the use is new, none for a replay.
 * LoginThrottle.reserveOnUse runs it as the first step of its reservation's statement.
 */
export const USE_FLOW_SQL = `INSERT INTO used_login_executions (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`;

/**
 * A token's use (USE_FLOW_SQL: $1 $2) and, only when the use is new, the users-table account whose
 * username_key is $3 (null: none looked up): one round trip where the use and the users-table
 * handler's read took two. A replay reads nothing.
 */
const USE_FLOW_AND_FIND_USER_SQL = `WITH used AS (${USE_FLOW_SQL})
  SELECT EXISTS (SELECT 1 FROM used) AS used, ${STORED_USER_COLUMNS}
    FROM (SELECT) AS one LEFT JOIN users u ON u.username_key = $3::text AND EXISTS (SELECT 1 FROM used)`;

export interface FlowExtras {
  authnMethod?: string;
  pending?: Record<string, unknown>;
}

interface FlowClaims {
  /** SHA-256 of the CASLOGIN value of the browser the form was served to. */
  b: string;
  s: string | null;
  p: FlowPurpose;
  /** The TGT id, encrypted like the rest: a public-workstation login has no TGC to find it by. */
  t?: string;
  /** authn_method. */
  m?: string;
  /** mfa: the pending authentication (principal, attributes, handler, options, wrong codes so far). */
  a?: Record<string, unknown>;
}

/**
 * The login form's `execution` token (CAS's flow key; the spec's LT) and the CASLOGIN browser key
 * it is bound to (login CSRF and replay protection, T14).
 *
 * Serving a form stores nothing: as Apereo CAS keeps its webflow state client-side, the token
 * carries its state (browser binding, service, purpose, expiry in 15 minutes, a random id)
 * encrypted (JWE dir/A256GCM) with a key derived from the TGC signing key, so any node can open
 * it. Single use is enforced when it is posted: its id goes into `used_login_executions` (owner),
 * and a second insert of the same id is a replay. The browser key is a random id with its HMAC,
 * so only values this server issued count.
 */
@Injectable()
export class LoginFlows {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly tgc: TgcCodec,
  ) {}

  /** A new CASLOGIN value: a random id and its HMAC under the newest key. */
  newBrowserKey(): string {
    const id = randomToken(32);
    return `${id}.${mac(this.browserKeyKeys()[0], id)}`;
  }

  /** Whether a CASLOGIN value is one this server issued (an attacker-chosen value is not). */
  isIssuedBrowserKey(value: string | undefined): value is string {
    const m = value ? BROWSER_KEY.exec(value) : null;
    if (!m) return false;
    const given = Buffer.from(m[2]);
    return this.browserKeyKeys().some((k) => timingSafeEqual(Buffer.from(mac(k, m[1])), given));
  }

  /** A token for a form served to the browser holding `browserKey` (an issued one). */
  start(browserKey: string, service: string | null, purpose: FlowPurpose, session?: string, extras: FlowExtras = {}): Promise<string> {
    const claims: FlowClaims = {
      b: hash(browserKey),
      s: service,
      p: purpose,
      ...(session ? { t: session } : {}),
      ...(extras.authnMethod ? { m: extras.authnMethod } : {}),
      ...(extras.pending ? { a: extras.pending } : {}),
    };
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return new EncryptJWT({ ...claims })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setJti(randomToken(32))
      .setIssuedAt(now)
      .setExpirationTime(now + FLOW_TTL_SECONDS)
      .encrypt(this.flowKeys()[0]);
  }

  /**
   * Uses the token up (whatever happens next); null when it is not this server's, altered,
   * expired, for another purpose, from another browser or already used.
   */
  async consume(execution: string, browserKey: string | undefined, purpose: FlowPurpose): Promise<LoginFlow | null> {
    const opened = await this.unsealed(execution, browserKey, purpose);
    return opened && (await this.use(opened.use)) ? opened.flow : null;
  }

  /**
   * The token's flow, and its single use still to record (use, or LoginThrottle.reserveOnUse):
   * nothing is written yet. Null when it is not this server's, altered, expired, for another
   * purpose or from another browser. Whatever the caller does next, it must record the use
   * before it acts on the flow, and act only when the use was new.
   */
  async unsealed(execution: string, browserKey: string | undefined, purpose: FlowPurpose): Promise<{ flow: LoginFlow; use: FlowUse } | null> {
    if (!execution || execution.length > MAX_EXECUTION_LENGTH || !this.isIssuedBrowserKey(browserKey)) return null;
    const claims = await this.open(execution);
    if (!claims || claims.p !== purpose || typeof claims.b !== 'string' || claims.b.length !== 64) return null;
    if (!timingSafeEqual(Buffer.from(claims.b), Buffer.from(hash(browserKey)))) return null;
    const flow: LoginFlow = {
      service: typeof claims.s === 'string' ? claims.s : null,
      ...(typeof claims.t === 'string' ? { session: claims.t } : {}),
      ...(typeof claims.m === 'string' ? { authnMethod: claims.m } : {}),
      ...(claims.a && typeof claims.a === 'object' ? { pending: claims.a } : {}),
    };
    return { flow, use: { id: claims.jti, expiresAt: new Date(claims.exp * 1000) } };
  }

  /** Records the token's use; false when it was used already (a replay). */
  async use(u: FlowUse): Promise<boolean> {
    // Prepared: every login and code POST runs it (planning is part of the login's Postgres CPU).
    return (await this.sql.prepared('cas_use_login_flow', USE_FLOW_SQL, [u.id, u.expiresAt])).length > 0;
  }

  /**
   * Records the token's use and, when it was new, reads the users-table account of `usernameKey`
   * (its canonical name) in the same statement: `lookup` is what the users-table handler takes
   * instead of reading it again. `used` false: a replay, nothing read.
   */
  async useAndFind(u: FlowUse, usernameKey: string): Promise<{ used: boolean; lookup?: AccountLookup }> {
    // Prepared: every password POST with throttling off runs it.
    const [row] = await this.sql.prepared<StoredUserRow & { used: boolean }>('cas_use_login_flow_find_user', USE_FLOW_AND_FIND_USER_SQL, [u.id, u.expiresAt, usernameKey]);
    return row?.used ? { used: true, lookup: { user: storedUserOf(row) } } : { used: false };
  }

  /** Deletes up to `limit` rows of tokens expired (and past the clock-skew margin); returns how many. */
  async deleteExpired(limit: number): Promise<number> {
    return this.sql.affected(
      `DELETE FROM used_login_executions WHERE id IN (
         SELECT id FROM used_login_executions WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [new Date(this.clock.now().getTime() - CLOCK_SKEW_MS), limit],
    );
  }

  private async open(execution: string): Promise<(Partial<FlowClaims> & { jti: string; exp: number }) | null> {
    for (const key of this.flowKeys()) {
      try {
        const { payload } = await jwtDecrypt(execution, key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
          currentDate: this.clock.now(),
          requiredClaims: ['jti', 'exp'],
        });
        return typeof payload.jti === 'string' && payload.jti.length <= 64 ? (payload as Partial<FlowClaims> & { jti: string; exp: number }) : null;
      } catch (e) {
        // Opened with this key but expired or incomplete: no older key will do better.
        if (e instanceof errors.JWTClaimValidationFailed || e instanceof errors.JWTExpired) return null;
      }
    }
    return null;
  }

  private flowKeys(): KeyObject[] {
    return this.tgc.derivedSecretKeys('cas-login-flow', 32);
  }

  private browserKeyKeys(): Uint8Array[] {
    return this.tgc.derivedKeys('cas-login-browser-key', 32);
  }
}

function mac(key: Uint8Array, id: string): string {
  return createHmac('sha256', key).update(id, 'utf8').digest('base64url');
}

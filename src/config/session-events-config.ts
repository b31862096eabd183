import { createECDH, createPrivateKey } from 'node:crypto';
import { ConfigurationError } from './env.validation';

/** A receiver of session events: where they are POSTed, and the secret that tells it they come from this server. */
export interface SessionEventReceiver {
  url: string;
  /** Sent as `Authorization: Bearer <secret>` with each push; never logged, never stored in the database. */
  secret: string;
}

/** The server's event-signing key: an EC P-256 private JWK (ES256), named by its `kid`. */
export interface SessionEventSigningKey {
  kty: 'EC';
  crv: 'P-256';
  kid: string;
  x: string;
  y: string;
  d: string;
}

/** `SESSION_EVENTS_WEBHOOKS` and `SESSION_EVENTS_SIGNING_KEY`: where session lifecycle events go (tickets/session-events.ts), and the key they are signed with. */
export interface SessionEventsConfig {
  receivers: SessionEventReceiver[];
  /** Unset: generated into CAS_DATA_DIR in development mode (tickets/session-event-keys.ts); outside it, receivers need it. */
  signingKey?: SessionEventSigningKey;
}

const NAME = 'SESSION_EVENTS_WEBHOOKS';
const KEY_NAME = 'SESSION_EVENTS_SIGNING_KEY';
/** A guess-proof secret: 32 characters at least, as long as a 256-bit key in base64. */
const MIN_SECRET = 32;
/** RFC 6750 §2.1 b64token: what a Bearer credential may hold, so the secret always fits the header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The receivers and the signing key. Receivers outside development mode need the key: it is
 * generated only there, and every node must sign with the same one (receivers fetch one key set).
 */
export function loadSessionEventsConfig(env: Record<string, string | undefined>, development: boolean): SessionEventsConfig {
  const receivers = loadReceivers(env);
  const signingKey = loadSigningKey(env);
  if (receivers.length && !signingKey && !development) {
    throw new ConfigurationError(
      `Invalid configuration:\n  ${KEY_NAME}: ${NAME} needs it outside development mode: an EC P-256 private JWK with a kid ` +
        '(the same on every node; it is generated only in development mode)',
    );
  }
  return signingKey ? { receivers, signingKey } : { receivers };
}

/**
 * `SESSION_EVENTS_WEBHOOKS=<url>|<secret>,<url>|<secret>`: comma-separated receivers, each an
 * http(s) URL and its secret (at least 32 characters of a Bearer token's alphabet, so never `,`
 * nor `|`) after a `|`, so the whole list fits one environment variable. A receiver is named by
 * its position and origin in an error, never by its secret. Each URL once: a row's receiver is
 * found again by its URL at delivery, with the secret configured then.
 */
function loadReceivers(env: Record<string, string | undefined>): SessionEventReceiver[] {
  const raw = env[NAME]?.trim();
  if (!raw) return [];
  const errors: string[] = [];
  const receivers: SessionEventReceiver[] = [];
  raw.split(',').forEach((entry, i) => {
    const at = `${NAME}: receiver ${i + 1}`;
    const bar = entry.indexOf('|');
    const rawUrl = (bar < 0 ? entry : entry.slice(0, bar)).trim();
    const secret = bar < 0 ? '' : entry.slice(bar + 1).trim();
    let url: URL | null = null;
    try {
      url = new URL(rawUrl);
    } catch {
      errors.push(`${at}: not a URL (expected <url>|<secret>)`);
      return;
    }
    const where = `${at} (${url.protocol}//${url.host})`;
    if (url.protocol !== 'https:' && url.protocol !== 'http:') errors.push(`${where}: must be an http or https URL`);
    else if (url.username || url.password) errors.push(`${where}: must not carry a user or password; the secret goes after '|'`);
    else if (bar < 0) errors.push(`${where}: no secret (expected <url>|<secret>)`);
    else if (secret.length < MIN_SECRET || !B64TOKEN.test(secret)) {
      errors.push(`${where}: the secret must be at least ${MIN_SECRET} characters of A-Z a-z 0-9 - . _ ~ + / (then any '='), as a Bearer token`);
    }
    else if (receivers.some((r) => r.url === url.href)) errors.push(`${where}: listed twice`);
    else receivers.push({ url: url.href, secret });
  });
  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return receivers;
}

/**
 * `SESSION_EVENTS_SIGNING_KEY`: the private JWK as JSON, e.g. `{"kty":"EC","crv":"P-256","kid":
 * "events-2026","x":…,"y":…,"d":…}` (an `alg` other than ES256 or a `use` other than `sig` is
 * refused). Checked whole here, so a key that cannot sign stops the boot rather than every
 * delivery: its `x`/`y` must be the public point of its `d` (Node would take a mismatched pair,
 * and receivers, verifying with `x`/`y`, would then refuse every token). No error quotes the value, nor the JSON parser's
 * message, which does.
 */
function loadSigningKey(env: Record<string, string | undefined>): SessionEventSigningKey | undefined {
  const raw = env[KEY_NAME]?.trim();
  if (!raw) return undefined;
  const refuse = (why: string) => new ConfigurationError(`Invalid configuration:\n  ${KEY_NAME}: ${why}`);
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(raw);
  } catch {
    throw refuse('not JSON (expected a private JWK: {"kty":"EC","crv":"P-256","kid":…,"x":…,"y":…,"d":…})');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw refuse('not a JSON object (expected a private JWK)');
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw refuse('must be an EC P-256 key (kty "EC", crv "P-256"), as ES256 signs with');
  if (jwk.alg !== undefined && jwk.alg !== 'ES256') throw refuse('alg must be ES256 (or absent)');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse('use must be sig (or absent)');
  if (typeof jwk.kid !== 'string' || !jwk.kid.trim()) throw refuse('no kid: receivers pick the key by it');
  const { kid, x, y, d } = jwk;
  if (typeof d !== 'string' || !d) throw refuse('no private part (d): the server signs with it');
  if (typeof x !== 'string' || typeof y !== 'string') throw refuse('no public part (x, y)');
  let point: Buffer;
  try {
    // The public point derived from d: Node's JWK import takes x and y as given, unchecked.
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(d, 'base64url'));
    point = ecdh.getPublicKey();
    createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x, y, d }, format: 'jwk' });
  } catch {
    throw refuse('not a valid P-256 key');
  }
  // Uncompressed point: 0x04, then x and y, 32 bytes each.
  if (point.subarray(1, 33).toString('base64url') !== x || point.subarray(33).toString('base64url') !== y) throw refuse('x and y are not the public part of d');
  return { kty: 'EC', crv: 'P-256', kid, x, y, d };
}

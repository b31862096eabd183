import { ConfigurationError } from './env.validation';

/** A receiver of session events: where they are POSTed, and the secret their signature is made with. */
export interface SessionEventReceiver {
  url: string;
  /** HMAC key of the receiver's SETs (HS256); never logged, never stored in the database. */
  secret: string;
}

/** `SESSION_EVENTS_WEBHOOKS`: the receivers of session lifecycle events (tickets/session-events.ts); none by default. */
export interface SessionEventsConfig {
  receivers: SessionEventReceiver[];
}

const NAME = 'SESSION_EVENTS_WEBHOOKS';
/** RFC 7518 §3.2: an HS256 key is at least as long as the hash, 256 bits. */
const MIN_SECRET = 32;

/**
 * `SESSION_EVENTS_WEBHOOKS=<url>|<secret>,<url>|<secret>`: comma-separated receivers, each an
 * http(s) URL and its secret (at least 32 characters, neither `,` nor `|`) after a `|`, so the
 * whole list fits one environment variable. A receiver is named by its position and origin in an
 * error, never by its secret. Each URL once: a row's receiver is found again by its URL at
 * delivery, with the secret configured then.
 */
export function loadSessionEventsConfig(env: Record<string, string | undefined>): SessionEventsConfig {
  const raw = env[NAME]?.trim();
  if (!raw) return { receivers: [] };
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
    else if (secret.length < MIN_SECRET || secret.includes('|')) errors.push(`${where}: the secret must be at least ${MIN_SECRET} characters, without ',' or '|'`);
    else if (receivers.some((r) => r.url === url.href)) errors.push(`${where}: listed twice`);
    else receivers.push({ url: url.href, secret });
  });
  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return { receivers };
}

import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { loadSessionEventsConfig } from './session-events-config';
import { messageOf } from '../../test/helpers/thrown';

const SECRET = 'x'.repeat(32);
const errorOf = (value: string): string => messageOf(ConfigurationError, () => loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: value }, true));

describe('SESSION_EVENTS_WEBHOOKS', () => {
  it('none by default; loadCasConfig carries the receivers', () => {
    expect(loadSessionEventsConfig({}, false)).toEqual({ receivers: [] });
    expect(loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: ' ' }, false)).toEqual({ receivers: [] });
    expect(loadCasConfig({ SESSION_EVENTS_WEBHOOKS: `https://siem.example.org/events|${SECRET}` }).sessionEvents).toEqual({
      receivers: [{ url: 'https://siem.example.org/events', secret: SECRET }],
    });
  });

  it('comma-separated <url>|<secret>, spaces around entries ignored', () => {
    expect(loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: ` https://a.example/ssf|${SECRET} , http://10.0.0.5:8080/events|${SECRET}y` }, true)).toEqual({
      receivers: [
        { url: 'https://a.example/ssf', secret: SECRET },
        { url: 'http://10.0.0.5:8080/events', secret: `${SECRET}y` },
      ],
    });
  });

  it('names each bad receiver by position and origin, never showing its secret', () => {
    const short = 'short-secret';
    const message = errorOf(`not a url|${SECRET},ftp://files.example/x|${SECRET},https://a.example/e|${short},https://b.example/e,https://u:p@c.example/e|${SECRET}`);
    expect(message).toContain('SESSION_EVENTS_WEBHOOKS: receiver 1: not a URL (expected <url>|<secret>)');
    expect(message).toContain('SESSION_EVENTS_WEBHOOKS: receiver 2 (ftp://files.example): must be an http or https URL');
    expect(message).toContain('SESSION_EVENTS_WEBHOOKS: receiver 3 (https://a.example): the secret must be at least 32 characters');
    expect(message).toContain('SESSION_EVENTS_WEBHOOKS: receiver 4 (https://b.example): no secret');
    expect(message).toContain('SESSION_EVENTS_WEBHOOKS: receiver 5 (https://c.example): must not carry a user or password');
    expect(message).not.toContain(short);
    expect(message).not.toContain(SECRET);
    expect(errorOf(`https://a.example/e|${SECRET},https://a.example/e|${SECRET}z`)).toContain('receiver 2 (https://a.example): listed twice');
    // The secret goes in an Authorization header: only a Bearer token's characters (RFC 6750 b64token).
    const spaced = `${'s'.repeat(20)} ${'t'.repeat(20)}`;
    const quoted = errorOf(`https://d.example/e|${spaced},https://e.example/e|${'é'.repeat(32)}`);
    expect(quoted).toContain('receiver 1 (https://d.example): the secret must be at least 32 characters of A-Z a-z 0-9 - . _ ~ + / (then any \'=\'), as a Bearer token');
    expect(quoted).toContain('receiver 2 (https://e.example): the secret must be');
    expect(quoted).not.toContain(spaced);
    expect(loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: `https://f.example/e|Abc+/_-.~${'0'.repeat(30)}==` }, true).receivers).toHaveLength(1);
    // The boot's configuration (loadCasConfig) stops on it too.
    expect(messageOf(ConfigurationError, () => loadCasConfig({ SESSION_EVENTS_WEBHOOKS: `https://a.example/e|${'y'.repeat(31)}` }))).toContain(
      'SESSION_EVENTS_WEBHOOKS: receiver 1 (https://a.example): the secret must be at least 32 characters',
    );
  });
});

/** A fresh EC key as a private JWK, with what the test changes. */
function ecJwk(curve = 'P-256', extra: Record<string, unknown> = { kid: 'events-1' }): JsonWebKey & Record<string, unknown> {
  return { ...generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'jwk' }), ...extra };
}

describe('SESSION_EVENTS_SIGNING_KEY', () => {
  const RECEIVER = { SESSION_EVENTS_WEBHOOKS: `https://siem.example.org/events|${SECRET}` };
  /** The boot's error for this key value outside development mode (DATABASE_URL set), which must never quote it. */
  const keyError = (value: string): string => {
    const message = messageOf(ConfigurationError, () => loadCasConfig({ ...RECEIVER, DATABASE_URL: 'postgres://db/cas', SESSION_EVENTS_SIGNING_KEY: value }));
    expect(message).toContain('SESSION_EVENTS_SIGNING_KEY: ');
    expect(message).not.toContain(value);
    for (const part of value.match(/[A-Za-z0-9_-]{20,}/g) ?? []) expect(message).not.toContain(part);
    return message;
  };

  it('a private EC P-256 JWK with a kid: carried as given, whether or not in development mode', () => {
    const jwk = ecJwk();
    const { sessionEvents } = loadCasConfig({ ...RECEIVER, DATABASE_URL: 'postgres://db/cas', SESSION_EVENTS_SIGNING_KEY: ` ${JSON.stringify({ ...jwk, alg: 'ES256', use: 'sig' })} ` });
    expect(sessionEvents.signingKey).toEqual({ kty: 'EC', crv: 'P-256', kid: 'events-1', x: jwk.x, y: jwk.y, d: jwk.d });
    expect(loadSessionEventsConfig({ SESSION_EVENTS_SIGNING_KEY: JSON.stringify(jwk) }, true).signingKey?.kid).toBe('events-1');
  });

  it('receivers without a key: the boot stops outside development mode, naming the variable; in development mode the key is generated later', () => {
    const message = messageOf(ConfigurationError, () => loadCasConfig({ ...RECEIVER, DATABASE_URL: 'postgres://db/cas' }));
    expect(message).toContain('SESSION_EVENTS_SIGNING_KEY: SESSION_EVENTS_WEBHOOKS needs it outside development mode');
    expect(message).not.toContain(SECRET);
    expect(messageOf(ConfigurationError, () => loadCasConfig({ ...RECEIVER, NODE_ENV: 'production' }))).toContain('SESSION_EVENTS_SIGNING_KEY: SESSION_EVENTS_WEBHOOKS needs it');
    const development = loadCasConfig(RECEIVER);
    expect(development.development.enabled).toBe(true);
    expect(development.sessionEvents.signingKey).toBeUndefined();
    // No receiver, no key needed.
    expect(loadCasConfig({ DATABASE_URL: 'postgres://db/cas' }).sessionEvents).toEqual({ receivers: [] });
  });

  it('anything but a consistent private EC P-256 JWK with a kid stops the boot, naming the variable, never quoting the key', () => {
    const jwk = ecJwk();
    const json = JSON.stringify(jwk);
    expect(keyError(json.slice(0, -1))).toContain('not JSON (expected a private JWK');
    expect(keyError(`[${json}]`)).toContain('not a JSON object');
    expect(keyError(JSON.stringify(ecJwk('P-384')))).toContain('must be an EC P-256 key (kty "EC", crv "P-256")');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    expect(keyError(JSON.stringify({ ...rsa, kid: 'r' }))).toContain('must be an EC P-256 key');
    expect(keyError(JSON.stringify({ ...jwk, kid: undefined }))).toContain('no kid');
    expect(keyError(JSON.stringify({ ...jwk, kid: ' ' }))).toContain('no kid');
    expect(keyError(JSON.stringify({ ...jwk, d: undefined }))).toContain('no private part (d)');
    expect(keyError(JSON.stringify({ ...jwk, alg: 'ES384' }))).toContain('alg must be ES256');
    expect(keyError(JSON.stringify({ ...jwk, use: 'enc' }))).toContain('use must be sig');
    expect(keyError(JSON.stringify({ ...jwk, d: 'AAAA' }))).toContain('not a valid P-256 key');
    // Another key's public point: Node takes the pair, receivers would refuse every token.
    const other = ecJwk();
    expect(keyError(JSON.stringify({ ...jwk, x: other.x, y: other.y }))).toContain('x and y are not the public part of d');
  });
});

import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { loadSessionEventsConfig } from './session-events-config';
import { messageOf } from '../../test/helpers/thrown';

const SECRET = 'x'.repeat(32);
const errorOf = (value: string): string => messageOf(ConfigurationError, () => loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: value }));

describe('SESSION_EVENTS_WEBHOOKS', () => {
  it('none by default; loadCasConfig carries the receivers', () => {
    expect(loadSessionEventsConfig({})).toEqual({ receivers: [] });
    expect(loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: ' ' })).toEqual({ receivers: [] });
    expect(loadCasConfig({ SESSION_EVENTS_WEBHOOKS: `https://siem.example.org/events|${SECRET}` }).sessionEvents).toEqual({
      receivers: [{ url: 'https://siem.example.org/events', secret: SECRET }],
    });
  });

  it('comma-separated <url>|<secret>, spaces around entries ignored', () => {
    expect(loadSessionEventsConfig({ SESSION_EVENTS_WEBHOOKS: ` https://a.example/ssf|${SECRET} , http://10.0.0.5:8080/events|${SECRET}y` })).toEqual({
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
    // The boot's configuration (loadCasConfig) stops on it too.
    expect(messageOf(ConfigurationError, () => loadCasConfig({ SESSION_EVENTS_WEBHOOKS: `https://a.example/e|${'y'.repeat(31)}` }))).toContain(
      'SESSION_EVENTS_WEBHOOKS: receiver 1 (https://a.example): the secret must be at least 32 characters',
    );
  });
});

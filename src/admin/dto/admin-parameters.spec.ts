import { BadRequestException, type ArgumentMetadata, type Type } from '@nestjs/common';
import { AdminParametersPipe } from '../../common/admin-api';
import { ThrottlesQuery } from '../../auth/throttles.query';
import { AuditLogQuery } from './audit-log.query';
import { EndSsoSessionsQuery, SsoSessionsQuery, UserSsoSessionsQuery } from './sso-sessions.query';

/** The admin DTOs through the admin pipe: one 400 message, the first rule broken in field order. */
describe('admin parameters', () => {
  const pipe = new AdminParametersPipe();
  const run = <T>(metatype: Type<T>, query: Record<string, string | string[]>): Promise<T> =>
    pipe.transform({ ...query }, { type: 'query', metatype } as ArgumentMetadata);
  const refusal = async (metatype: Type<unknown>, query: Record<string, string | string[]>): Promise<unknown> => {
    const e = await run(metatype, query).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(BadRequestException);
    return (e as BadRequestException).getResponse();
  };

  it('refuses a NUL in any parameter, naming it, before any rule (no text column can hold one)', async () => {
    expect(await refusal(SsoSessionsQuery, { username: 'a\u0000' })).toMatchObject({ message: "'username' must not contain a NUL character" });
    expect(await refusal(EndSsoSessionsQuery, { type: 'ALL', username: ['a', 'b\u0000'] })).toMatchObject({ message: "'username[1]' must not contain a NUL character" });
    const body = pipe.transform({ name: 'x', attributes: { role: ['a\u0000'] } }, { type: 'body', metatype: Object } as ArgumentMetadata);
    await expect(body).rejects.toThrow("'attributes.role[0]' must not contain a NUL character");
  });

  it('case=listing defaults: type ALL, 100 sessions; empty values are absent; count capped at 1000', async () => {
    expect((await run(SsoSessionsQuery, {})).listing()).toEqual({ type: 'ALL', username: undefined, count: 100, cursor: undefined, filter: {} });
    expect((await run(SsoSessionsQuery, { type: '', count: '', username: '' })).listing()).toEqual({ type: 'ALL', username: undefined, count: 100, cursor: undefined, filter: {} });
    expect((await run(UserSsoSessionsQuery, { type: 'proxied', count: '0000001', from: '0', username: ['a', 'b'] })).listing('bob'))
      .toEqual({ type: 'PROXIED', username: 'bob', count: 1, cursor: undefined, filter: {} });
    expect((await run(SsoSessionsQuery, { count: '9999999', cursor: 'TGT-abc' })).listing()).toMatchObject({ count: 1000, cursor: 'TGT-abc' });
  });

  it('case=first broken rule in field order: type, username, count, cursor, from', async () => {
    expect(await refusal(SsoSessionsQuery, { from: '10', cursor: 'bad', count: 'abc', username: ['a', 'b'], type: ['x', 'y'] }))
      .toMatchObject({ message: "'type' must be given once" });
    expect(await refusal(SsoSessionsQuery, { from: '10', cursor: 'bad', count: 'abc', username: ['a', 'b'] })).toMatchObject({ message: "'username' must be given once" });
    expect(await refusal(SsoSessionsQuery, { from: '10', cursor: 'bad', count: '0' })).toMatchObject({ message: "'count' must be a positive integer" });
    expect(await refusal(SsoSessionsQuery, { from: '10', cursor: 'bad' })).toMatchObject({ message: "'cursor' must be the 'next' value of a previous page" });
    expect(await refusal(EndSsoSessionsQuery, { type: 'bad', username: ['a', 'b'] })).toMatchObject({ message: "'username' must be given once" });
  });

  it('case=session type as String#toUpperCase reads it, echoed as sent (at most 32 characters)', async () => {
    expect((await run(EndSsoSessionsQuery, { type: 'd\u0131rect' })).sessionType).toBe('DIRECT');
    expect(await refusal(SsoSessionsQuery, { type: 'x'.repeat(40) })).toMatchObject({ message: `'type' must be ALL, DIRECT or PROXIED, not '${'x'.repeat(32)}'` });
  });

  it('case=audit numbers as JavaScript reads them; a repeated one is not a number', async () => {
    expect(await run(AuditLogQuery, { count: '1e2' })).toMatchObject({ count: 100, before: undefined });
    expect(await run(AuditLogQuery, {})).toMatchObject({ count: 100 });
    expect(await refusal(AuditLogQuery, { count: ['5', '5'] })).toMatchObject({ message: "'count' must be 1 to 1000" });
    expect(await refusal(AuditLogQuery, { before: '' })).toMatchObject({ message: "'before' must be an entry id" });
  });

  it('case=throttles username: required, not blank, at most 256 UTF-16 units, kept untrimmed', async () => {
    expect(await run(ThrottlesQuery, { username: ' bob ' })).toMatchObject({ username: ' bob ' });
    expect(await refusal(ThrottlesQuery, { username: '\u00a0' })).toMatchObject({ message: "'username' is required" });
    expect(await refusal(ThrottlesQuery, { username: '\u{1F600}'.repeat(129) })).toMatchObject({ message: "'username' is at most 256 characters" });
  });
});

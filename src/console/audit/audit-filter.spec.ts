import { parseAuditQuery } from './audit-filter';

describe('parseAuditQuery (the audit page filters)', () => {
  it('asks for nothing when nothing is given', () => {
    expect(parseAuditQuery({})).toMatchObject({ ok: true, filter: {}, before: undefined });
  });

  it('reads each filter: an exact or class status, a whole-day UTC range with its last day included', () => {
    const parsed = parseAuditQuery({
      actor: ' ops ',
      method: 'post',
      status: '4xx',
      target: '/admin/users',
      match: 'prefix',
      from: '2026-01-30',
      to: '2026-01-31',
      request: 'req-1',
      before: '120',
    });
    expect(parsed).toEqual({
      ok: true,
      form: { actor: 'ops', method: 'POST', status: '4xx', target: '/admin/users', match: 'prefix', from: '2026-01-30', to: '2026-01-31', request: 'req-1' },
      filter: {
        actor: 'ops',
        action: 'POST',
        status: { from: 400, to: 499 },
        target: { text: '/admin/users', match: 'prefix' },
        since: new Date('2026-01-30T00:00:00Z'),
        until: new Date('2026-02-01T00:00:00Z'),
        requestId: 'req-1',
      },
      before: 120,
    });
    expect(parseAuditQuery({ status: '403' })).toMatchObject({ ok: true, filter: { status: { from: 403, to: 403 } } });
    expect(parseAuditQuery({ target: 'x', match: 'anything' })).toMatchObject({ ok: true, filter: { target: { text: 'x', match: 'contains' } } });
  });

  it('names the field of each bad value', () => {
    const bad = (query: Record<string, unknown>) => {
      const parsed = parseAuditQuery(query);
      if (parsed.ok) throw new Error('accepted');
      return parsed.errors;
    };
    expect(bad({ status: '42' })).toEqual({ status: 'A status such as 403, or a class such as 4xx.' });
    expect(bad({ status: '600' })).toEqual({ status: 'A status such as 403, or a class such as 4xx.' });
    expect(bad({ method: 'BREW' })).toEqual({ method: 'One of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.' });
    expect(bad({ from: '2026-02-30' })).toEqual({ from: 'A date such as 2026-01-31.' });
    expect(bad({ to: 'yesterday' })).toEqual({ to: 'A date such as 2026-01-31.' });
    expect(bad({ from: '2026-02-02', to: '2026-02-01' })).toEqual({ to: 'On or after the “from” date.' });
    expect(bad({ actor: ['a', 'b'] })).toEqual({ actor: 'Give one value.' });
    expect(bad({ actor: 'a'.repeat(129) })).toEqual({ actor: 'At most 128 characters.' });
    expect(bad({ before: '-1' })).toEqual({ before: 'Not a page of this log: start again from the newest entries.' });
    expect(bad({ before: '99999999999999999' })).toEqual({ before: 'Not a page of this log: start again from the newest entries.' });
  });
});

import { AndFilter, EqualityFilter, type Filter, OrFilter, SubstringFilter } from 'ldapts';
import { FilterTemplate, formatDn } from './ldap-escaping';

// What goes on the wire is the filter object (BER); toString() is ldapts's RFC 4515 rendering of
// the same object, so it shows what the server receives.

describe('FilterTemplate: the name is an assertion value, never filter syntax (RFC 4515)', () => {
  const uid = new FilterTemplate('(uid={user})');

  it.each([
    ['*', '(uid=\\2a)'],
    ['al*', '(uid=al\\2a)'],
    ['(', '(uid=\\28)'],
    [')', '(uid=\\29)'],
    ['alice)(uid=*', '(uid=alice\\29\\28uid=\\2a)'],
    ['\\', '(uid=\\5c)'],
    ['a\\2a', '(uid=a\\5c2a)'],
    ['a\u0000b', '(uid=a\\00b)'],
  ])('%j stays one equality value', (name, rendered) => {
    const f = uid.filterFor(name);
    expect(f).toBeInstanceOf(EqualityFilter);
    expect((f as EqualityFilter).value).toBe(name);
    expect(f.toString()).toBe(rendered);
  });

  it('fills every placeholder ({user} and CAS\'s {0}) inside and/or/not and substring templates, leaving the template\'s own wildcards', () => {
    const t = new FilterTemplate('(&(objectClass=person)(|(uid={user})(mail={0}@example.org))(cn={user}*))');
    const f = t.filterFor('x*)(');
    expect(f).toBeInstanceOf(AndFilter);
    const [cls, or, cn] = (f as AndFilter).filters as [Filter, OrFilter, SubstringFilter];
    expect(cls.toString()).toBe('(objectClass=person)');
    expect(or.filters.map((x) => (x as EqualityFilter).value)).toEqual(['x*)(', 'x*)(@example.org']);
    expect(cn).toBeInstanceOf(SubstringFilter);
    expect([cn.initial, cn.any, cn.final]).toEqual(['x*)(', [], '']);
    expect(f.toString()).toBe('(&(objectClass=person)(|(uid=x\\2a\\29\\28)(mail=x\\2a\\29\\28@example.org))(cn=x\\2a\\29\\28*))');
    // The parsed template is reused: filling it again starts from the placeholder.
    expect(t.filterFor('bob').toString()).toBe('(&(objectClass=person)(|(uid=bob)(mail=bob@example.org))(cn=bob*))');
  });

  it("accepts CAS's filters without outer parentheses", () => {
    expect(new FilterTemplate('sAMAccountName={user}').filterFor('a(b').toString()).toBe('(sAMAccountName=a\\28b)');
  });

  it('a name that spells a placeholder is only a value', () => {
    expect(uid.filterFor('{user}').toString()).toBe('(uid={user})');
    expect((uid.filterFor('{user}') as EqualityFilter).value).toBe('{user}');
  });
});

describe('formatDn: the name is one RDN value (RFC 4514)', () => {
  const people = 'uid=%s,ou=people,dc=example,dc=org';

  it.each([
    ['alice', 'uid=alice,ou=people,dc=example,dc=org'],
    ['*', 'uid=*,ou=people,dc=example,dc=org'],
    ['(', 'uid=(,ou=people,dc=example,dc=org'],
    [')', 'uid=),ou=people,dc=example,dc=org'],
    ['\\', 'uid=\\\\,ou=people,dc=example,dc=org'],
    ['admin,dc=example,dc=org', 'uid=admin\\,dc\\=example\\,dc\\=org,ou=people,dc=example,dc=org'],
    ['a+cn=b', 'uid=a\\+cn\\=b,ou=people,dc=example,dc=org'],
    ['Smith, John', 'uid=Smith\\, John,ou=people,dc=example,dc=org'],
  ])('%j cannot end the value or add an RDN', (name, dn) => {
    expect(formatDn(people, name)).toBe(dn);
  });

  it('refuses a name with NUL or another control character (ldapts does not escape NUL; no entry is named so)', () => {
    expect(formatDn(people, 'a\u0000b')).toBeUndefined();
    expect(formatDn(people, 'a\nb')).toBeUndefined();
  });

  it("escapes the same way in a userPrincipalName format (as ldaptive's FormatDnResolver)", () => {
    expect(formatDn('%s@example.org', 'alice')).toBe('alice@example.org');
    expect(formatDn('%s@example.org', 'cn=admin,dc=x')).toBe('cn\\=admin\\,dc\\=x@example.org');
  });

  it('does not read $-patterns of the name as replacement syntax', () => {
    expect(formatDn(people, "$&$'")).toBe("uid=$&$',ou=people,dc=example,dc=org");
  });
});

import { releaseAttributes } from './attribute-release';

const attributes = { mail: ['a@b.org'], memberOf: ['staff', 'faculty'], secret: ['x'] };

describe('releaseAttributes', () => {
  it('ReturnAll releases everything', () => {
    expect(releaseAttributes({ kind: 'all' }, attributes)).toEqual(attributes);
  });

  it('DenyAll releases nothing', () => {
    expect(releaseAttributes({ kind: 'none' }, attributes)).toEqual({});
  });

  it('ReturnAllowed releases the listed attributes the user has', () => {
    expect(releaseAttributes({ kind: 'allowed', names: ['memberOf', 'missing'] }, attributes)).toEqual({ memberOf: ['staff', 'faculty'] });
  });

  it("CAS's default (allowed, empty list) releases nothing", () => {
    expect(releaseAttributes({ kind: 'allowed', names: [] }, attributes)).toEqual({});
  });
});

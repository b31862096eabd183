import { bindUsername, loadAttributeRepositoryConfig } from './attribute-repository-config';
import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { messageOf } from '../../test/helpers/thrown';

const P = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_JDBC_';
const BASE = { [`${P}0_URL`]: 'postgres://cas@db.example.org/people', [`${P}0_SQL`]: 'SELECT * FROM people WHERE {0}' };

/** The message of the ConfigurationError the settings give, or a failure when they give none. */
const errorOf = (env: Record<string, string>): string => messageOf(ConfigurationError, () => loadAttributeRepositoryConfig(env));

describe('attribute repository settings', () => {
  it('none by default, merger REPLACE (CAS default); loadCasConfig carries them', () => {
    expect(loadAttributeRepositoryConfig({})).toEqual({ merger: 'REPLACE', jdbc: [] });
    expect(loadCasConfig({}).attributeRepository).toEqual({ merger: 'REPLACE', jdbc: [], ldap: [] });
  });

  it('reads a JDBC repository with CAS defaults: single row, {0} on the username column, order 0, id jdbc-<n>', () => {
    expect(loadAttributeRepositoryConfig(BASE).jdbc).toEqual([
      {
        id: 'jdbc-0',
        order: 0,
        url: 'postgres://cas@db.example.org/people',
        user: undefined,
        password: undefined,
        sql: 'SELECT * FROM people WHERE username = $1',
        singleRow: true,
        columnMappings: [],
        attributes: [],
        poolMaxSize: 4,
        maxWaitMs: 2000,
        queryTimeoutMs: 5000,
      },
    ]);
  });

  it('reads every setting, several repositories in index order, jdbc: URLs and the merger spelled any case (MERGE is MULTIVALUED)', () => {
    const c = loadAttributeRepositoryConfig({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'merge',
      [`${P}10_URL`]: 'jdbc:postgresql://db.example.org:5432/groups',
      [`${P}10_SQL`]: 'SELECT attr_name, attr_value FROM attrs WHERE {0}',
      [`${P}10_USERNAME`]: 'uid, mail',
      [`${P}10_QUERY_TYPE`]: 'or',
      [`${P}10_SINGLE_ROW`]: 'false',
      [`${P}10_COLUMN_MAPPINGS`]: 'attr_name:attr_value',
      [`${P}10_ID`]: 'groups',
      [`${P}10_ORDER`]: '-3',
      [`${P}2_URL`]: 'postgresql://h/db',
      [`${P}2_USER`]: 'reader',
      [`${P}2_PASSWORD`]: 's3cret',
      [`${P}2_SQL`]: 'SELECT mail, cn FROM people WHERE lower(uid) = lower(?)',
      [`${P}2_ATTRIBUTES`]: 'mail:email, cn:displayName,uid',
      [`${P}2_POOL_MAX_SIZE`]: '2',
      [`${P}2_POOL_MAX_WAIT`]: 'PT0.5S',
      [`${P}2_QUERY_TIMEOUT`]: '3',
    });
    expect(c.merger).toBe('MULTIVALUED');
    expect(c.jdbc.map((r) => r.id)).toEqual(['jdbc-2', 'groups']);
    expect(c.jdbc[0]).toMatchObject({
      url: 'postgresql://h/db',
      user: 'reader',
      password: 's3cret',
      sql: 'SELECT mail, cn FROM people WHERE lower(uid) = lower($1)',
      attributes: [
        { from: 'mail', to: 'email' },
        { from: 'cn', to: 'displayName' },
        { from: 'uid', to: 'uid' },
      ],
      poolMaxSize: 2,
      maxWaitMs: 500,
      queryTimeoutMs: 3000,
    });
    expect(c.jdbc[1]).toMatchObject({
      url: 'postgresql://db.example.org:5432/groups',
      order: -3,
      sql: 'SELECT attr_name, attr_value FROM attrs WHERE (uid = $1 OR mail = $1)',
      singleRow: false,
      columnMappings: [{ nameColumn: 'attr_name', valueColumn: 'attr_value' }],
    });
    expect(loadAttributeRepositoryConfig({ CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'Add' }).merger).toBe('ADD');
  });

  it('refuses, naming each variable: unknown settings, a missing URL or SQL, bad values, two repositories with one id', () => {
    const message = errorOf({
      CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'UNION',
      [`${P}0_SQL`]: 'SELECT 1',
      [`${P}0_SINGLEROW`]: 'false',
      [`${P}0_SINGLE_ROW`]: 'maybe',
      [`${P}0_ID`]: 'db',
      [`${P}1_URL`]: 'mysql://u:hunter2@h/db',
      [`${P}1_USERNAME`]: 'uid; DROP TABLE x',
      [`${P}1_POOL_MAX_SIZE`]: '0',
      [`${P}1_POOL_MAX_WAIT`]: '2 seconds',
      [`${P}1_ORDER`]: 'first',
      [`${P}1_ID`]: 'db',
      [`${P}1_ATTRIBUTES`]: 'a:b:c',
      [`${P}X_URL`]: 'postgres://h/db',
    });
    for (const expected of [
      'CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: must be REPLACE, ADD or MULTIVALUED (MERGE)',
      `${P}0_SINGLEROW: not a setting of a JDBC attribute repository`,
      `${P}X_URL: not a setting`,
      `${P}0_URL: required`,
      `${P}0_SQL: never uses the username`,
      `${P}0_SINGLE_ROW: must be true or false`,
      `${P}1_URL: must be a postgres:// or jdbc:postgresql:// URL`,
      `${P}1_USERNAME: 'uid; DROP TABLE x' is not a column name`,
      `${P}1_SQL: required`,
      `${P}1_POOL_MAX_SIZE: must be a positive integer`,
      `${P}1_POOL_MAX_WAIT: must be seconds or an ISO-8601 duration`,
      `${P}1_ORDER: must be an integer`,
      `${P}1_ATTRIBUTES: 'a:b:c' is not column or column:name`,
      `${P}*_ID: 'db' names two repositories`,
    ]) {
      expect(message).toContain(expected);
    }
    // The URL may carry a password: it is never repeated.
    expect(message).not.toContain('hunter2');
  });

  it('column mappings: required without single-row, refused with it (a forgotten SINGLE_ROW=false)', () => {
    expect(errorOf({ ...BASE, [`${P}0_SINGLE_ROW`]: 'false' })).toContain(`${P}0_COLUMN_MAPPINGS: required with ${P}0_SINGLE_ROW=false`);
    expect(errorOf({ ...BASE, [`${P}0_COLUMN_MAPPINGS`]: 'n:v' })).toContain(`${P}0_COLUMN_MAPPINGS: is read only with ${P}0_SINGLE_ROW=false`);
    expect(errorOf({ ...BASE, [`${P}0_SINGLE_ROW`]: 'false', [`${P}0_COLUMN_MAPPINGS`]: 'name_only' })).toContain("'name_only' is not name column:value column");
  });

  it('loadCasConfig stops the boot with the same error', () => {
    expect(() => loadCasConfig({ [`${P}0_URL`]: 'postgres://h/db' })).toThrow(`${P}0_SQL: required`);
  });
});

describe('bindUsername: the username is $1, never text of the query', () => {
  const bind = (sql: string, columns = ['uid'], type: 'AND' | 'OR' = 'AND') => bindUsername(sql, columns, type);

  it('{0} becomes the username columns compared with $1 (CAS), joined by AND or OR', () => {
    expect(bind('SELECT * FROM people WHERE {0}')).toBe('SELECT * FROM people WHERE uid = $1');
    expect(bind('SELECT * FROM people WHERE {0} AND active', ['uid', 'p."Mail"'])).toBe('SELECT * FROM people WHERE (uid = $1 AND p."Mail" = $1) AND active');
    expect(bind('SELECT * FROM people WHERE {0}', ['uid', 'mail'], 'OR')).toBe('SELECT * FROM people WHERE (uid = $1 OR mail = $1)');
  });

  it('every ? and $1 is the username; ? inside literals, quoted identifiers and comments is text', () => {
    expect(bind('SELECT * FROM t WHERE a = ? OR b = ?')).toBe('SELECT * FROM t WHERE a = $1 OR b = $1');
    expect(bind('SELECT * FROM t WHERE a = $1')).toBe('SELECT * FROM t WHERE a = $1');
    const text = `SELECT '?', 'it''s {0}?', E'\\'?', "col?", $$?$$, $q$ ? $q$ -- ?\n FROM t /* ? /* ? */ ? */ WHERE a = ?`;
    expect(bind(text)).toBe(text.replace(/= \?$/, '= $1'));
  });

  it('refuses a query without the username, with a second parameter, or with an unterminated literal', () => {
    expect(bind('SELECT * FROM people')).toEqual({ error: expect.stringContaining('never uses the username') });
    expect(bind("SELECT * FROM people WHERE note = '?'")).toEqual({ error: expect.stringContaining('never uses the username') });
    expect(bind('SELECT * FROM t WHERE a = $1 AND b = $2')).toEqual({ error: expect.stringContaining('uses $2') });
    expect(bind("SELECT * FROM t WHERE a = ? AND b = 'x")).toEqual({ error: expect.stringContaining('unterminated') });
    expect(bind('SELECT * FROM t WHERE a = ? /* x')).toEqual({ error: expect.stringContaining('unterminated') });
  });
});

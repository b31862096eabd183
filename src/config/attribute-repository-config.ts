import { ConfigurationError } from './env.validation';

/**
 * How a repository's attributes go onto those already resolved (CAS's
 * `cas.authn.attribute-repository.core.merger`, REPLACE by default as in CAS):
 * - `REPLACE`: the repository's values replace those of an attribute already there;
 * - `ADD`: only attributes not there yet are added, existing values are kept;
 * - `MULTIVALUED`: the values are united (distinct, in order). `MERGE` is accepted for it.
 */
export type AttributeMerger = 'REPLACE' | 'ADD' | 'MULTIVALUED';

/** `cas.authn.attribute-repository.jdbc[n].*`: a SQL query on a Postgres database, by username. */
export interface JdbcAttributeRepositoryConfig {
  /** `id`: names the repository in the log and in `/actuator/resolveAttributes` (default `jdbc-<n>`). */
  id: string;
  order: number;
  /** A postgres:// URL (CAS's `jdbc:postgresql://…` is accepted and read without `jdbc:`). */
  url: string;
  user?: string;
  /** Never logged, never in an error message. */
  password?: string;
  /** The query as Postgres runs it: `{0}` and every `?` of the setting became `$1`, the username. */
  sql: string;
  /** One row whose columns are the attributes; or, false, rows of name/value pairs (`columnMappings`). */
  singleRow: boolean;
  /** Without singleRow: name column → value column; each row adds a value to the attribute it names. */
  columnMappings: { nameColumn: string; valueColumn: string }[];
  /** `attributes`: which attributes to keep, and under which name (none: every attribute as found). */
  attributes: { from: string; to: string }[];
  /** `pool.max-size`: connections to that database at most. */
  poolMaxSize: number;
  /** `pool.max-wait`: to get a connection (connecting included), in milliseconds. */
  maxWaitMs: number;
  /** `query-timeout`: the query's limit, on the server (statement_timeout) and in the client. */
  queryTimeoutMs: number;
}

export interface AttributeRepositoryConfig {
  merger: AttributeMerger;
  jdbc: JdbcAttributeRepositoryConfig[];
}

const JDBC_PREFIX = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_JDBC_';
const MERGER = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER';
const PROPERTIES = [
  'URL', 'USER', 'PASSWORD', 'SQL', 'USERNAME', 'QUERY_TYPE', 'SINGLE_ROW', 'COLUMN_MAPPINGS', 'ATTRIBUTES', 'ORDER', 'ID',
  'POOL_MAX_SIZE', 'POOL_MAX_WAIT', 'QUERY_TIMEOUT',
] as const;
type Property = (typeof PROPERTIES)[number];

/** A column as written in SQL: a plain identifier (optionally `table.column`) or a quoted one. */
const PLAIN = '[A-Za-z_][A-Za-z0-9_$]*';
const QUOTED = '"(?:[^"\\u0000]|"")+"';
const COLUMN = new RegExp(`^(?:${PLAIN}|${QUOTED})(?:\\.(?:${PLAIN}|${QUOTED}))?$`);
const ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * The attribute repositories of the environment. Lists and maps of CAS's properties are written
 * on one variable, as the LDAP sources' `principal-attribute-list` is: `USERNAME=uid,mail`,
 * `ATTRIBUTES=uid,mail:email,cn:displayName` (column, or column:name to rename), and
 * `COLUMN_MAPPINGS=attr_name:attr_value` (name column:value column). A variable under the
 * `…_JDBC_<n>_` prefix that names no setting stops the boot, so a typo is not silently ignored.
 */
export function loadAttributeRepositoryConfig(env: Record<string, string | undefined>): AttributeRepositoryConfig {
  const errors: string[] = [];
  const merger = parseMerger(value(env, MERGER), errors);
  const indexes = new Map<number, Partial<Record<Property, string>>>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(JDBC_PREFIX) || raw === undefined || raw === '') continue;
    const m = /^(\d{1,3})_([A-Z0-9_]+)$/.exec(name.slice(JDBC_PREFIX.length));
    if (!m || !(PROPERTIES as readonly string[]).includes(m[2])) {
      errors.push(`${name}: not a setting of a JDBC attribute repository (${PROPERTIES.join(', ')} after ${JDBC_PREFIX}<n>_)`);
      continue;
    }
    const index = Number(m[1]);
    const settings = indexes.get(index) ?? {};
    settings[m[2] as Property] = raw;
    indexes.set(index, settings);
  }
  const jdbc = [...indexes.keys()]
    .sort((a, b) => a - b)
    .map((n) => parseJdbc(n, indexes.get(n)!, errors));
  const ids = new Set<string>();
  for (const repository of jdbc) {
    if (ids.has(repository.id)) errors.push(`${JDBC_PREFIX}*_ID: '${repository.id}' names two repositories`);
    ids.add(repository.id);
  }
  if (errors.length) throw new ConfigurationError(`Invalid configuration:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return { merger, jdbc };
}

function parseJdbc(n: number, s: Partial<Record<Property, string>>, errors: string[]): JdbcAttributeRepositoryConfig {
  const name = (p: Property) => `${JDBC_PREFIX}${n}_${p}`;
  const fail = (p: Property, message: string) => errors.push(`${name(p)}: ${message}`);

  const url = s.URL?.trim().replace(/^jdbc:/, '');
  // The URL is not repeated in the message: it may hold the password.
  if (url === undefined) fail('URL', 'required for the repository (a postgres:// URL)');
  else if (!/^postgres(ql)?:\/\//.test(url)) fail('URL', 'must be a postgres:// or jdbc:postgresql:// URL');

  const columns = s.USERNAME === undefined ? ['username'] : list(s.USERNAME);
  for (const column of columns) if (!COLUMN.test(column)) fail('USERNAME', `'${column}' is not a column name`);
  const queryType = (s.QUERY_TYPE?.trim() ?? 'AND').toUpperCase();
  if (queryType !== 'AND' && queryType !== 'OR') fail('QUERY_TYPE', 'must be AND or OR');

  let sql = '';
  if (s.SQL === undefined) fail('SQL', 'required for the repository (e.g. SELECT * FROM people WHERE {0})');
  else {
    const bound = bindUsername(s.SQL, columns, queryType === 'OR' ? 'OR' : 'AND');
    if (typeof bound === 'string') sql = bound;
    else fail('SQL', bound.error);
  }

  const singleRow = parseBoolean(s.SINGLE_ROW, true, () => fail('SINGLE_ROW', 'must be true or false'));
  const columnMappings = pairs(s.COLUMN_MAPPINGS, false, (m) => fail('COLUMN_MAPPINGS', m)).map(({ from, to }) => ({ nameColumn: from, valueColumn: to }));
  if (singleRow && columnMappings.length) fail('COLUMN_MAPPINGS', `is read only with ${name('SINGLE_ROW')}=false`);
  if (!singleRow && !columnMappings.length) fail('COLUMN_MAPPINGS', `required with ${name('SINGLE_ROW')}=false (name column:value column)`);

  const id = s.ID?.trim() ?? `jdbc-${n}`;
  if (!ID.test(id)) fail('ID', 'letters, digits, and . _ : - only (at most 100)');

  return {
    id,
    order: integer(s.ORDER, 0, -2147483648, () => fail('ORDER', 'must be an integer')),
    url: url ?? '',
    user: s.USER,
    password: s.PASSWORD,
    sql,
    singleRow,
    columnMappings,
    attributes: pairs(s.ATTRIBUTES, true, (m) => fail('ATTRIBUTES', m)),
    poolMaxSize: integer(s.POOL_MAX_SIZE, 4, 1, () => fail('POOL_MAX_SIZE', 'must be a positive integer')),
    maxWaitMs: duration(s.POOL_MAX_WAIT, 2000, () => fail('POOL_MAX_WAIT', 'must be seconds or an ISO-8601 duration (PT2S, PT0.5S)')),
    queryTimeoutMs: duration(s.QUERY_TIMEOUT, 5000, () => fail('QUERY_TIMEOUT', 'must be seconds or an ISO-8601 duration (PT5S, PT0.5S)')),
  };
}

function parseMerger(raw: string | undefined, errors: string[]): AttributeMerger {
  const v = (raw ?? 'REPLACE').trim().toUpperCase();
  if (v === 'REPLACE' || v === 'ADD' || v === 'MULTIVALUED') return v;
  if (v === 'MERGE') return 'MULTIVALUED';
  errors.push(`${MERGER}: must be REPLACE, ADD or MULTIVALUED (MERGE)`);
  return 'REPLACE';
}

/**
 * The query with the username as its only parameter, `$1`: CAS's `{0}` becomes the `username`
 * columns compared with it (`uid = $1`, several joined by AND or OR), and every `?` (JDBC's
 * placeholder) becomes `$1`, outside string literals, quoted identifiers and comments. The
 * username is always a bound value, never text of the query. A query that never uses it would
 * give every user the same attributes, and one with a second parameter cannot run: both refused.
 */
export function bindUsername(sql: string, columns: string[], queryType: 'AND' | 'OR'): string | { error: string } {
  const clause = columns.length === 1 ? `${columns[0]} = $1` : `(${columns.map((c) => `${c} = $1`).join(` ${queryType} `)})`;
  let out = '';
  let usesUsername = false;
  let i = 0;
  while (i < sql.length) {
    const literal = literalLength(sql, i);
    if (literal === null) return { error: 'has an unterminated string, quoted identifier or comment' };
    if (literal > 0) {
      out += sql.slice(i, i + literal);
      i += literal;
      continue;
    }
    if (sql.startsWith('{0}', i)) {
      out += clause;
      usesUsername = true;
      i += 3;
    } else if (sql[i] === '?') {
      out += '$1';
      usesUsername = true;
      i += 1;
    } else if (sql[i] === '$' && /\d/.test(sql[i + 1] ?? '') && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
      const digits = /^\d+/.exec(sql.slice(i + 1))![0];
      if (Number(digits) !== 1) return { error: `uses $${digits}: the username is the only parameter ($1, ? or {0})` };
      out += '$1';
      usesUsername = true;
      i += 1 + digits.length;
    } else {
      out += sql[i];
      i += 1;
    }
  }
  if (!usesUsername) return { error: 'never uses the username: write {0} (CAS), ? or $1 where it goes' };
  return out;
}

/**
 * The length of the string literal, quoted identifier, comment or dollar-quoted string that starts
 * at `i` (0 when none does, null when it never ends): their text is not SQL and keeps its `?`.
 */
function literalLength(sql: string, i: number): number | null {
  const rest = sql.slice(i);
  if (rest.startsWith('--')) {
    const end = rest.indexOf('\n');
    return end < 0 ? rest.length : end + 1;
  }
  if (rest.startsWith('/*')) {
    // Postgres block comments nest.
    let depth = 0;
    let j = 0;
    while (j < rest.length - 1) {
      if (rest.startsWith('/*', j)) depth++;
      else if (rest.startsWith('*/', j)) depth--;
      else {
        j++;
        continue;
      }
      j += 2;
      if (depth === 0) return j;
    }
    return null;
  }
  const escapeString = /^[Ee]'/.test(rest) && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '');
  if (rest[0] === "'" || rest[0] === '"' || escapeString) {
    const quote = escapeString ? "'" : rest[0];
    for (let j = escapeString ? 2 : 1; j < rest.length; j++) {
      if (escapeString && rest[j] === '\\') j++;
      else if (rest[j] === quote) {
        if (rest[j + 1] === quote) j++;
        else return j + 1;
      }
    }
    return null;
  }
  const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
  if (dollar && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
    const end = rest.indexOf(dollar[0], dollar[0].length);
    return end < 0 ? null : end + dollar[0].length;
  }
  return 0;
}

function value(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `a,b:c`: each entry `from` or `from:to` (`a` is `a:a` when `sameWhenAlone`). */
function pairs(v: string | undefined, sameWhenAlone: boolean, fail: (message: string) => void): { from: string; to: string }[] {
  if (v === undefined) return [];
  const out: { from: string; to: string }[] = [];
  for (const entry of list(v)) {
    const [from, to, ...more] = entry.split(':').map((s) => s.trim());
    if (more.length || !from || to === '' || (to === undefined && !sameWhenAlone)) {
      fail(`'${entry}' is not ${sameWhenAlone ? 'column or column:name' : 'name column:value column'}`);
      continue;
    }
    out.push({ from, to: to ?? from });
  }
  return out;
}

function parseBoolean(v: string | undefined, fallback: boolean, fail: () => void): boolean {
  if (v === undefined) return fallback;
  const t = v.trim().toLowerCase();
  if (t === 'true' || t === 'false') return t === 'true';
  fail();
  return fallback;
}

function integer(v: string | undefined, fallback: number, min: number, fail: () => void): number {
  if (v === undefined) return fallback;
  const t = v.trim();
  if (/^-?\d{1,10}$/.test(t) && Number(t) >= min && Number(t) <= 2147483647) return Number(t);
  fail();
  return fallback;
}

/** Milliseconds of `2` (seconds, as CAS reads a bare number) or an ISO-8601 duration (`PT2S`, `PT0.5S`, `PT1M`). */
function duration(v: string | undefined, fallback: number, fail: () => void): number {
  if (v === undefined) return fallback;
  const t = v.trim();
  let ms: number | undefined;
  if (/^\d+$/.test(t)) ms = Number(t) * 1000;
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?$/i.exec(t);
  if (m && t.length > 2) ms = Math.round(((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000);
  if (ms !== undefined && ms >= 1 && ms <= 2147483647) return ms;
  fail();
  return fallback;
}

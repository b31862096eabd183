import { Logger } from '@nestjs/common';
import { Pool, type QueryResultRow } from 'pg';
import type { Attributes } from '../../common/attributes';
import type { JdbcAttributeRepositoryConfig } from '../../config/attribute-repository-config';
import type { AttributeRepository } from './attribute-repository';

/**
 * `cas.authn.attribute-repository.jdbc[n]`: the user's attributes from a query on another Postgres
 * database (CAS's SingleRowJdbcPersonAttributeDao / MultiRowJdbcPersonAttributeDao). Not one of
 * this server's tables, so not through database/sql.ts: each repository has its own small pool
 * to its own database, connected on first use (a database that is down does not stop the boot).
 *
 * The username is the query's only parameter ($1, config/attribute-repository-config.ts); the
 * query's text never holds it. Time is bounded on both sides: getting a connection
 * (`pool.max-wait`, connecting included) and the query (`query-timeout`, as the server's
 * statement_timeout, with the client's own limit a moment later in case the server stops answering).
 */
export class JdbcAttributeRepository implements AttributeRepository {
  private readonly logger = new Logger('AttributeRepository');
  readonly id: string;
  readonly order: number;
  private readonly pool: Pool;

  constructor(private readonly config: JdbcAttributeRepositoryConfig) {
    this.id = config.id;
    this.order = config.order;
    this.pool = new Pool({
      connectionString: withCredentials(config),
      max: config.poolMaxSize,
      connectionTimeoutMillis: config.maxWaitMs,
      idleTimeoutMillis: 30_000,
      statement_timeout: config.queryTimeoutMs,
      query_timeout: config.queryTimeoutMs + 1000,
      application_name: `cas attribute repository ${config.id}`.slice(0, 63),
    });
    // An idle connection the server ends (restart, failover) must not crash the process.
    this.pool.on('error', (error) => this.logger.warn(`${this.id}: an idle connection was lost: ${this.describe(error)}`));
  }

  async resolve(username: string): Promise<Attributes | null> {
    let rows: QueryResultRow[];
    try {
      ({ rows } = await this.pool.query<QueryResultRow>({ text: this.config.sql, values: [username] }));
    } catch (error) {
      // What the resolver logs and the admin endpoint shows: the driver's message, never the password.
      throw new Error(this.describe(error));
    }
    if (!rows.length) return null;
    if (this.config.singleRow && rows.length > 1) {
      throw new Error(`the single-row query returned ${rows.length} rows for one user`);
    }
    const found = this.config.singleRow ? columnsOf(rows[0]) : namedValues(rows, this.config.columnMappings);
    return selected(found, this.config.attributes);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** The driver's message and code, without the password should a message ever quote it. */
  private describe(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown })?.code;
    if (typeof code === 'string' && !text.includes(code)) text += ` (${code})`;
    if (this.config.password) text = text.split(this.config.password).join('***');
    return text;
  }
}

/** The URL with the `user` and `password` settings, which win over those the URL has (as in CAS). */
function withCredentials(config: JdbcAttributeRepositoryConfig): string {
  if (config.user === undefined && config.password === undefined) return config.url;
  const url = new URL(config.url);
  // As query parameters: pg reads them for socket URLs too, and they need no userinfo escaping.
  if (config.user !== undefined) {
    url.username = '';
    url.searchParams.set('user', config.user);
  }
  if (config.password !== undefined) {
    url.password = '';
    url.searchParams.set('password', config.password);
  }
  return url.href;
}

/** Single row: each column is an attribute; null is no value, an array several. */
function columnsOf(row: QueryResultRow): Attributes {
  const attributes: Attributes = {};
  for (const [column, value] of Object.entries(row)) add(attributes, column, valuesOf(value));
  return attributes;
}

/** Rows of name/value pairs: each row adds its value to the attribute its name column names. */
function namedValues(rows: QueryResultRow[], mappings: JdbcAttributeRepositoryConfig['columnMappings']): Attributes {
  const attributes: Attributes = {};
  for (const row of rows) {
    for (const { nameColumn, valueColumn } of mappings) {
      const name = column(row, nameColumn);
      if (name === null || name === undefined || name === '') continue;
      add(attributes, String(name), valuesOf(column(row, valueColumn)));
    }
  }
  return attributes;
}

/**
 * The `attributes` setting: with none, every attribute as found; otherwise only those it names,
 * renamed (an attribute may be listed twice under two names).
 */
function selected(found: Attributes, renames: JdbcAttributeRepositoryConfig['attributes']): Attributes {
  if (!renames.length) return found;
  const out: Attributes = {};
  for (const { from, to } of renames) {
    const values = column(found, from) as string[] | undefined;
    if (values) add(out, to, values);
  }
  return out;
}

/**
 * A column by the name the settings give: exactly, else ignoring case, since Postgres names an
 * unquoted `displayName` column `displayname` in the result.
 */
function column(row: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(row, name)) return row[name];
  const lower = name.toLowerCase();
  const key = Object.keys(row).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : row[key];
}

function valuesOf(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(valuesOf);
  if (value instanceof Date) return [value.toISOString()];
  if (Buffer.isBuffer(value)) return [value.toString('base64')];
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

/** Adds values to an attribute, each once; an attribute without values is left out. */
function add(attributes: Attributes, name: string, values: string[]): void {
  if (!values.length) return;
  const existing = Object.prototype.hasOwnProperty.call(attributes, name) ? attributes[name] : [];
  Object.defineProperty(attributes, name, { value: [...new Set([...existing, ...values])], enumerable: true, writable: true, configurable: true });
}

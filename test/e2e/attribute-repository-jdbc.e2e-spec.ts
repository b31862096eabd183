import { Logger } from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Browser, ticketOf } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';
import { APP } from '../helpers/test-services';

// casuser is in the static list (CAS_AUTHN_ACCEPT_USERS of the test app) with its demo attributes:
// mail casuser@example.org, displayName CAS Demo User, memberOf staff + faculty.
const P = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_JDBC_';
const FAST = { ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', AUTHN_THROTTLE_ENABLED: 'false' };
const INJECTION = "nobody' OR '1'='1";

/** Another Postgres database holding people and their groups, read by a role of its own. */
interface Directory {
  url: string;
  /** The database URL without credentials: the repository gets them from USER and PASSWORD. */
  bareUrl: string;
  role: string;
  password: string;
  sql: Client;
  drop(): Promise<void>;
}

async function peopleDatabase(): Promise<Directory> {
  const db = await createTestDatabase();
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const role = `attr_reader_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await sql.query(`
    CREATE TABLE people (uid text PRIMARY KEY, mail text, "displayName" text, phone text, nicknames text[], born date);
    INSERT INTO people VALUES
      ('casuser', 'casuser@db.example.org', 'Casual User', '+1 555 0100', '{cas,user}', '1990-05-01'),
      ('dbonly', 'dbonly@db.example.org', NULL, NULL, NULL, NULL);
    CREATE TABLE person_attributes (uid text, attr_name text, attr_value text);
    INSERT INTO person_attributes VALUES
      ('casuser', 'memberOf', 'library'), ('casuser', 'memberOf', 'staff'), ('casuser', 'eduPersonAffiliation', 'member'),
      ('casuser', 'eduPersonAffiliation', 'staff'), ('casuser', NULL, 'ignored'), ('dbonly', 'memberOf', 'guests');
    CREATE ROLE ${role} LOGIN PASSWORD '${password}';
    GRANT SELECT ON people, person_attributes TO ${role};
  `);
  // A user whose name is an injection attempt: found only when the name is compared as a value.
  await sql.query(`INSERT INTO people (uid, mail) VALUES ($1, 'literal@db.example.org')`, [INJECTION]);
  const bare = new URL(db.url);
  bare.username = '';
  bare.password = '';
  return {
    url: db.url,
    bareUrl: bare.href,
    role,
    password,
    sql,
    async drop() {
      await sql.end();
      await db.drop();
      const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    },
  };
}

/** What /p3/serviceValidate releases (JSON) to APP, which releases every attribute, after a login. */
async function releasedAfterLogin(t: TestApp, username: string, password: string): Promise<Record<string, unknown[]>> {
  const login = await new Browser(t.app).login(username, password, APP);
  expect(login.statusCode).toBe(302);
  return validate(t, ticketOf(login));
}

async function validate(t: TestApp, ticket: string): Promise<Record<string, unknown[]>> {
  const res = await t.app.inject({ method: 'GET', url: `/cas/p3/serviceValidate?service=${encodeURIComponent(APP)}&ticket=${ticket}&format=JSON` });
  expect(res.statusCode).toBe(200);
  return res.json().serviceResponse.authenticationSuccess.attributes;
}

/** A TCP port that accepts connections and never answers (a hung database). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

/** A port nothing listens on: one the system just gave and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('JDBC attribute repository, single row, merged with REPLACE (the default)', () => {
  let directory: Directory;
  let t: TestApp;
  beforeAll(async () => {
    directory = await peopleDatabase();
    t = await startTestApp({
      env: {
        ...FAST,
        CAS_AUTHN_ACCEPT_USERS: `casuser::Mellon,dbonly::dbonly-password,${INJECTION}::injection-password`,
        [`${P}0_ID`]: 'people',
        [`${P}0_URL`]: `jdbc:${directory.bareUrl.replace(/^postgres:/, 'postgresql:')}`,
        [`${P}0_USER`]: directory.role,
        [`${P}0_PASSWORD`]: directory.password,
        [`${P}0_SQL`]: 'SELECT *, current_user AS db_user FROM people WHERE {0}',
        [`${P}0_USERNAME`]: 'uid',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await directory.drop();
  });

  it("releases the row's columns as attributes: the database's values replace the handler's, the handler's others stay", async () => {
    const attributes = await releasedAfterLogin(t, 'casuser', 'Mellon');
    expect(attributes).toMatchObject({
      uid: ['casuser'],
      mail: ['casuser@db.example.org'],
      // An unquoted column name comes back lower-case from Postgres; a quoted one as written.
      displayName: ['Casual User'],
      phone: ['+1 555 0100'],
      nicknames: ['cas', 'user'],
      born: [expect.stringMatching(/^1990-05-0[12]T/)],
      memberOf: ['staff', 'faculty'],
      // Read with the USER and PASSWORD settings, not the URL's (which has none).
      db_user: [directory.role],
    });
  });

  it('a column that is NULL is no attribute', async () => {
    const attributes = await releasedAfterLogin(t, 'dbonly', 'dbonly-password');
    expect(attributes).toMatchObject({ uid: ['dbonly'], mail: ['dbonly@db.example.org'] });
    expect(attributes).not.toHaveProperty('displayName');
    expect(attributes).not.toHaveProperty('phone');
  });

  it('resolves at login only: a validation after the row changed releases what the login resolved', async () => {
    const browser = new Browser(t.app);
    const login = await browser.login('casuser', 'Mellon', APP);
    await directory.sql.query(`UPDATE people SET mail = 'changed@db.example.org' WHERE uid = 'casuser'`);
    try {
      expect((await validate(t, ticketOf(login))).mail).toEqual(['casuser@db.example.org']);
      // A second service ticket of the same SSO session: still the session's attributes.
      const sso = await browser.get(`/cas/login?service=${encodeURIComponent(APP)}`);
      expect((await validate(t, ticketOf(sso))).mail).toEqual(['casuser@db.example.org']);
      // A new login reads the row again.
      expect((await releasedAfterLogin(t, 'casuser', 'Mellon')).mail).toEqual(['changed@db.example.org']);
    } finally {
      await directory.sql.query(`UPDATE people SET mail = 'casuser@db.example.org' WHERE uid = 'casuser'`);
    }
  });

  it('a username made to widen the query is only a value: it finds its own row, not every row', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const attributes = await releasedAfterLogin(t, INJECTION, 'injection-password');
      // Spliced into the SQL, `uid = 'nobody' OR '1'='1'` would match all three rows (a failed
      // single-row query, or another user's attributes); bound, it matches its own.
      expect(attributes).toMatchObject({ uid: [INJECTION], mail: ['literal@db.example.org'] });
      expect(error).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
    }
  });
});

describe('JDBC attribute repository, rows of name/value pairs, merged as MULTIVALUED (MERGE)', () => {
  let directory: Directory;
  let t: TestApp;
  beforeAll(async () => {
    directory = await peopleDatabase();
    t = await startTestApp({
      env: {
        ...FAST,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'MERGE',
        [`${P}0_URL`]: directory.url,
        [`${P}0_SQL`]: 'SELECT attr_name, attr_value FROM person_attributes WHERE uid = ?',
        [`${P}0_SINGLE_ROW`]: 'false',
        [`${P}0_COLUMN_MAPPINGS`]: 'attr_name:attr_value',
        // Keep two of the attributes, one renamed.
        [`${P}0_ATTRIBUTES`]: 'memberOf,eduPersonAffiliation:affiliation',
        // A second repository, asked after the first (ORDER), adds another value to memberOf.
        [`${P}1_ID`]: 'extra',
        [`${P}1_ORDER`]: '5',
        [`${P}1_URL`]: directory.url,
        [`${P}1_SQL`]: `SELECT 'alumni'::text AS "memberOf", mail AS email FROM people WHERE uid = $1`,
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await directory.drop();
  });

  it("aggregates the rows into multi-valued attributes and unites them with the handler's, each value once, in repository order", async () => {
    const attributes = await releasedAfterLogin(t, 'casuser', 'Mellon');
    expect(attributes).toMatchObject({
      memberOf: ['staff', 'faculty', 'library', 'alumni'],
      affiliation: ['member', 'staff'],
      mail: ['casuser@example.org'],
      email: ['casuser@db.example.org'],
      displayName: ['CAS Demo User'],
    });
    expect(attributes).not.toHaveProperty('eduPersonAffiliation');
  });
});

describe('JDBC attribute repository merged with ADD', () => {
  let directory: Directory;
  let t: TestApp;
  beforeAll(async () => {
    directory = await peopleDatabase();
    t = await startTestApp({
      env: {
        ...FAST,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'ADD',
        [`${P}0_URL`]: directory.url,
        [`${P}0_SQL`]: 'SELECT mail, phone FROM people WHERE {0}',
        [`${P}0_USERNAME`]: 'uid',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await directory.drop();
  });

  it("adds only attributes the handler did not give: the handler's mail stays", async () => {
    const attributes = await releasedAfterLogin(t, 'casuser', 'Mellon');
    expect(attributes).toMatchObject({ mail: ['casuser@example.org'], phone: ['+1 555 0100'], memberOf: ['staff', 'faculty'] });
  });
});

describe('JDBC attribute repositories that fail do not fail the login', () => {
  let directory: Directory;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let t: TestApp;
  let error: jest.SpyInstance;
  beforeAll(async () => {
    directory = await peopleDatabase();
    silent = await silentServer();
    t = await startTestApp({
      env: {
        ...FAST,
        [`${P}0_ID`]: 'refused',
        [`${P}0_URL`]: `postgres://cas:${directory.password}@127.0.0.1:${await closedPort()}/people`,
        [`${P}0_SQL`]: 'SELECT mail FROM people WHERE {0}',
        [`${P}1_ID`]: 'hung',
        [`${P}1_URL`]: `postgres://127.0.0.1:${silent.port}/people`,
        [`${P}1_PASSWORD`]: directory.password,
        [`${P}1_SQL`]: 'SELECT mail FROM people WHERE {0}',
        [`${P}1_POOL_MAX_WAIT`]: 'PT0.3S',
        [`${P}2_ID`]: 'bad-query',
        [`${P}2_URL`]: directory.url,
        [`${P}2_SQL`]: 'SELECT mail FROM no_such_table WHERE uid = ?',
        [`${P}3_ID`]: 'slow',
        [`${P}3_URL`]: directory.url,
        [`${P}3_SQL`]: 'SELECT pg_sleep(30), mail FROM people WHERE uid = ?',
        [`${P}3_QUERY_TIMEOUT`]: 'PT0.3S',
        [`${P}4_ID`]: 'two-rows',
        [`${P}4_URL`]: directory.url,
        [`${P}4_SQL`]: 'SELECT mail FROM people WHERE uid = ? OR true',
        // The one that works: its attribute is in the session.
        [`${P}5_ID`]: 'good',
        [`${P}5_URL`]: directory.url,
        [`${P}5_SQL`]: 'SELECT phone FROM people WHERE uid = ?',
      },
    });
  });
  beforeEach(() => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => error.mockRestore());
  afterAll(async () => {
    await t.close();
    await silent.close();
    await directory.drop();
  });

  it("logs in with the handler's attributes and the working repository's; one error line per failed repository, by id, without secrets", async () => {
    const attributes = await releasedAfterLogin(t, 'casuser', 'Mellon');
    expect(attributes).toMatchObject({ mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'], phone: ['+1 555 0100'] });

    const lines = error.mock.calls.map((call) => String(call[0]));
    const lineOf = (id: string) => lines.filter((l) => l.startsWith(`attribute repository ${id} failed`));
    expect(lineOf('refused')).toEqual([expect.stringContaining('ECONNREFUSED')]);
    expect(lineOf('hung')).toEqual([expect.stringMatching(/timeout/i)]);
    expect(lineOf('bad-query')).toEqual([expect.stringContaining('no_such_table')]);
    expect(lineOf('slow')).toEqual([expect.stringContaining('statement timeout')]);
    expect(lineOf('two-rows')).toEqual([expect.stringMatching(/single-row query returned [3-9] rows/)]);
    expect(lineOf('good')).toEqual([]);
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toContain(directory.password);
      expect(line).not.toContain('casuser');
    }
  });
});

import { Client } from 'pg';
import { startTestApp, TestApp } from '../helpers/test-app';
import { createTestDatabase } from '../helpers/test-database';

const TOKEN = 'ops:0123456789abcdefghijklmnopqrstuv';
const BEARER = { authorization: 'Bearer 0123456789abcdefghijklmnopqrstuv' };
const P = 'CAS_AUTHN_ATTRIBUTE_REPOSITORY_JDBC_';
const SECRET = 'repository-password-0042';

/** GET /actuator/resolveAttributes/{username}: what the attribute repositories give a user, for administrators. */
describe('GET /actuator/resolveAttributes/{username}', () => {
  let people: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;
  beforeAll(async () => {
    people = await createTestDatabase();
    const sql = new Client({ connectionString: people.url });
    await sql.connect();
    await sql.query(`
      CREATE TABLE people (uid text PRIMARY KEY, mail text, phone text);
      INSERT INTO people VALUES ('casuser', 'casuser@db.example.org', '+1 555 0100'), ('dbonly', 'dbonly@db.example.org', NULL);
      CREATE TABLE groups (uid text, name text);
      INSERT INTO groups VALUES ('casuser', 'library'), ('casuser', 'alumni');
    `);
    await sql.end();
    t = await startTestApp({
      env: {
        CAS_ADMIN_TOKENS: TOKEN,
        CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: 'MULTIVALUED',
        [`${P}0_ID`]: 'people',
        [`${P}0_URL`]: people.url,
        [`${P}0_SQL`]: 'SELECT mail, phone FROM people WHERE {0}',
        [`${P}0_USERNAME`]: 'uid',
        [`${P}1_ID`]: 'groups',
        [`${P}1_URL`]: people.url,
        [`${P}1_SQL`]: `SELECT 'memberOf' AS attr, name FROM groups WHERE uid = ? ORDER BY name DESC`,
        [`${P}1_SINGLE_ROW`]: 'false',
        [`${P}1_COLUMN_MAPPINGS`]: 'attr:name',
        // Down: nothing listens on port 1. Its password must not show in the answer.
        [`${P}2_ID`]: 'down',
        [`${P}2_URL`]: 'postgres://127.0.0.1:1/people',
        [`${P}2_USER`]: 'cas',
        [`${P}2_PASSWORD`]: SECRET,
        [`${P}2_SQL`]: 'SELECT mail FROM people WHERE {0}',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await people.drop();
  });

  const resolve = (username: string, headers: Record<string, string> = BEARER) =>
    t.app.inject({ method: 'GET', url: `/cas/actuator/resolveAttributes/${username}`, headers });

  it("answers CAS's username and attributes, merged as a login merges them, and each repository's answer, a failed one with its error", async () => {
    const res = await resolve('casuser');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      username: 'casuser',
      attributes: { mail: ['casuser@db.example.org'], phone: ['+1 555 0100'], memberOf: ['library', 'alumni'] },
      repositories: [
        { id: 'people', status: 'found', attributes: { mail: ['casuser@db.example.org'], phone: ['+1 555 0100'] } },
        { id: 'groups', status: 'found', attributes: { memberOf: ['library', 'alumni'] } },
        { id: 'down', status: 'failed', error: expect.stringContaining('ECONNREFUSED') },
      ],
    });
    expect(res.body).not.toContain(SECRET);
  });

  it('a user some repositories do not know: their status says so; a user none knows gets empty attributes (as CAS)', async () => {
    expect((await resolve('dbonly')).json()).toEqual({
      username: 'dbonly',
      attributes: { mail: ['dbonly@db.example.org'] },
      repositories: [
        { id: 'people', status: 'found', attributes: { mail: ['dbonly@db.example.org'] } },
        { id: 'groups', status: 'not-found' },
        { id: 'down', status: 'failed', error: expect.any(String) },
      ],
    });
    const nobody = await resolve('nobody');
    expect(nobody.statusCode).toBe(200);
    expect(nobody.json()).toMatchObject({ username: 'nobody', attributes: {} });
  });

  it('the username is a value, spelled as sent: a quote, spaces and non-ASCII reach the query bound', async () => {
    const res = await resolve(encodeURIComponent("casuser' OR '1'='1"));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ username: "casuser' OR '1'='1", attributes: {} });
    expect(res.json().repositories.slice(0, 2)).toEqual([
      { id: 'people', status: 'not-found' },
      { id: 'groups', status: 'not-found' },
    ]);
    expect((await resolve(encodeURIComponent('Zoë Ünal'))).json()).toMatchObject({ username: 'Zoë Ünal', attributes: {} });
  });

  it('refuses a blank, oversized or control-character username with 400 JSON, and callers without the token with 401; all audited', async () => {
    const { rows: before } = await t.sql.query(`SELECT coalesce(max(id), 0) AS id FROM admin_audit`);
    for (const username of ['%20%20', 'a'.repeat(257), 'casuser%00', 'a%0Ab']) {
      const res = await resolve(username);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toMatchObject({ status: 400, message: expect.stringContaining("'username'") });
    }
    const anonymous = await resolve('casuser', {});
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).not.toContain('casuser@db.example.org');
    expect((await resolve('casuser')).statusCode).toBe(200);
    const { rows } = await t.sql.query(`SELECT actor, action, target, status FROM admin_audit WHERE id > $1 ORDER BY id`, [before[0].id]);
    expect(rows).toEqual([
      { actor: 'ops', action: 'GET', target: '/actuator/resolveAttributes/%20%20', status: 400 },
      { actor: 'ops', action: 'GET', target: `/actuator/resolveAttributes/${'a'.repeat(257)}`, status: 400 },
      { actor: 'ops', action: 'GET', target: '/actuator/resolveAttributes/casuser%00', status: 400 },
      { actor: 'ops', action: 'GET', target: '/actuator/resolveAttributes/a%0Ab', status: 400 },
      { actor: 'anonymous', action: 'GET', target: '/actuator/resolveAttributes/casuser', status: 401 },
      { actor: 'ops', action: 'GET', target: '/actuator/resolveAttributes/casuser', status: 200 },
    ]);
  });

  it('is in the API document, in the admin section', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/cas/actuator/openapi.json', headers: BEARER });
    expect(doc.statusCode).toBe(200);
    const operation = doc.json().paths['/cas/actuator/resolveAttributes/{username}']?.get;
    expect(operation).toMatchObject({ tags: ['admin'], security: [{ bearer: [] }] });
  });
});

describe('GET /actuator/resolveAttributes/{username} without repositories', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CAS_ADMIN_TOKENS: TOKEN } });
  });
  afterAll(() => t.close());

  it('answers empty attributes and no repositories', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/cas/actuator/resolveAttributes/casuser', headers: BEARER });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: 'casuser', attributes: {}, repositories: [] });
  });
});

import type { QueryRunner } from 'typeorm';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000013000 on rows written before it: every existing account and session gets the
 * key the server computes (usernameKey), and accounts that would merge stop it. Each case runs
 * in a transaction that is rolled back, as the server runs each migration in its own.
 */
describe('migration StoreCanonicalUsernames1764000013000', () => {
  const cases = migrationCases('StoreCanonicalUsernames1764000013000', (runner) => cases.migration.down(runner));
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  const addUser = (username: string) => runner.query(`INSERT INTO users (username, password_hash) VALUES ($1, 'x')`, [username]);

  it('fills users.username_key and the TGT/PGT principal_key with the server\'s canonical form', async () => {
    for (const name of ['Alice', 'ΟΔΟΣ', 'Straße', 'ﬁnn']) await addUser(name);
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, parent_id, principal, created_at, last_used_at, expires_at) VALUES
         ('TGT-m1', 'TGT', 'TGT-m1', NULL, 'ΟΔΟΣ', now(), now(), now() + interval '1 hour'),
         ('ST-m1', 'ST', 'TGT-m1', 'TGT-m1', 'ΟΔΟΣ', now(), now(), now() + interval '1 hour'),
         ('PGT-m1', 'PGT', 'TGT-m1', 'TGT-m1', 'ΟΔΟΣ', now(), now(), now() + interval '1 hour'),
         ('TGT-m2', 'TGT', 'TGT-m2', NULL, 'Straße', now(), now(), now() + interval '1 hour')`,
    );
    await migration.up(runner);
    expect(await runner.query(`SELECT username, username_key FROM users ORDER BY username`)).toEqual(
      expect.arrayContaining([
        { username: 'Alice', username_key: 'alice' },
        { username: 'Straße', username_key: 'strasse' },
        { username: 'ﬁnn', username_key: 'finn' },
        { username: 'ΟΔΟΣ', username_key: 'οδοσ' },
      ]),
    );
    expect(await runner.query(`SELECT id, principal_key FROM tickets WHERE id LIKE '%-m_' ORDER BY id`)).toEqual([
      { id: 'PGT-m1', principal_key: 'οδοσ' },
      { id: 'ST-m1', principal_key: null },
      { id: 'TGT-m1', principal_key: 'οδοσ' },
      { id: 'TGT-m2', principal_key: 'strasse' },
    ]);
    expect(await runner.query(`SELECT principal, principal_key FROM sso_sessions WHERE tgt_id = 'TGT-m2'`)).toEqual([
      { principal: 'Straße', principal_key: 'strasse' },
    ]);
    const indexes = (await runner.query(`SELECT indexname FROM pg_indexes WHERE tablename IN ('users', 'tickets')`)).map((r: { indexname: string }) => r.indexname);
    expect(indexes).toEqual(expect.arrayContaining(['ux_users_username_key', 'ix_tickets_type_principal_key']));
    expect(indexes).not.toEqual(expect.arrayContaining(['ux_users_username_ci']));
    expect(indexes).not.toEqual(expect.arrayContaining(['ix_tickets_type_principal']));
  });

  it('stops, naming them, when two accounts distinct under lower() are one username now', async () => {
    await addUser('Straße');
    await addUser('STRASSE');
    await expect(migration.up(runner)).rejects.toThrow(/"Straße" = "STRASSE".*Rename or delete all but one/);
  });
});

import type { QueryRunner } from 'typeorm';
import { migrationCases } from '../helpers/migration-transaction';

/**
 * Migration 1764000014000: tickets.authentication_handler, nullable and commented; down drops it.
 * Each case runs in a transaction that is rolled back, as the server runs each migration in its own.
 */
describe('migration AddAuthenticationHandler1764000014000', () => {
  const cases = migrationCases('AddAuthenticationHandler1764000014000');
  const { migration } = cases;
  let runner: QueryRunner;
  beforeEach(() => {
    runner = cases.runner();
  });

  const column = async () =>
    runner.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, col_description(a.attrelid, a.attnum) AS comment
         FROM pg_attribute a WHERE a.attrelid = 'tickets'::regclass AND a.attname = 'authentication_handler' AND NOT a.attisdropped`,
    );

  it('is applied at boot: a nullable varchar with a comment', async () => {
    expect(await column()).toEqual([{ name: 'authentication_handler', type: 'character varying(100)', not_null: false, comment: expect.stringMatching(/^TGT: name of the authentication handler/) }]);
  });

  it('down drops the column and keeps existing sessions; up adds it back, empty for them', async () => {
    await runner.query(
      `INSERT INTO tickets (id, type, session_id, principal, created_at, last_used_at, expires_at, authentication_handler)
       VALUES ('TGT-mig14', 'TGT', 'TGT-mig14', 'casuser', now(), now(), now() + interval '1 hour', 'AcceptUsersAuthenticationHandler')`,
    );
    await migration.down(runner);
    expect(await column()).toEqual([]);
    expect(await runner.query(`SELECT id FROM tickets WHERE id = 'TGT-mig14'`)).toEqual([{ id: 'TGT-mig14' }]);
    await migration.up(runner);
    expect(await column()).toHaveLength(1);
    expect(await runner.query(`SELECT authentication_handler FROM tickets WHERE id = 'TGT-mig14'`)).toEqual([{ authentication_handler: null }]);
  });
});

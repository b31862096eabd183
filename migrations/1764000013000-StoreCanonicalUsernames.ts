import { MigrationInterface, QueryRunner } from 'typeorm';
import { usernameKey } from '../src/common/username';
import { CreateDbaViews1764000007000 } from './1764000007000-CreateDbaViews';

/**
 * Usernames compare by one canonical key (usernameKey: NFKC + full case folding, computed in
 * JavaScript), stored beside the spelling instead of folding with Postgres' lower(), whose
 * answer depended on the database's collation and disagreed with the throttle's key:
 *
 * - `users.username_key`, unique: lookups, uniqueness and updates use it.
 * - `tickets.principal_key` on TGT and PGT rows (the sessions the admin API lists and ends by
 *   username), indexed with the type in place of (type, lower(principal)).
 * - the `sso_sessions` view shows it, so a DBA's query by user uses that index.
 * - `login_throttle.key` becomes text: `account:<key>` can be longer than the name (NFKC and
 *   folding expand: ß → ss, ﷺ → 18 characters), and varchar(320) turned a long name into a 500.
 *
 * Existing rows get their keys from the same function. Two accounts whose names fold to one key
 * (e.g. `Straße` and `STRASSE`, distinct under lower()) stop the migration, naming them: which
 * one keeps the name is the operator's decision, not the migration's.
 */
export class StoreCanonicalUsernames1764000013000 implements MigrationInterface {
  name = 'StoreCanonicalUsernames1764000013000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN username_key text`);
    const users: { username: string }[] = await q.query(`SELECT username FROM users`);
    const byKey = new Map<string, string[]>();
    for (const { username } of users) {
      const key = usernameKey(username);
      byKey.set(key, [...(byKey.get(key) ?? []), username]);
    }
    const clashes = [...byKey.values()].filter((names) => names.length > 1);
    if (clashes.length) {
      throw new Error(
        `these accounts would become one (usernames now compare by NFKC and full case folding): ` +
          `${clashes.map((names) => names.map((n) => JSON.stringify(n)).join(' = ')).join('; ')}. ` +
          `Rename or delete all but one of each (UPDATE users SET username = ... / DELETE FROM users WHERE username = ...), then start again.`,
      );
    }
    await setKeys(q, 'users', 'username', 'username_key', users.map((u) => u.username), '');
    await q.query(`ALTER TABLE users ALTER COLUMN username_key SET NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX ux_users_username_key ON users (username_key)`);
    await q.query(`DROP INDEX ux_users_username_ci`);
    await q.query(`COMMENT ON COLUMN users.username IS 'Login name as created: the principal CAS asserts'`);
    await q.query(`COMMENT ON COLUMN users.username_key IS 'Canonical form of the username (NFKC + full case folding, computed by the server): unique, what logins match'`);

    await q.query(`ALTER TABLE tickets ADD COLUMN principal_key text`);
    const principals: { principal: string }[] = await q.query(`SELECT DISTINCT principal FROM tickets WHERE type IN ('TGT', 'PGT')`);
    await setKeys(q, 'tickets', 'principal', 'principal_key', principals.map((p) => p.principal), `AND t.type IN ('TGT', 'PGT')`);
    await q.query(`CREATE INDEX ix_tickets_type_principal_key ON tickets (type, principal_key)`);
    await q.query(`DROP INDEX ix_tickets_type_principal`);
    await q.query(`COMMENT ON COLUMN tickets.principal IS 'Authenticated username as the account spells it (what CAS asserts)'`);
    await q.query(`COMMENT ON COLUMN tickets.principal_key IS 'TGT, PGT: canonical form of the principal (users.username_key), what finds a user''s sessions; NULL for ST, PT'`);

    await q.query(`ALTER TABLE login_throttle ALTER COLUMN key TYPE text`);
    await q.query(
      `COMMENT ON COLUMN login_throttle.key IS 'ip:<address>, account:<canonical username (users.username_key)> or device:<account digest>:<device cookie id>'`,
    );

    await q.query(`
      CREATE OR REPLACE VIEW sso_sessions AS
      SELECT t.id               AS tgt_id,
             t.principal,
             t.created_at,
             t.last_used_at,
             t.expires_at,
             t.hard_expires_at,
             t.use_count        AS uses,
             (SELECT count(DISTINCT s.service) FROM session_services s WHERE s.session_id = t.id)::int AS services_reached,
             t.remember_me,
             EXISTS (SELECT 1 FROM tickets p
                      WHERE p.session_id = t.id AND p.type = 'PGT' AND p.expires_at > now()) AS proxied,
             t.principal_key
        FROM tickets t
       WHERE t.type = 'TGT' AND t.expires_at > now()`);
    await q.query(`COMMENT ON COLUMN sso_sessions.principal IS 'Authenticated username as the account spells it'`);
    await q.query(
      `COMMENT ON COLUMN sso_sessions.principal_key IS 'Canonical username (NFKC + full case folding; an ASCII name in lower case): filter on it to find a user''s sessions through the index'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A view cannot lose a column in place: both are recreated as migration 1764000007000 made them.
    const views = new CreateDbaViews1764000007000();
    await views.down(q);
    await views.up(q);
    await q.query(`DELETE FROM login_throttle WHERE length(key) > 320`);
    await q.query(`ALTER TABLE login_throttle ALTER COLUMN key TYPE varchar(320)`);
    await q.query(`COMMENT ON COLUMN login_throttle.key IS 'ip:<address>, account:<lower-cased username> or device:<device cookie id>'`);
    await q.query(`CREATE INDEX ix_tickets_type_principal ON tickets (type, lower(principal))`);
    await q.query(`DROP INDEX ix_tickets_type_principal_key`);
    await q.query(`ALTER TABLE tickets DROP COLUMN principal_key`);
    await q.query(`COMMENT ON COLUMN tickets.principal IS 'Authenticated username'`);
    await q.query(`CREATE UNIQUE INDEX ux_users_username_ci ON users (lower(username))`);
    await q.query(`ALTER TABLE users DROP COLUMN username_key`);
    await q.query(`COMMENT ON COLUMN users.username IS 'Login name as entered at creation; unique ignoring case'`);
  }
}

/** Sets `keyColumn` from `nameColumn` for the given names: one statement, one pass over the table. */
async function setKeys(q: QueryRunner, table: string, nameColumn: string, keyColumn: string, names: string[], andWhere: string): Promise<void> {
  if (!names.length) return;
  await q.query(
    `UPDATE ${table} t SET ${keyColumn} = m.key FROM unnest($1::text[], $2::text[]) AS m(name, key) WHERE t.${nameColumn} = m.name ${andWhere}`,
    [names, names.map(usernameKey)],
  );
}

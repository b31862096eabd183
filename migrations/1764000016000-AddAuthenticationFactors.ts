import { MigrationInterface, QueryRunner } from 'typeorm';
import { CreateDbaViews1764000007000 } from './1764000007000-CreateDbaViews';

/** sso_sessions as migration 1764000013000 left it; this migration appends one column. */
const SSO_SESSIONS_SELECT = `
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
             t.principal_key`;

/**
 * The session records which multi-factor providers it satisfied and when (issue 13), for SSO to
 * ask a missing factor only (step-up) and validation to release `authnContextClass`. A JSON
 * object, provider id → ISO 8601 time it was satisfied: a session gains factors as it steps up.
 * Nullable: a password-only session, and every session older than this column, has none.
 */
export class AddAuthenticationFactors1764000016000 implements MigrationInterface {
  name = 'AddAuthenticationFactors1764000016000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets ADD COLUMN authentication_factors jsonb`);
    await q.query(
      `COMMENT ON COLUMN tickets.authentication_factors IS 'TGT: multi-factor providers the session satisfied, provider id (e.g. mfa-gauth) -> ISO 8601 time it was satisfied; released as authnContextClass. NULL: password only, and for ST, PGT, PT'`,
    );
    // A view column may only be appended in place: the new one goes last.
    await q.query(`CREATE OR REPLACE VIEW sso_sessions AS ${SSO_SESSIONS_SELECT},
             t.authentication_factors
        FROM tickets t
       WHERE t.type = 'TGT' AND t.expires_at > now()`);
    await q.query(
      `COMMENT ON COLUMN sso_sessions.authentication_factors IS 'Multi-factor providers the session satisfied, provider id -> when (e.g. {"mfa-gauth": "2026-01-01T08:00:00Z"}); NULL: password only'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A view cannot lose a column in place: both are recreated, then sso_sessions as 1764000013000 made it.
    const views = new CreateDbaViews1764000007000();
    await views.down(q);
    await views.up(q);
    await q.query(`CREATE OR REPLACE VIEW sso_sessions AS ${SSO_SESSIONS_SELECT}
        FROM tickets t
       WHERE t.type = 'TGT' AND t.expires_at > now()`);
    await q.query(`COMMENT ON COLUMN sso_sessions.principal IS 'Authenticated username as the account spells it'`);
    await q.query(
      `COMMENT ON COLUMN sso_sessions.principal_key IS 'Canonical username (NFKC + full case folding; an ASCII name in lower case): filter on it to find a user''s sessions through the index'`,
    );
    await q.query(`ALTER TABLE tickets DROP COLUMN authentication_factors`);
  }
}

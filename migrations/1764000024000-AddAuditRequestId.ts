import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The request id (X-Request-Id from a trusted proxy, else generated; echoed to the client) on each
 * admin audit row, so a row can be matched with the log lines and errors of the same request.
 * Rows written before this migration have none.
 */
export class AddAuditRequestId1764000024000 implements MigrationInterface {
  name = 'AddAuditRequestId1764000024000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE admin_audit ADD COLUMN request_id varchar(128)`);
    await q.query(
      `COMMENT ON COLUMN admin_audit.request_id IS 'Id of the HTTP request (X-Request-Id response header, requestId of the JSON log lines); NULL for rows before 1764000024000'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE admin_audit DROP COLUMN request_id`);
  }
}

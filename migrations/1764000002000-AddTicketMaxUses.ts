import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-service ST policies allow more than one use (CAS serviceTicketExpirationPolicy.numberOfUses). */
export class AddTicketMaxUses1764000002000 implements MigrationInterface {
  name = 'AddTicketMaxUses1764000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets ADD COLUMN max_uses integer NOT NULL DEFAULT 1`);
    await q.query(`COMMENT ON COLUMN tickets.max_uses IS 'ST/PT: validations allowed before the ticket is gone (use_count counts them)'`);
    await q.query(`COMMENT ON COLUMN tickets.use_count IS 'TGT: tickets granted from it; ST/PT: validations attempted'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets DROP COLUMN max_uses`);
  }
}

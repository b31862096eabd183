import { MigrationInterface, QueryRunner } from 'typeorm';

/** One row counting registry changes: every node polls it and reloads when it moves. */
export class AddServiceRegistryVersion1764000005000 implements MigrationInterface {
  name = 'AddServiceRegistryVersion1764000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE service_registry_version (
        id      smallint NOT NULL DEFAULT 1,
        version bigint   NOT NULL,
        CONSTRAINT pk_service_registry_version PRIMARY KEY (id),
        CONSTRAINT ck_service_registry_version_single CHECK (id = 1)
      )`);
    await q.query(`INSERT INTO service_registry_version (id, version) VALUES (1, 0)`);
    await q.query(`COMMENT ON TABLE service_registry_version IS 'Bumped in the transaction of every change to registered_services; nodes reload when it moves'`);
    await q.query(`COMMENT ON COLUMN service_registry_version.version IS 'Number of changes so far'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE service_registry_version`);
  }
}

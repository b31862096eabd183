import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The nodes of the cluster (issue 15, the console's overview): nodes are stateless and share this
 * database, so each one upserts its own row every 30 s (admin/node-heartbeats.ts, the only SQL on
 * the table): who it is (host, pid, version, when it started), when it was last seen, its logins,
 * failed logins and validations per minute over the last hour (`minute_counts`, the non-zero
 * minutes only) and its last registry cleaner runs (`cleaner_runs`). The overview sums the rows
 * seen in the last hour; a row not seen for a day is deleted by the statement that upserts.
 *
 * No index but the primary key: the table holds one row per node started in the last day (a few
 * dozen at most, a restart is a new node), read and purged whole.
 */
export class CreateNodeHeartbeats1764000026000 implements MigrationInterface {
  name = 'CreateNodeHeartbeats1764000026000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE node_heartbeats (
        node_id       uuid         NOT NULL,
        host          varchar(255) NOT NULL,
        pid           integer      NOT NULL,
        version       varchar(64)  NOT NULL,
        started_at    timestamptz  NOT NULL,
        last_seen     timestamptz  NOT NULL,
        minute_counts jsonb        NOT NULL DEFAULT '[]'::jsonb,
        cleaner_runs  jsonb        NOT NULL DEFAULT '[]'::jsonb,
        CONSTRAINT pk_node_heartbeats PRIMARY KEY (node_id),
        CONSTRAINT ck_node_heartbeats_minute_counts CHECK (jsonb_typeof(minute_counts) = 'array'),
        CONSTRAINT ck_node_heartbeats_cleaner_runs CHECK (jsonb_typeof(cleaner_runs) = 'array')
      )`);
    await q.query(
      `COMMENT ON TABLE node_heartbeats IS 'One row per server node seen in the last day, upserted by the node every 30 s (admin/node-heartbeats.ts): the admin console''s overview'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE node_heartbeats`);
  }
}

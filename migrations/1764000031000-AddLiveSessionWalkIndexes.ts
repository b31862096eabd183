import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin listing and the session search (issue 16) over a table where most sessions have
 * expired and wait for the cleaner (1,000,000 expired + 100,000 live tickets in the bench: ten
 * expired TGT rows for each live one). Each page walked the TGT rows in id order and read every
 * row's heap tuple, expired or not, to test its expiry; an address range or a username prefix
 * read every matching row, expired or not, from indexes without the expiry. With expires_at in
 * the index, an expired session is passed over inside the index, and only live rows are read:
 *
 * - ix_tickets_tgt_id_expires (id, expires_at), TGT rows: the keyset walk in id order of
 *   `GET /actuator/ssoSessions` and of the filters without an index of their own (since,
 *   idleSince, service, mfa, rememberMe, device).
 * - ix_tickets_tgt_client_ip becomes a btree on (client_ip, expires_at), instead of GiST on
 *   client_ip: `client_ip <<= $1` is a range of the btree (Postgres derives `>= network AND <=
 *   broadcast` from a constant range), IPv4 and IPv6, and a btree cannot hold the expiry beside
 *   an inet_ops GiST key without an extension.
 * - ix_tickets_tgt_principal_prefix becomes (principal_key COLLATE "C", expires_at).
 *
 * Cost: TGT rows only (partial). The two rebuilt indexes have as many entries as before; the new
 * one adds an entry per TGT row version (a login, and a service ticket granted from a session
 * with an idle timeout, whose UPDATE of expires_at is not HOT anyway). Sizes in the commit and
 * docs/benchmarks.md.
 */
export class AddLiveSessionWalkIndexes1764000031000 implements MigrationInterface {
  name = 'AddLiveSessionWalkIndexes1764000031000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_tickets_tgt_id_expires ON tickets (id, expires_at) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_id_expires IS 'Sessions (TGTs) in id order with their expiry: a keyset page of live sessions passes expired ones over inside the index'`,
    );
    await q.query(`DROP INDEX ix_tickets_tgt_client_ip`);
    await q.query(`CREATE INDEX ix_tickets_tgt_client_ip ON tickets (client_ip, expires_at) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_client_ip IS 'Sessions (TGTs) by client IP and expiry: an address or a CIDR range (client_ip <<= $1, IPv4 and IPv6) of live sessions without reading expired rows'`,
    );
    await q.query(`DROP INDEX ix_tickets_tgt_principal_prefix`);
    await q.query(`CREATE INDEX ix_tickets_tgt_principal_prefix ON tickets ((principal_key COLLATE "C"), expires_at) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_principal_prefix IS 'Sessions (TGTs) by canonical username in byte order, with their expiry: a username prefix search (principal_key COLLATE "C" ^@ $1) is a range scan'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_tickets_tgt_principal_prefix`);
    await q.query(`CREATE INDEX ix_tickets_tgt_principal_prefix ON tickets ((principal_key COLLATE "C")) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_principal_prefix IS 'Sessions (TGTs) by canonical username in byte order: a username prefix search (principal_key COLLATE "C" ^@ $1) is a range scan'`,
    );
    await q.query(`DROP INDEX ix_tickets_tgt_client_ip`);
    await q.query(`CREATE INDEX ix_tickets_tgt_client_ip ON tickets USING gist (client_ip inet_ops) WHERE type = 'TGT'`);
    await q.query(
      `COMMENT ON INDEX ix_tickets_tgt_client_ip IS 'Sessions (TGTs) by client IP: an address or a CIDR range (client_ip <<= $1, IPv4 and IPv6) without reading the table'`,
    );
    await q.query(`DROP INDEX ix_tickets_tgt_id_expires`);
  }
}

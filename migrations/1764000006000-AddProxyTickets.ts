import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Proxy authentication (CAS protocol 2.5.4, 2.7): proxy-granting tickets and proxy tickets are
 * rows of `tickets` like the others (session_id = root TGT, so ending the session removes them by
 * cascade); these columns carry what only they need. Columns are only added: views and other
 * migrations rely on the existing ones.
 */
export class AddProxyTickets1764000006000 implements MigrationInterface {
  name = 'AddProxyTickets1764000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tickets ADD COLUMN proxied_by text`);
    await q.query(`ALTER TABLE tickets ADD COLUMN proxy_chain text[]`);
    await q.query(`ALTER TABLE tickets ADD COLUMN granted_from varchar(256)`);
    await q.query(`ALTER TABLE session_services ADD COLUMN granted_by varchar(256)`);
    // An ST (or PT) mints at most one PGT, even when a service policy lets it be validated twice.
    await q.query(`CREATE UNIQUE INDEX ux_tickets_pgt_granted_from ON tickets (granted_from) WHERE type = 'PGT'`);
    // Keyset paging of proxied sessions (type=PROXIED) without walking the ST/PT/TGT part of the primary key.
    await q.query(`CREATE INDEX ix_tickets_pgt_id ON tickets (id) WHERE type = 'PGT'`);
    await q.query(`COMMENT ON COLUMN tickets.proxied_by IS 'PGT: service URL of the ST/PT validated with the pgtUrl, i.e. the service that proxies (ssoSessions proxied_by)'`);
    await q.query(`COMMENT ON COLUMN tickets.proxy_chain IS 'PGT/PT: pgtUrl callback URLs of the proxies, most recent first (cas:proxies); NULL for TGT/ST'`);
    await q.query(`COMMENT ON COLUMN tickets.granted_from IS 'PGT: id of the ST or PT whose validation minted it (that ticket row is gone once used)'`);
    await q.query(`COMMENT ON COLUMN session_services.granted_by IS 'PGT id through which a PT was issued to this service; NULL for an ST issued from the TGT'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_tickets_pgt_id`);
    await q.query(`DROP INDEX ux_tickets_pgt_granted_from`);
    await q.query(`ALTER TABLE session_services DROP COLUMN granted_by`);
    await q.query(`ALTER TABLE tickets DROP COLUMN granted_from`);
    await q.query(`ALTER TABLE tickets DROP COLUMN proxy_chain`);
    await q.query(`ALTER TABLE tickets DROP COLUMN proxied_by`);
  }
}

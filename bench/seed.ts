/**
 * Ticket rows written by SQL in the shape the application writes them (TicketRegistry's
 * createSession and grantServiceTicket: a TGT, its STs, a session_services row per ST), for the
 * bench to measure against without logging in a million times. The one place the bench knows that
 * shape; test/integration/bench-seed.int-spec.ts checks the app sees these rows as its own.
 */
import type { Client } from 'pg';
import { newTicketId } from '../src/tickets/ticket-ids';

/** The demo user's attributes, as stored on a TGT (and written by the tiny servers). */
export const ATTRS = JSON.stringify({ mail: ['casuser@example.org'], displayName: ['CAS Demo User'], memberOf: ['staff', 'faculty'] });

/** The handler a TGT of the demo user records (a static user: the app's AcceptUsersAuthenticationHandler). */
export const HANDLER = 'AcceptUsersAuthenticationHandler';

/**
 * The devices seeded sessions come from, in turn (session g: DEVICES[g % 3]), as the app records
 * them (auth/session-origin.ts parses the User-Agent once at login); no location (no GeoIP file).
 */
export const DEVICES = [
  { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', browser: 'Chrome 131', os: 'Windows 10', type: 'desktop' },
  { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', browser: 'Safari 17', os: 'iOS 17.5', type: 'mobile' },
  { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', browser: 'Firefox 133', os: 'Linux', type: 'desktop' },
];
const DEVICE_PARAMS = [DEVICES.map((d) => d.userAgent), DEVICES.map((d) => d.browser), DEVICES.map((d) => d.os), DEVICES.map((d) => d.type)];
/** SQL of session g's address: 10.<g bits 16-23>.<8-15>.<0-7>, one per session up to 16 million. */
const sessionIp = (g: string) => `('10.' || ((${g} >> 16) & 255) || '.' || ((${g} >> 8) & 255) || '.' || (${g} & 255))::inet`;
/** SQL of session g's User-Agent and device columns, from the DEVICE_PARAMS at $n..$n+3. */
const sessionDevice = (g: string, n: number) => [0, 1, 2, 3].map((i) => `($${n + i}::text[])[1 + ${g} % ${DEVICES.length}]`).join(', ');

/** The ids of the live tickets seedBulk wrote (TGTs and STs): the cleaner must leave every one. */
export const LIVE_IDS_TABLE = 'bench_live_ids';

/**
 * `count` unused STs for `service` (registered service 1), valid for 300 s, under `sessions` live
 * TGTs of casuser, with ids from the app's own generator; returns the ST ids.
 */
export async function seedServiceTickets(sql: Client, service: string, count: number, sessions: number): Promise<string[]> {
  const tgts = Array.from({ length: sessions }, () => newTicketId('TGT'));
  await sql.query(
    `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at,
                          idle_timeout_seconds, use_count, remember_me, attributes, authentication_handler,
                          client_ip, user_agent, device_browser, device_os, device_type)
     SELECT id, 'TGT', id, 'casuser', 'casuser', now(), now(), now() + interval '2 hours', now() + interval '8 hours', 7200, $2, false, $3::jsonb, $4,
            ${sessionIp('g::int')}, ${sessionDevice('g::int', 5)}
       FROM unnest($1::varchar[]) WITH ORDINALITY AS s(id, g)`,
    [tgts, Math.ceil(count / sessions), ATTRS, HANDLER, ...DEVICE_PARAMS],
  );
  const sts: string[] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(20_000, count - done);
    const ids = Array.from({ length: n }, () => newTicketId('ST'));
    const parents = ids.map((_, i) => tgts[(done + i) % sessions]);
    // Each ST granted to its session's address (session g = its 1-based position in tgts).
    const slots = ids.map((_, i) => ((done + i) % sessions) + 1);
    await sql.query(
      `WITH st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses, client_ip)
         SELECT s.id, 'ST', s.tgt, s.tgt, 'casuser', $3, 1, now(), now(), now() + interval '300 seconds', false, 1, ${sessionIp('s.g')}
           FROM unnest($1::varchar[], $2::varchar[], $4::int[]) s(id, tgt, g)
         RETURNING id, session_id, client_ip
       )
       INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, client_ip)
       SELECT session_id, id, $3, 1, now(), client_ip FROM st`,
      [ids, parents, service, slots],
    );
    sts.push(...ids);
    done += n;
  }
  return sts;
}

export interface BulkSeed {
  /** The service every ST was issued for (registered service 1). */
  service: string;
  /** Tickets of sessions past their idle limit (1 TGT : 4 STs), for the cleaner to end. */
  expired: number;
  /** Tickets of sessions in use (1 TGT : 4 STs), listed `user0`…, remembered in LIVE_IDS_TABLE. */
  live: number;
  /** Distinct principals (`user0` … `user<users - 1>`) the sessions are spread over. */
  users?: number;
  /**
   * Instead of `users`: consecutive sessions of a kind share a principal, this many per user of each
   * kind (session g of a kind, from 1, is `user<(g - 1) / n>`), so a user's sessions stay as many as
   * the table grows (BENCH_ONLY=flat); the expired and live ratios should cover the same users.
   */
  sessionsPerUser?: { expired: number; live: number };
  /** Sessions of each kind earlier calls wrote: this one numbers its own after them, to grow a table. */
  after?: { expired: number; live: number };
}

/** Sessions written per statement: the tuplestore of an INSERT … RETURNING and each commit stay bounded. */
const SEED_CHUNK = 200_000;

/**
 * Seeds `expired` and `live` tickets by set-wise SQL: sessions with a 2 h idle timeout inside an
 * 8 h hard limit, each with 4 STs (the first from a new login) and a session_services row per ST.
 * Ids are md5-based, of the app's lengths ('TGT-' + 48, 'ST-' + 32) in a subset of its alphabet.
 * FK triggers are skipped and secondary indexes dropped for the insert, then rebuilt from their
 * own definitions (about twice as fast); the rows are consistent by construction.
 */
export async function seedBulk(sql: Client, o: BulkSeed): Promise<void> {
  const users = o.users ?? 10_000;
  await sql.query(`SET session_replication_role = replica`);
  await sql.query(`CREATE TABLE IF NOT EXISTS ${LIVE_IDS_TABLE} (id varchar(256) PRIMARY KEY)`);
  const { rows: indexes } = await sql.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'session_services') AND indexname NOT LIKE 'pk\\_%'`,
  );
  for (const i of indexes) await sql.query(`DROP INDEX ${i.indexname}`);
  for (const [kind, tickets] of [['x', o.expired], ['L', o.live]] as const) {
    const sessions = Math.round(tickets / 5);
    const first = (kind === 'x' ? o.after?.expired : o.after?.live) ?? 0;
    const perUser = kind === 'x' ? o.sessionsPerUser?.expired : o.sessionsPerUser?.live;
    const principal = (g: string) => (perUser ? `'user' || ((${g} - 1) / ${perUser})` : `'user' || (${g} % ${users})`);
    const tgt = (g: string) => `'TGT-' || md5('${kind}' || ${g}) || substr(md5('${kind}t' || ${g}), 1, 16)`;
    // Expired: idle for 3 h (idle limit 2 h); live: used just now.
    const lastUsed = kind === 'x' ? `now() - interval '3 hours' - (g % 3600) * interval '1 second'` : `now() - (g % 600) * interval '1 second'`;
    const stExpires = kind === 'x' ? `created + interval '10 seconds'` : `now() + interval '1 hour'`;
    for (let from = first + 1; from <= first + sessions; from += SEED_CHUNK) {
      const to = Math.min(first + sessions, from + SEED_CHUNK - 1);
      await sql.query(`
        INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at, hard_expires_at,
                             idle_timeout_seconds, use_count, remember_me, attributes, authentication_handler,
                             client_ip, user_agent, device_browser, device_os, device_type)
        SELECT ${tgt('g')}, 'TGT', ${tgt('g')}, ${principal('g')}, ${principal('g')}, lu - interval '1 hour', lu,
               LEAST(lu - interval '1 hour' + interval '8 hours', lu + interval '2 hours'), lu - interval '1 hour' + interval '8 hours',
               7200, 4, false, $1::jsonb, $2, ${sessionIp('g')}, ${sessionDevice('g', 3)}
          FROM generate_series(${from}, ${to}) g, LATERAL (SELECT ${lastUsed} AS lu) t`, [ATTRS, HANDLER, ...DEVICE_PARAMS]);
      await sql.query(`
        WITH st AS (
          INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                               created_at, last_used_at, expires_at, from_new_login, max_uses, client_ip)
          SELECT 'ST-' || md5('${kind}s' || g || '-' || k), 'ST', ${tgt('g')}, ${tgt('g')}, ${principal('g')}, $1, 1,
                 created, created, ${stExpires}, k = 0, 1, ${sessionIp('g')}
            FROM generate_series(${from}, ${to}) g, generate_series(0, 3) k,
                 LATERAL (SELECT ${lastUsed} - (3 - k) * interval '10 minutes' AS created) t
          RETURNING id, session_id, created_at, client_ip
        )
        INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, client_ip)
        SELECT session_id, id, $1, 1, created_at, client_ip FROM st`, [o.service]);
      if (kind === 'L') {
        await sql.query(`INSERT INTO ${LIVE_IDS_TABLE} SELECT ${tgt('g')} FROM generate_series(${from}, ${to}) g`);
        await sql.query(`INSERT INTO ${LIVE_IDS_TABLE} SELECT 'ST-' || md5('Ls' || g || '-' || k) FROM generate_series(${from}, ${to}) g, generate_series(0, 3) k`);
      }
    }
  }
  for (const i of indexes) await sql.query(i.indexdef);
  await sql.query(`SET session_replication_role = origin`);
  // Replica mode ran no trigger: the live-sessions counter (migration 1764000025000) is recounted, as after any bulk load.
  await sql.query(`UPDATE sso_session_counts SET sessions = CASE slot WHEN 0 THEN (SELECT count(*) FROM tickets WHERE type = 'TGT') ELSE 0 END`);
}

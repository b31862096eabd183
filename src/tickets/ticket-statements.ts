/**
 * The ticket registry's SQL (ticket-registry.ts runs them; the bench EXPLAINs the cleaner's two),
 * named for what they do, with the planner notes that shaped them. The lock order every statement
 * that adds to a session keeps: its TGT row first (KEY SHARE, or the UPDATE of a grant), then the
 * PGT it descends from; a logout takes them in the same order, so the two never deadlock.
 */

/**
 * $1 id, $2 principal, $3 now, $4 expires, $5 hard limit, $6 idle seconds, $7 remember-me, $8 attributes, $9 principal key,
 * $10 authentication handler, $11 authentication factors (jsonb or null), $12-$18 the origin (session-origin.ts originParams).
 */
export const INSERT_SESSION_SQL = `INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at,
                            hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes, authentication_handler,
                            authentication_factors, client_ip, user_agent, device_browser, device_os, device_type, location_country, location_city)
       VALUES ($1, 'TGT', $1, $2, $9, $3, $3, $4, $5, $6, 0, $7, $8, $10, $11, $12, $13, $14, $15, $16, $17, $18)`;

export const FIND_SESSION_SQL = `SELECT id, principal, created_at, last_used_at, expires_at, use_count, attributes, authentication_factors
         FROM tickets WHERE id = $1 AND type = 'TGT' AND expires_at > $2`;

/**
 * Prepared as cas_grant_service_ticket. The TGT's UPDATE (idle window slid, never past its hard
 * limit; use counted) locks it first; the ST row and its session_services record are inserted
 * only from the row it returned. $8: the service's own TGT lifetime, or null. $10: the address
 * the ticket is granted to, on both (the session_services record outlives the ST).
 */
export const GRANT_SERVICE_TICKET_SQL = `WITH tgt AS (
         UPDATE tickets
            SET last_used_at = $2,
                use_count = use_count + 1,
                expires_at = LEAST(hard_expires_at, $2 + make_interval(secs => idle_timeout_seconds))
          WHERE id = $1 AND type = 'TGT' AND expires_at > $2
            AND ($8::integer IS NULL OR created_at > $2 - make_interval(secs => $8::integer))
          RETURNING id, principal
       ), st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses, client_ip)
         SELECT $3, 'ST', tgt.id, tgt.id, tgt.principal, $4, $5, $2, $2, $2 + make_interval(secs => $6),
                $7, $9, $10::inet
           FROM tgt
         RETURNING id
       ), tracked AS (
         INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, client_ip)
         SELECT tgt.id, $3, $4, $5, $2, $10::inet FROM tgt
       )
       SELECT id FROM st`;

/**
 * Prepared as cas_create_session_with_ticket: a new session and its first ST in one statement (a
 * password login for a service), one round trip and one commit where createSession then
 * grantServiceTicket took two of each. The TGT row is as INSERT_SESSION_SQL writes it, as the
 * grant then leaves it (used once, at its creation: its idle window starts now either way); the
 * ST and its session_services record as GRANT_SERVICE_TICKET_SQL writes them, from the TGT row
 * the INSERT returned. No other transaction sees the session before this one commits, so none
 * can end it between the two, and the TGT row is the first the statement locks (the lock order).
 * $1-$18 as INSERT_SESSION_SQL; $19 ST id, $20 service, $21 registered service id, $22 ST
 * seconds to live, $23 ST uses, $24 the address the ticket is granted to.
 */
export const INSERT_SESSION_WITH_TICKET_SQL = `WITH tgt AS (
         INSERT INTO tickets (id, type, session_id, principal, principal_key, created_at, last_used_at, expires_at,
                              hard_expires_at, idle_timeout_seconds, use_count, remember_me, attributes, authentication_handler,
                              authentication_factors, client_ip, user_agent, device_browser, device_os, device_type, location_country, location_city)
         VALUES ($1, 'TGT', $1, $2, $9, $3, $3, $4, $5, $6, 1, $7, $8, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         RETURNING id, principal
       ), st AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses, client_ip)
         SELECT $19, 'ST', tgt.id, tgt.id, tgt.principal, $20, $21, $3, $3, $3::timestamptz + make_interval(secs => $22), true, $23, $24::inet
           FROM tgt
         RETURNING id
       ), tracked AS (
         INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, client_ip)
         SELECT tgt.id, $19, $20, $21, $3, $24::inet FROM tgt
       )
       SELECT id FROM st`;

/**
 * How long a node's claim on an outbox row lasts (SingleLogoutOutbox.claimDue, and the events a
 * login's statement queues already claimed): past it, the row is due again on any node.
 */
export const OUTBOX_CLAIM_SECONDS = 30;

/**
 * Prepared as cas_create_session_with_ticket_events: INSERT_SESSION_WITH_TICKET_SQL ($1-$24) and
 * the session's `session-established` Security Event Tokens (session-events.ts builds them, one per
 * receiver) queued in the single-logout outbox, in the same statement: one round trip and one
 * commit where a transaction took four (BEGIN, the session, SingleLogoutOutbox.enqueueEvents'
 * INSERT, COMMIT), and no planning (the transaction's two statements were planned at every login:
 * 0.9 ms of Postgres CPU per POST). The outbox rows are the ones enqueueEvents writes (kind SET,
 * no ticket), a test holds the two together, but born claimed by the node that runs the
 * statement: SENDING, attempt 1, its claim expiring OUTBOX_CLAIM_SECONDS later, as claimDue
 * leaves a row it claims. That node sends them once this statement has committed, without a
 * claim statement of its own (SessionEvents.createSessionWithTicket: one round trip per login
 * less); a node that dies first leaves them to any node's claim once the claim expires. $25 SET
 * ids, $26 session handles, $27 principals, $28 event types, $29 receiver URLs, $30 claims
 * (JSON), $31 reasons.
 */
export const INSERT_SESSION_WITH_TICKET_AND_EVENTS_SQL = INSERT_SESSION_WITH_TICKET_SQL.replace(
  /\n\s*SELECT id FROM st$/,
  `, events AS (
         INSERT INTO slo_outbox (id, kind, session_id, ticket_id, principal, service, logout_url, message, reason,
                                 status, attempts, claimed_until, next_attempt_at, created_at)
         SELECT r.id, 'SET', r.session_id, '', r.principal, r.service, r.logout_url, r.message, r.reason,
                'SENDING', 1, $3::timestamptz + make_interval(secs => ${OUTBOX_CLAIM_SECONDS}), $3::timestamptz + make_interval(secs => ${OUTBOX_CLAIM_SECONDS}), $3
           FROM unnest($25::varchar[], $26::varchar[], $27::varchar[], $28::text[], $29::text[], $30::text[], $31::varchar[])
                AS r(id, session_id, principal, service, logout_url, message, reason)
          WHERE EXISTS (SELECT 1 FROM tgt)
       )
       SELECT id FROM st`,
);

/**
 * Prepared as cas_consume_service_ticket. The last use deletes the ticket, an earlier one counts
 * it; the two branches exclude each other. A PT is also dead once the PGT it came from is gone or
 * expired (CAS: an expired parent expires its children).
 */
export const CONSUME_SERVICE_TICKET_SQL = `WITH last_use AS (
         DELETE FROM tickets WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 >= max_uses
         RETURNING id, type, session_id, parent_id, service, principal, expires_at, from_new_login, proxy_chain
       ), earlier_use AS (
         UPDATE tickets SET use_count = use_count + 1, last_used_at = $3
          WHERE id = $1 AND type = ANY($2::varchar[]) AND use_count + 1 < max_uses
         RETURNING id, type, session_id, parent_id, service, principal, expires_at, from_new_login, proxy_chain
       ), st AS (
         SELECT * FROM last_use UNION ALL SELECT * FROM earlier_use
       )
       SELECT st.id, st.type, st.session_id, st.parent_id, st.service, st.principal, st.from_new_login, st.proxy_chain,
              tgt.attributes, tgt.created_at AS authenticated_at, tgt.remember_me, tgt.authentication_handler,
              tgt.authentication_factors,
              (st.expires_at > $3 AND tgt.expires_at > $3 AND (st.type <> 'PT' OR COALESCE(pgt.expires_at > $3, false))) AS live
         FROM st JOIN tickets tgt ON tgt.id = st.session_id
         LEFT JOIN tickets pgt ON st.type = 'PT' AND pgt.id = st.parent_id AND pgt.type = 'PGT'`;

/**
 * A factor satisfied by the live session $1 (step-up): $2 provider id, $3 now. One UPDATE of the
 * TGT row (the lock every grant takes first), so a grant either sees the factor or runs before it.
 */
export const ADD_SESSION_FACTOR_SQL = `UPDATE tickets
          SET authentication_factors = COALESCE(authentication_factors, '{}'::jsonb) || jsonb_build_object($2::text, $3::timestamptz)
        WHERE id = $1 AND type = 'TGT' AND expires_at > $3
        RETURNING id`;

/** The TGT row, then the ticket-granting ticket `from` came from, locked KEY SHARE (the lock order). */
export const INSERT_PROXY_GRANTING_TICKET_SQL = `INSERT INTO tickets (id, type, session_id, parent_id, principal, principal_key, created_at, last_used_at, expires_at,
                            hard_expires_at, idle_timeout_seconds, use_count, remember_me, proxied_by, proxy_chain, granted_from)
       SELECT $1, 'PGT', tgt.id, $3, $4, tgt.principal_key, $5, $5, LEAST(tgt.hard_expires_at, $5::timestamptz + make_interval(secs => tgt.idle_timeout_seconds)),
              tgt.hard_expires_at, tgt.idle_timeout_seconds, 0, tgt.remember_me, $6, $7::text[], $8
         FROM tickets tgt JOIN tickets parent ON parent.id = $3 AND parent.session_id = tgt.id
        WHERE tgt.id = $2 AND tgt.type = 'TGT' AND tgt.expires_at > $5
          FOR KEY SHARE
       ON CONFLICT (granted_from) WHERE type = 'PGT' DO NOTHING
       RETURNING id`;

export const FIND_PROXY_GRANTING_TICKET_SQL = `SELECT p.id, p.principal, tgt.attributes, tgt.authentication_factors
         FROM tickets p JOIN tickets tgt ON tgt.id = p.session_id
        WHERE p.id = $1 AND p.type = 'PGT' AND p.expires_at > $2 AND tgt.expires_at > $2`;

/** The TGT locked KEY SHARE, then the PGT by its UPDATE: a logout's order. */
export const GRANT_PROXY_TICKET_SQL = `WITH root AS (
         SELECT tgt.id FROM tickets tgt
          WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT' AND tgt.expires_at > $2
          FOR KEY SHARE
       ), pgt AS (
         UPDATE tickets p
            SET last_used_at = $2,
                use_count = p.use_count + 1,
                expires_at = LEAST(p.hard_expires_at, $2 + make_interval(secs => p.idle_timeout_seconds))
           FROM root
          WHERE p.id = $1 AND p.type = 'PGT' AND p.expires_at > $2 AND p.session_id = root.id
          RETURNING p.id, p.session_id, p.principal, p.proxy_chain
       ), pt AS (
         INSERT INTO tickets (id, type, session_id, parent_id, principal, service, registered_service_id,
                              created_at, last_used_at, expires_at, from_new_login, max_uses, proxy_chain)
         SELECT $3, 'PT', pgt.session_id, pgt.id, pgt.principal, $4, $5, $2, $2, $2 + make_interval(secs => $6), false, $7, pgt.proxy_chain
           FROM pgt
         RETURNING id
       ), tracked AS (
         INSERT INTO session_services (session_id, ticket_id, service, registered_service_id, issued_at, granted_by)
         SELECT pgt.session_id, $3, $4, $5, $2, pgt.id FROM pgt
       )
       SELECT id FROM pt`;

/** The proxied session $1's TGT (KEY SHARE), then, in id order, the PGT and the PGTs below it (FOR UPDATE). */
export const LOCK_PROXIED_SESSION_SQL = `WITH RECURSIVE root AS (
             SELECT tgt.id FROM tickets tgt
              WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT'
              FOR KEY SHARE
           ), tree AS (
             SELECT p.id FROM tickets p JOIN root ON p.session_id = root.id WHERE p.id = $1 AND p.type = 'PGT'
             UNION ALL
             SELECT t.id FROM tickets t JOIN tree ON t.parent_id = tree.id WHERE t.type = 'PGT'
           )
           SELECT p.id FROM tickets p JOIN tree ON tree.id = p.id ORDER BY p.id FOR UPDATE OF p`;

/** The locked tree's PGTs and PTs and their PTs' service records, deleted; the principal and the records returned. */
export const REMOVE_PROXIED_SESSION_SQL = `WITH RECURSIVE root AS (
           SELECT tgt.id FROM tickets tgt
            WHERE tgt.id = (SELECT session_id FROM tickets WHERE id = $1 AND type = 'PGT') AND tgt.type = 'TGT'
            FOR KEY SHARE
         ), tree AS (
           SELECT p.id, p.session_id, p.principal FROM tickets p JOIN root ON p.session_id = root.id WHERE p.id = $1 AND p.type = 'PGT'
           UNION ALL
           SELECT t.id, t.session_id, t.principal FROM tickets t JOIN tree ON t.parent_id = tree.id WHERE t.type IN ('PGT', 'PT')
         ), reached AS (
           DELETE FROM session_services s USING tree WHERE s.session_id = tree.session_id AND s.granted_by = tree.id
           RETURNING s.ticket_id, s.service, s.registered_service_id, s.issued_at
         ), gone AS (
           DELETE FROM tickets t USING tree WHERE t.id = tree.id RETURNING t.id
         )
         SELECT (SELECT principal FROM tree WHERE id = $1) AS principal,
                COALESCE((SELECT json_agg(reached.*) FROM reached), '[]'::json) AS reached
           FROM tree WHERE tree.id = $1`;

/**
 * The ended TGT row as JSON text, less its attributes and null columns, for the session history to copy in the
 * same transaction (tickets/session-history.ts picks the columns it keeps; this file need not
 * follow them). Text, not json: the node only hands it back.
 */
const snapshotOf = (row: string) => `jsonb_strip_nulls(to_jsonb(${row}) - 'attributes')::text AS snapshot`;

/** The TGT $1 deleted (with $2, only if it had expired by then), its principal and snapshot returned. */
export const DELETE_SESSION_SQL = `WITH gone AS (
           DELETE FROM tickets WHERE id = $1 AND type = 'TGT' AND ($2::timestamptz IS NULL OR expires_at <= $2) RETURNING principal, ${snapshotOf('tickets')}
         ) SELECT principal, snapshot FROM gone`;

/**
 * Every ticket and service record of the sessions $1, returning the service records. A join to
 * unnest() rather than = ANY($1): the planner estimated every element of a 1,000-id array one
 * by one, and planning became most of a cleaner batch (docs/benchmarks.md).
 */
export const REMOVE_SESSION_ROWS_SQL = `WITH ids AS (
         SELECT unnest($1::varchar[]) AS id
       ), reached AS (
         DELETE FROM session_services s USING ids WHERE s.session_id = ids.id
         RETURNING s.session_id, s.ticket_id, s.service, s.registered_service_id, s.issued_at
       ), tickets_gone AS (
         DELETE FROM tickets t USING ids WHERE t.session_id = ids.id
       )
       SELECT * FROM reached`;

/** A hand-over's two TGT rows, locked in id order. */
export const LOCK_SESSION_PAIR_SQL = `SELECT id FROM tickets WHERE id IN ($1, $2) AND type = 'TGT' ORDER BY id FOR UPDATE`;

export const LOCK_LIVE_SESSION_OF_SQL = `SELECT id, principal, ${snapshotOf('tickets')} FROM tickets WHERE id = $1 AND type = 'TGT' AND expires_at > $2 AND principal_key = $3 FOR UPDATE`;

export const MOVE_SESSION_SERVICES_SQL = `UPDATE session_services SET session_id = $2 WHERE session_id = $1
       RETURNING ticket_id, service, registered_service_id, issued_at`;

export const DELETE_SESSION_TICKETS_SQL = `DELETE FROM tickets WHERE session_id = $1`;

/**
 * The listing's entries for the ids of a CTE named `page`, with what the ssoSessions view shows
 * (LIST_SESSIONS_SQL here, and the filtered pages of session-search.ts).
 */
export const SESSION_DETAILS_OF_PAGE_SQL = `SELECT t.id, t.type, t.principal, t.created_at, t.last_used_at, t.expires_at, t.hard_expires_at, t.idle_timeout_seconds,
              t.use_count, t.remember_me, root.attributes, root.authentication_handler, root.authentication_factors, t.proxied_by,
              host(root.client_ip) AS client_ip, root.user_agent, root.device_browser, root.device_os, root.device_type,
              root.location_country, root.location_city,
              COALESCE((SELECT json_agg(json_build_object('ticket_id', s.ticket_id, 'service', s.service, 'issued_at', s.issued_at,
                                                          'client_ip', host(s.client_ip))
                                        ORDER BY s.issued_at)
                          FROM session_services s
                         WHERE s.session_id = t.session_id
                           AND (CASE WHEN t.type = 'PGT' THEN s.granted_by = t.id ELSE s.granted_by IS NULL END)), '[]'::json) AS services
         FROM page JOIN tickets t ON t.id = page.id JOIN tickets root ON root.id = t.session_id
        ORDER BY t.id`;

/**
 * A keyset page of live sessions: $1 now, $2 after, $3 principal key or null, $4 limit, $5 kind.
 * TGTs walk ix_tickets_tgt_id_expires (migration 1764000031000), which passes expired sessions
 * over inside the index: on the primary key, a page read the heap row of every expired session
 * between two live ones (ten per live one in the bench, the cleaner behind). PGTs keep
 * "(expires_at > $1) IS TRUE", which keeps the expiry indexes out of their walk: combined in a
 * bitmap with the id range, they made a page near the end of the ids sort every live session
 * after it to return a few (EXPLAIN ANALYZE, docs/benchmarks.md).
 * A PGT shows its root session's origin: where the user logged in.
 */
const listSessionsSql = (ofPrincipal: (key: string) => string) => `WITH page AS (
         (SELECT p.id FROM tickets p
           WHERE $5::text IN ('ALL', 'PGT') AND p.type = 'PGT' AND (p.expires_at > $1) IS TRUE AND p.id > $2
             AND ${ofPrincipal('p.principal_key')}
             -- a PGT outlives an idle TGT only until the cleaner ends the session: it is dead already
             AND EXISTS (SELECT 1 FROM tickets r WHERE r.id = p.session_id AND r.expires_at > $1)
           ORDER BY p.id LIMIT $4)
         UNION ALL
         (SELECT id FROM tickets
           WHERE $5::text IN ('ALL', 'TGT') AND type = 'TGT' AND expires_at > $1 AND id > GREATEST($2, 'TGT-')
             AND ${ofPrincipal('principal_key')}
           ORDER BY id LIMIT $4)
         ORDER BY id LIMIT $4
       )
       ${SESSION_DETAILS_OF_PAGE_SQL}`;
export const LIST_SESSIONS_SQL = listSessionsSql((key) => `($3::text IS NULL OR ${key} = $3::text)`);

/**
 * One principal's page ($3 never null), as a named prepared statement: on
 * ix_tickets_type_principal_key whatever the values, so one generic plan fits every user, where
 * planning it at every request cost more than running it (0.57 ms planning against 0.33 ms,
 * pg_stat_statements, npm run bench at 1,100,000 tickets).
 */
export const LIST_USER_SESSIONS_SQL = listSessionsSql((key) => `${key} = $3::text`);

/**
 * CAS 6's totals over the live sessions ($1 now), each from the index that holds it: the TGTs
 * counted on ix_tickets_tgt_expires, the users on ix_tickets_tgt_principal_prefix (index-only;
 * COLLATE "C" names its key, and under a deterministic collation two keys are equal exactly when
 * their bytes are), the uses from the rows. As one pass over `type IN ('TGT', 'PGT')`, which no
 * partial index matches, the planner combined ix_tickets_expires (every live ticket) and the
 * (type, principal_key) index (every TGT, expired ones too) in a bitmap: 57-70 ms against 29 ms
 * for 20,000 live sessions at 1,100,000 tickets (min of 7, BENCH_ONLY=session-filters seed); the
 * admin listing refreshes them every 5 s, beside the pages it serves.
 */
export const SESSION_TOTALS_SQL = `SELECT (SELECT count(*) FROM tickets WHERE type = 'TGT' AND expires_at > $1)::int AS tgts,
              (SELECT count(*) FROM tickets WHERE type = 'PGT' AND expires_at > $1)::int AS pgts,
              (SELECT count(DISTINCT (principal_key COLLATE "C")) FROM tickets WHERE type = 'TGT' AND expires_at > $1)::int AS principals,
              (SELECT COALESCE(sum(use_count), 0) FROM tickets WHERE type = 'TGT' AND expires_at > $1)::int AS uses`;

/**
 * For a batch of ids, the planner weighs the unnest() (estimated at its real size) against the
 * whole tables and picks hash joins over sequential scans of tickets and session_services, several
 * times slower per batch than the ix_tickets_session / pk_session_services lookups it takes
 * otherwise (docs/benchmarks.md). Only the cleaner transaction's statements are steered (SET
 * LOCAL). Sequential scans are steered off rather than hash joins: END_EXPIRED_SESSIONS_SQL joins
 * its own CTEs (a batch's thousands of service records to its sessions) and wants a hash there.
 */
export const STEER_CLEANER_JOINS_SQL = 'SET LOCAL enable_seqscan = off';

/**
 * The cleaner batch's claim: up to $2 sessions expired at $1, locked SKIP LOCKED (ids returned),
 * on the sessions-only expiry index. Only locked: END_EXPIRED_SESSIONS_SQL, a statement whose
 * snapshot is taken after these locks were granted, deletes them with everything they reached
 * (a statement that claimed and deleted in one would read the service records in a snapshot
 * older than its locks, and an ST granted in between would be left behind, owned by no session).
 */
export const CLAIM_EXPIRED_SESSIONS_SQL = `SELECT id FROM tickets WHERE type = 'TGT' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`;

/**
 * Everything a cleaner batch writes, in one statement, for the sessions $1 claimed (locked) by
 * CLAIM_EXPIRED_SESSIONS_SQL in this transaction: the TGT rows, every ticket and service record of
 * them deleted; for each session, one logout request per service URL (query, path parameters and
 * fragment ignored) for the latest ticket it received, queued in slo_outbox when BACK_CHANNEL
 * (single-logout.ts's rules, the outbox's row as SingleLogoutOutbox.enqueue writes it); one
 * session_history row (session-history.ts's, as SessionHistory.record writes it for EXPIRED).
 * Thirteen statements per batch took three times the Postgres time of this one (docs/benchmarks.md).
 *
 * $2 now. $3 the service registry's answers as jsonb: `i<registered service id>` or `u<service
 * URL>` → {t: BACK_CHANNEL | FRONT_CHANNEL, u: logout URL or absent} for a service logged out, or
 * null for one that is not (unregistered, disabled, logoutType NONE). $4 whether logout requests
 * are built at all (single logout on, on expiry). $5 whether the ended sessions' ids and
 * principals are returned (session events). A latest service record that $3 does not answer is
 * returned in `unresolved` (nothing else to go by): the caller rolls this statement back (a
 * savepoint), looks those up, and runs it again.
 */
export const END_EXPIRED_SESSIONS_SQL = `WITH ids AS (
         SELECT unnest($1::varchar[]) AS id
       ), gone AS (
         DELETE FROM tickets t USING ids WHERE t.id = ids.id AND t.type = 'TGT'
         RETURNING t.id, t.principal, t.principal_key, t.created_at, t.last_used_at, t.expires_at, t.hard_expires_at, t.use_count, t.remember_me,
                   t.authentication_handler, t.authentication_factors, t.client_ip, t.user_agent, t.device_browser, t.device_os, t.device_type,
                   t.location_country, t.location_city
       ), tickets_gone AS (
         DELETE FROM tickets t USING ids WHERE t.session_id = ids.id AND t.id <> ids.id
       ), reached AS (
         DELETE FROM session_services s USING ids WHERE s.session_id = ids.id
         RETURNING s.session_id, s.ticket_id, s.service, s.registered_service_id, s.issued_at, substring(s.service FROM '^[^?;#]*') AS service_key
       ), latest AS (
         SELECT DISTINCT ON (session_id, service_key) session_id, ticket_id, service, registered_service_id, issued_at,
                count(*) OVER (PARTITION BY session_id, service_key) AS tickets,
                CASE WHEN $3::jsonb ? ('i' || registered_service_id) THEN $3::jsonb -> ('i' || registered_service_id)
                     ELSE $3::jsonb -> ('u' || service) END AS how,
                COALESCE($3::jsonb ? ('i' || registered_service_id), false) OR $3::jsonb ? ('u' || service) AS known
           FROM reached ORDER BY session_id, service_key, issued_at DESC
       ), requests AS MATERIALIZED (
         SELECT l.session_id, l.ticket_id, l.service, l.registered_service_id, l.issued_at, l.tickets, c.channel,
                COALESCE(l.how ->> 'u', l.service) AS logout_url,
                CASE WHEN c.channel IS NOT NULL THEN 'LR-' || replace(gen_random_uuid()::text, '-', '') END AS request_id
           FROM latest l, LATERAL (SELECT CASE WHEN $4::boolean THEN l.how ->> 't' END AS channel) c
       ), queued AS (
         INSERT INTO slo_outbox (id, session_id, ticket_id, principal, service, logout_url, reason, next_attempt_at, created_at)
         SELECT q.request_id, q.session_id, q.ticket_id, g.principal, q.service, q.logout_url, 'EXPIRED', $2::timestamptz, $2::timestamptz
           FROM requests q JOIN gone g ON g.id = q.session_id
          WHERE q.channel = 'BACK_CHANNEL'
       ), services AS (
         SELECT session_id,
                jsonb_agg(jsonb_build_object('service', service, 'registered_service_id', registered_service_id, 'ticket_id', ticket_id,
                                             'issued_at', to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                             'tickets', tickets, 'logout', COALESCE(channel, 'NONE'))
                          || CASE WHEN channel = 'BACK_CHANNEL' THEN jsonb_build_object('request_id', request_id, 'status', 'PENDING') ELSE '{}'::jsonb END
                          ORDER BY issued_at, ticket_id) AS services
           FROM requests GROUP BY session_id
       ), history AS (
         INSERT INTO session_history (session_id, principal, principal_key, created_at, last_used_at, ended_at, reason, ended_by,
                                      uses, remember_me, authentication_handler, authentication_factors, client_ip, user_agent,
                                      device_browser, device_os, device_type, location_country, location_city, services)
         SELECT g.id, g.principal, COALESCE(g.principal_key, lower(g.principal)), g.created_at, g.last_used_at, LEAST(g.expires_at, $2::timestamptz),
                CASE WHEN g.expires_at < g.hard_expires_at THEN 'EXPIRED_IDLE' ELSE 'EXPIRED_HARD' END, NULL,
                COALESCE(g.use_count, 0), COALESCE(g.remember_me, false), g.authentication_handler, g.authentication_factors, g.client_ip,
                g.user_agent, g.device_browser, g.device_os, g.device_type, g.location_country, g.location_city, COALESCE(s.services, '[]'::jsonb)
           FROM gone g LEFT JOIN services s ON s.session_id = g.id
       )
       SELECT (SELECT count(*) FROM gone)::int AS sessions,
              (SELECT json_agg(DISTINCT jsonb_build_object('service', service, 'registered_service_id', registered_service_id))
                 FROM latest WHERE $4::boolean AND NOT known) AS unresolved,
              CASE WHEN $5::boolean THEN (SELECT json_agg(json_build_object('id', id, 'principal', principal)) FROM gone) END AS ended`;

export const DELETE_EXPIRED_SERVICE_TICKETS_SQL = `DELETE FROM tickets WHERE id IN (
         SELECT id FROM tickets WHERE type IN ('ST', 'PT') AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

export const SESSION_IDS_OF_SQL = `SELECT id FROM tickets WHERE type = 'TGT' AND principal_key = $1 ORDER BY id`;

/**
 * The session limit's lock, per principal key $1: a transaction-scoped advisory lock on a 64-bit
 * hash of the key, prefixed as the gauth and webauthn stores prefix theirs. Two keys sharing a
 * hash only wait for each other.
 */
export const LOCK_PRINCIPAL_SESSIONS_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('session-limit:' || $1, 0))`;

/** $1 principal key, $2 now, $3 a session id left out (or null); oldest first, on the (type, principal_key) index. */
export const LIVE_SESSIONS_OF_SQL = `SELECT id FROM tickets
        WHERE type = 'TGT' AND principal_key = $1 AND expires_at > $2 AND ($3::varchar IS NULL OR id <> $3::varchar)
        ORDER BY created_at, id`;

/**
 * The SSO sessions (TGT rows) counted by the triggers of migration 1764000025000: 64 rows summed,
 * whatever the size of tickets (its primary key, or a scan of one page).
 */
export const COUNT_SESSIONS_SQL = `SELECT coalesce(sum(sessions), 0)::bigint AS sessions FROM sso_session_counts`;

/**
 * The tiny servers `npm run bench` measures the ceilings with (GOALS.md), each a child
 * process on its own port: bare Fastify + one pg Pool (max 10), no framework, no ORM.
 *
 *   c1     GET /      1 INSERT of a ticket-shaped row + 1 SELECT by primary key        (C1)
 *   c2     GET /      1 INSERT + atomic consume UPDATE … AND NOT consumed … RETURNING   (C2)
 *   login  POST /     one @node-rs/argon2 verify (configured parameters) + INSERT TGT + INSERT ST + 302  (e)
 *   sink   POST /app  a CAS application's logout endpoint: 200 to every request, counts SessionIndex values
 *
 * Usage (by bench/run.ts): fork('servers.js', [mode, databaseUrl]); the child sends { port }.
 */
import fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { Pool } from 'pg';
import { newTicketId } from '../src/tickets/ticket-ids';
import { ATTRS } from './seed';
const SERVICE = 'https://app.example.org/';

async function main(): Promise<void> {
  const [mode, url] = process.argv.slice(2);
  const app = fastify({ logger: false });
  const pool = mode === 'sink' ? null : new Pool({ connectionString: url, max: 10 });
  pool?.on('error', () => undefined);
  const tgt = newTicketId('TGT');

  if (mode === 'c1' || mode === 'c2') {
    const consume = mode === 'c2';
    app.get('/', async () => {
      const id = newTicketId('ST');
      await pool!.query(
        `INSERT INTO bench_tickets (id, type, session_id, principal, service, created_at, expires_at, attributes)
         VALUES ($1, 'ST', $2, 'casuser', $3, now(), now() + interval '10 seconds', $4)`,
        [id, tgt, SERVICE, ATTRS],
      );
      const { rows } = consume
        ? await pool!.query(`UPDATE bench_tickets SET consumed = true WHERE id = $1 AND NOT consumed AND expires_at > now() RETURNING *`, [id])
        : await pool!.query(`SELECT * FROM bench_tickets WHERE id = $1`, [id]);
      return { ok: rows.length === 1, principal: rows[0]?.principal };
    });
  } else if (mode === 'login') {
    const params = {
      algorithm: 2, // Argon2id
      memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? 19456),
      timeCost: Number(process.env.ARGON2_TIME_COST ?? 2),
      parallelism: Number(process.env.ARGON2_PARALLELISM ?? 1),
    };
    const stored = await hash('Mellon', params);
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    app.post('/', async (req, reply) => {
      const form = req.body as Record<string, string>;
      if (form.username !== 'casuser' || !(await verify(stored, form.password ?? ''))) return reply.code(401).send('no');
      const tgtId = newTicketId('TGT');
      const stId = newTicketId('ST');
      await pool!.query(
        `INSERT INTO bench_tickets (id, type, session_id, principal, created_at, expires_at, attributes)
         VALUES ($1, 'TGT', $1, 'casuser', now(), now() + interval '2 hours', $2)`,
        [tgtId, ATTRS],
      );
      await pool!.query(
        `INSERT INTO bench_tickets (id, type, session_id, principal, service, created_at, expires_at)
         VALUES ($1, 'ST', $2, 'casuser', $3, now(), now() + interval '10 seconds')`,
        [stId, tgtId, SERVICE],
      );
      return reply.code(302).header('location', `${SERVICE}?ticket=${stId}`).header('set-cookie', `TGC=${randomBytes(16).toString('hex')}`).send();
    });
  } else if (mode === 'sink') {
    let received = 0;
    const seen = new Map<string, number>();
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.post('/app', async (req) => {
      received++;
      const xml = new URLSearchParams(req.body as string).get('logoutRequest') ?? '';
      const index = /<samlp:SessionIndex>([^<]+)</.exec(xml)?.[1] ?? '';
      seen.set(index, (seen.get(index) ?? 0) + 1);
      return 'ok';
    });
    app.get('/stats', async () => ({ received, distinct: seen.size, duplicates: [...seen.values()].filter((n) => n > 1).length }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  process.on('message', async () => {
    await app.close();
    await pool?.end();
    process.exit(0);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import { Client } from 'pg';
import { LoginThrottle } from '../../src/auth/login-throttle';
import { untilBlocking } from '../helpers/pg-locks';
import { startTestApp, TestApp } from '../helpers/test-app';

/**
 * The throttle's counters are locked in one order by every statement: the address's, then the
 * account's (or the device's), as a reservation upserts them. A refund that locked them in key
 * order ('account:…' sorts before 'ip:…') could deadlock with a reservation of the same user
 * from the same address: each holding one counter and waiting for the other, until Postgres
 * aborted one of them (40P01: a failed login or a 500).
 */
describe('login throttle: a refund locks the counters in the reservations order', () => {
  let t: TestApp;
  let other: Client;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'true' } });
    other = new Client({ connectionString: t.config.databaseUrl });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await t.close();
  });

  it('waits for the address counter before it takes the account counter, so a reservation in flight finishes', async () => {
    const throttle = t.app.get(LoginThrottle);
    const { reservation: success } = await throttle.reserveOnUse(
      { ip: '192.0.2.7', username: 'casuser' },
      { id: 'lock-order-login-form', expiresAt: new Date(t.clock.now().getTime() + 600_000) },
    );
    expect(success?.keys).toEqual(['ip:192.0.2.7', expect.stringMatching(/^account:/)]);
    const [ipKey, accountKey] = success!.keys;

    // Another attempt of the same user from the same address, between its two upserts: it holds
    // the address's counter and is about to take the account's.
    const { rows: [{ pid }] } = await other.query('SELECT pg_backend_pid() AS pid');
    await other.query('BEGIN');
    await other.query(`UPDATE login_throttle SET failures = failures + 1 WHERE key = $1`, [ipKey]);

    // The first login's password was right: its slots go back while the other attempt is in flight.
    const refund = throttle.refund(success!);
    await untilBlocking(t.sql, pid);

    // The other attempt takes the account's counter: the refund must not be holding it.
    const second = await other.query(`UPDATE login_throttle SET failures = failures + 1 WHERE key = $1 RETURNING failures`, [accountKey]);
    expect(second.rows).toEqual([{ failures: 2 }]);
    await other.query('COMMIT');
    await refund;

    const { rows } = await t.sql.query(`SELECT key, failures FROM login_throttle ORDER BY key`);
    expect(rows).toEqual([
      { key: accountKey, failures: 1 },
      { key: ipKey, failures: 1 },
    ]);
  });
});

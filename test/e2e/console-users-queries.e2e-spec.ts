import { AuditLog } from '../../src/admin/audit-log';
import { LoginThrottle } from '../../src/auth/login-throttle';
import { UsersService } from '../../src/auth/users.service';
import { Browser } from '../helpers/browser';
import { startTestApp, TestApp } from '../helpers/test-app';
import { APP } from '../helpers/test-services';

const ENV = {
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_TIME_COST: '1',
  CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD: '4',
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS: '600',
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD: '2',
  AUTHN_THROTTLE_DEVICE_THRESHOLD: '2',
};

/**
 * What the console's Users, Throttles and Audit pages read, through the owning modules' methods
 * (UsersService / UserStore, LoginThrottle, AuditLog) on the real database.
 */
describe('console queries: users, throttles, audit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    // One throttle window for each test's counters: a window boundary mid-test would split them.
    t.clock.freeze();
  });
  afterAll(() => t.close());

  describe('UsersService.page', () => {
    beforeAll(async () => {
      const users = t.app.get(UsersService);
      for (const name of ['Alice', 'alan', 'ALBERT', 'bob', 'al%ice', 'Ålesund']) await users.add(name, 'a-long-password');
    });

    it('lists accounts by canonical name in pages: a keyset walk returns each once, in order', async () => {
      const users = t.app.get(UsersService);
      const seen: string[] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await users.page(undefined, after, 4);
        seen.push(...page.users.map((u) => u.username));
        if (!page.next) break;
        after = page.next;
      }
      // Byte order of the canonical (case-folded) names: 'al%ice' < 'alan' < 'albert' < 'alice' < 'bob' < 'ålesund'.
      expect(seen).toEqual(['al%ice', 'alan', 'ALBERT', 'Alice', 'bob', 'Ålesund']);
    });

    it('finds by prefix ignoring case; a LIKE wildcard in the prefix is a plain character', async () => {
      const users = t.app.get(UsersService);
      expect((await users.page('AL', undefined, 50)).users.map((u) => u.username)).toEqual(['al%ice', 'alan', 'ALBERT', 'Alice']);
      expect((await users.page('al%', undefined, 50)).users.map((u) => u.username)).toEqual(['al%ice']);
      expect((await users.page('ål', undefined, 50)).users.map((u) => u.username)).toEqual(['Ålesund']);
      expect(await users.page('zz', undefined, 50)).toEqual({ users: [] });
    });

    it('says the users table is an authentication source, first in the chain', () => {
      const users = t.app.get(UsersService);
      expect(users.tableIsSource).toBe(true);
      expect(users.sources).toEqual(['QueryDatabaseAuthenticationHandler', 'AcceptUsersAuthenticationHandler']);
    });
  });

  describe('LoginThrottle.throttled / clear', () => {
    afterEach(() => t.sql.query(`DELETE FROM login_throttle`));

    it('lists the accounts and addresses at their limit in the current window, not those below it, and clears each', async () => {
      const throttle = t.app.get(LoginThrottle);
      // 'victim' reaches the account limit (2) from two addresses; 'other' fails once; 203.0.113.7 reaches the IP limit (4).
      for (const ip of ['198.51.100.1', '198.51.100.2']) expect((await new Browser(t.app).loginFrom(ip, 'Victim', 'nope', APP)).statusCode).toBe(401);
      expect((await new Browser(t.app).loginFrom('198.51.100.3', 'other', 'nope', APP)).statusCode).toBe(401);
      for (const name of ['a1', 'a2', 'a3', 'a4']) await new Browser(t.app).loginFrom('203.0.113.7', name, 'nope', APP);

      const { counters } = await throttle.throttled(undefined, 50);
      expect(counters.map(({ kind, subject, failures, limit }) => ({ kind, subject, failures, limit }))).toEqual([
        { kind: 'account', subject: 'victim', failures: 2, limit: 2 },
        { kind: 'ip', subject: '203.0.113.7', failures: 4, limit: 4 },
      ]);
      const windowEnd = Math.ceil((t.clock.now().getTime() + 1) / 600_000) * 600_000;
      expect(counters[0].until.getTime()).toBe(windowEnd);

      expect(await throttle.clear('account', 'victim')).toBe(1);
      expect(await throttle.clear('ip', '203.0.113.7')).toBe(1);
      expect((await throttle.throttled(undefined, 50)).counters).toEqual([]);
      expect((await new Browser(t.app).loginFrom('203.0.113.7', 'casuser', 'Mellon', APP)).statusCode).toBe(302);
    });

    it('pages by key; an earlier window no longer counts as throttled', async () => {
      const throttle = t.app.get(LoginThrottle);
      for (const name of ['u1', 'u2', 'u3']) for (const ip of ['192.0.2.1', '192.0.2.2']) await new Browser(t.app).loginFrom(ip, name, 'nope', APP);
      const first = await throttle.throttled(undefined, 2);
      expect(first.counters.map((c) => c.subject)).toEqual(['u1', 'u2']);
      expect(first.next).toBe('account:u2');
      const second = await throttle.throttled(first.next, 2);
      expect(second.counters.map((c) => c.subject)).toEqual(['u3']);
      expect(second.next).toBeUndefined();
      t.clock.advance(600);
      expect((await throttle.throttled(undefined, 50)).counters).toEqual([]);
    });
  });

  describe('AuditLog.search', () => {
    beforeAll(async () => {
      await t.sql.query(`DELETE FROM admin_audit`);
      const rows: [string, string, string, string, number, string | null][] = [
        ['2026-01-01T10:00:00Z', 'ops', 'GET', '/actuator/ssoSessions?username=alice', 200, 'req-1'],
        ['2026-01-02T10:00:00Z', 'ops', 'DELETE', '/actuator/ssoSessions/TGT-1', 200, 'req-2'],
        ['2026-01-03T10:00:00Z', 'console', 'POST', '/admin/users/alice/disable', 303, 'req-3'],
        ['2026-01-04T10:00:00Z', 'anonymous', 'GET', '/actuator/ssoSessions', 401, 'req-4'],
        ['2026-01-05T10:00:00Z', 'console', 'GET', '/admin/audit?actor=%25', 200, null],
      ];
      for (const [at, actor, action, target, status, requestId] of rows) {
        await t.sql.query(`INSERT INTO admin_audit (at, actor, client_ip, action, target, status, request_id) VALUES ($1, $2, '127.0.0.1', $3, $4, $5, $6)`, [
          at,
          actor,
          action,
          target,
          status,
          requestId,
        ]);
      }
    });

    const targets = async (...args: Parameters<AuditLog['search']>) => (await t.app.get(AuditLog).search(...args)).map((e) => e.target);

    it('filters on each field, newest first; all given conditions must hold', async () => {
      expect(await targets({}, 50)).toHaveLength(5);
      expect(await targets({ actor: 'ops' }, 50)).toEqual(['/actuator/ssoSessions/TGT-1', '/actuator/ssoSessions?username=alice']);
      expect(await targets({ action: 'POST' }, 50)).toEqual(['/admin/users/alice/disable']);
      expect(await targets({ status: { from: 400, to: 499 } }, 50)).toEqual(['/actuator/ssoSessions']);
      expect(await targets({ status: { from: 303, to: 303 } }, 50)).toEqual(['/admin/users/alice/disable']);
      expect(await targets({ target: { text: 'alice', match: 'contains' } }, 50)).toEqual(['/admin/users/alice/disable', '/actuator/ssoSessions?username=alice']);
      expect(await targets({ target: { text: '/admin/', match: 'prefix' } }, 50)).toEqual(['/admin/audit?actor=%25', '/admin/users/alice/disable']);
      // A % or _ is matched as written, not as a wildcard.
      expect(await targets({ target: { text: '%', match: 'contains' } }, 50)).toEqual(['/admin/audit?actor=%25']);
      expect(await targets({ target: { text: 'ssoSessions_', match: 'contains' } }, 50)).toEqual([]);
      expect(await targets({ since: new Date('2026-01-02T00:00:00Z'), until: new Date('2026-01-04T00:00:00Z') }, 50)).toEqual([
        '/admin/users/alice/disable',
        '/actuator/ssoSessions/TGT-1',
      ]);
      expect(await targets({ requestId: 'req-2' }, 50)).toEqual(['/actuator/ssoSessions/TGT-1']);
      expect(await targets({ actor: 'ops', action: 'GET' }, 50)).toEqual(['/actuator/ssoSessions?username=alice']);
      expect(await targets({ actor: "ops' OR '1'='1" }, 50)).toEqual([]);
    });

    it('searchWindow reads at most the window for a filter no index serves, and says where to go on', async () => {
      const audit = t.app.get(AuditLog);
      const all = await audit.search({}, 50);
      // The newest three entries (the window) hold one match.
      const first = await audit.searchWindow({ target: { text: 'ssoSessions', match: 'contains' } }, 50, undefined, 3);
      expect(first.entries.map((e) => e.target)).toEqual(['/actuator/ssoSessions']);
      expect(first.stoppedAt).toEqual({ id: all[2].id, at: all[2].at });
      const rest = await audit.searchWindow({ target: { text: 'ssoSessions', match: 'contains' } }, 50, first.stoppedAt!.id, 3);
      expect(rest).toEqual({ entries: [all[3], all[4]] });
      // An actor alone reads its index: no window.
      expect(await audit.searchWindow({ actor: 'ops' }, 50, undefined, 1)).toEqual({ entries: [all[3], all[4]] });
    });

    it('pages newest first by id, with a filter', async () => {
      const audit = t.app.get(AuditLog);
      const first = await audit.search({ target: { text: '/actuator/', match: 'prefix' } }, 2);
      expect(first.map((e) => e.target)).toEqual(['/actuator/ssoSessions', '/actuator/ssoSessions/TGT-1']);
      expect(await targets({ target: { text: '/actuator/', match: 'prefix' } }, 2, first[1].id)).toEqual(['/actuator/ssoSessions?username=alice']);
    });
  });
});

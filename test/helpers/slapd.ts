import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client, InvalidCredentialsError } from 'ldapts';
import { createAuthority } from './certificates';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const LDAPADD = '/usr/bin/ldapadd';
const MODULES = '/usr/lib/ldap';
const SCHEMAS = '/etc/ldap/schema';
// test/helpers → test/fixtures/ldap; the bench compiles this file to dist-bench/test/helpers.
const FIXTURES = [join(__dirname, '..', 'fixtures', 'ldap'), join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ldap')].find((d) =>
  existsSync(join(d, 'directory.ldif')),
)!;

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
const ADMIN_DN = `cn=admin,${BASE_DN}`;
const SERVICE_DN = `cn=cas,ou=services,${BASE_DN}`;

/**
 * The password of every account in test/fixtures/ldap/directory.ldif, by uid (cas is the service
 * account cn=cas,ou=services). What a bind as each one does, with the fixture's ppolicy:
 * - alice (groups staff and faculty, memberOf on her entry), bob, smithj (DN `cn=Smith\, John,…`),
 *   `o(b)r*i\en` (filter metacharacters in the uid): plain successful binds;
 * - locked: refused, invalidCredentials (pwdAccountLockedTime 000001010000Z, locked for good);
 * - expired: refused, invalidCredentials with the ppolicy response error passwordExpired;
 * - warned: succeeds, ppolicy timeBeforeExpiration ≈ 3 days;
 * - mustchange: succeeds, ppolicy response error changeAfterReset;
 * - graced: succeeds, ppolicy graceAuthNsRemaining 2 (3 grace logins, this one used; each bind uses one);
 * - jdoe (cn=jdoe,ou=ad: AD-shaped, sAMAccountName jdoe, userPrincipalName jdoe@example.org, staff).
 * Extra users from `startSlapd({ extraUsers })` are uid user1…userN with password `secret-N`.
 */
export const FIXTURE_PASSWORDS: Readonly<Record<string, string>> = {
  cas: 'cas-service-secret',
  alice: 'alice-secret',
  bob: 'bob-secret',
  locked: 'locked-secret',
  expired: 'expired-secret',
  warned: 'warned-secret',
  mustchange: 'mustchange-secret',
  graced: 'graced-secret',
  'o(b)r*i\\en': 'obrien-secret',
  smithj: 'smithj-secret',
  jdoe: 'jdoe-secret',
};

export interface SlapdOptions {
  /** Also listen on ldaps:// and offer StartTLS, with a server certificate from a fresh test CA. */
  tls?: boolean;
  /** Adds uid=user1 … uid=userN under ou=people (password `secret-N`), for the bench. */
  extraUsers?: number;
}

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS offered when started with tls). */
  url: string;
  /** ldaps://127.0.0.1:PORT2, when started with tls. */
  ldapsUrl?: string;
  /** PEM of the CA that issued the server certificate (for 127.0.0.1 and localhost), when tls. */
  caCert?: string;
  /** The same CA as a file, for settings that take a path (trust-certificates). */
  caFile?: string;
  baseDn: string;
  /** The rootdn: everything, no ACL. */
  adminDn: string;
  adminPassword: string;
  /** cn=cas,ou=services: may search and read people (not passwords), for type AUTHENTICATED. */
  serviceDn: string;
  servicePassword: string;
  /** slapd's process id (the bench reads its CPU time). */
  pid: number;
  /** SIGTERM, then resolves once slapd has exited (its directory removed). Safe to call twice. */
  stop(): Promise<void>;
}

/** {SSHA}: what slapd's default password-hash produces, checked by slapd on bind. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** LDAP generalized time (YYYYMMDDHHMMSSZ) of `date`. */
function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function directoryLdif(extraUsers: number): string {
  const now = Date.now();
  // Comments dropped first: they mention the placeholders.
  const template = readFileSync(join(FIXTURES, 'directory.ldif'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
  const filled = template.replace(/\{\{(password|daysAgo):([^}]+)\}\}/g, (_, kind: string, arg: string) => {
    if (kind === 'daysAgo') return generalizedTime(new Date(now - Number(arg) * 86_400_000));
    const password = FIXTURE_PASSWORDS[arg];
    if (password === undefined) throw new Error(`directory.ldif: no FIXTURE_PASSWORDS entry for ${arg}`);
    return ssha(password);
  });
  const changed = generalizedTime(new Date(now - 86_400_000));
  const extra = Array.from({ length: extraUsers }, (_, i) => {
    const n = i + 1;
    return [
      `dn: uid=user${n},${PEOPLE_DN}`,
      'objectClass: inetOrgPerson',
      `uid: user${n}`,
      `cn: User ${n}`,
      `sn: ${n}`,
      `mail: user${n}@example.org`,
      `userPassword: ${ssha(`secret-${n}`)}`,
      `pwdChangedTime: ${changed}`,
    ].join('\n');
  });
  return [filled, ...extra].join('\n\n') + '\n';
}

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

/** cn=config: back_mdb with the memberof and ppolicy overlays, the ACLs, TLS when asked. */
function configLdif(dir: string, tls: Tls | null, adminPassword: string): string {
  const tlsLines = tls
    ? [`olcTLSCACertificateFile: ${tls.ca}`, `olcTLSCertificateFile: ${tls.cert}`, `olcTLSCertificateKeyFile: ${tls.key}`]
    : [];
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${join(dir, 'slapd.pid')}
${tlsLines.join('\n')}

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: ${MODULES}
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://${SCHEMAS}/core.ldif
include: file://${SCHEMAS}/cosine.ldif
include: file://${SCHEMAS}/inetorgperson.ldif
include: file://${join(FIXTURES, 'ad-shaped-schema.ldif')}

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${BASE_DN}
olcRootDN: ${ADMIN_DN}
olcRootPW: ${adminPassword}
olcDbDirectory: ${join(dir, 'data')}
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,cn eq
olcDbIndex: sAMAccountName,userPrincipalName eq
olcDbIndex: member,memberOf eq
olcAccess: {0}to attrs=userPassword by self =xw by anonymous auth by * none
olcAccess: {1}to dn.subtree="${PEOPLE_DN}" by * read
olcAccess: {2}to * by dn.exact="${SERVICE_DN}" read by users read by anonymous auth

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefint: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {1}ppolicy
olcPPolicyDefault: cn=default,ou=policies,${BASE_DN}
olcPPolicyUseLockout: TRUE
olcPPolicyHashCleartext: TRUE
`;
}

const run = promisify(execFile);

/** slapd processes still running and their directories: killed and removed if the test process exits without stop(). */
const running = new Set<ChildProcess>();
const directories = new Set<string>();
process.on('exit', () => {
  running.forEach((c) => c.kill('SIGKILL'));
  directories.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function removeDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  directories.delete(dir);
}

/**
 * Starts a real OpenLDAP server (Debian's slapd, back_mdb + ppolicy + memberof) in a fresh
 * temporary directory on free loopback ports, seeded from test/fixtures/ldap, and resolves once it
 * answers a bind. Works as root and as a normal user (slapd runs as whoever starts it).
 */
export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  if (!existsSync(SLAPD)) throw new Error('slapd is not installed: apt-get install -y slapd ldap-utils');
  const dir = mkdtempSync(join(tmpdir(), 'cas-slapd-'));
  directories.add(dir);
  // A rootdn password of this instance's own: a bind that succeeds with it reached this slapd, not
  // another one that got the same port (see start()).
  const adminPassword = randomBytes(12).toString('base64url');
  let tls: (Tls & { caPem: string }) | null = null;
  let started: { child: ChildProcess; port: number; ldapsPort?: number };
  try {
    const confDir = join(dir, 'slapd.d');
    mkdirSync(confDir);
    mkdirSync(join(dir, 'data'));
    if (opts.tls) {
      const authority = createAuthority('CAS test LDAP CA');
      const leaf = authority.issue({ dns: ['localhost'], ip: ['127.0.0.1'] });
      tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), caPem: authority.cert };
      writeFileSync(tls.ca, authority.cert);
      writeFileSync(tls.cert, leaf.cert);
      writeFileSync(tls.key, leaf.key, { mode: 0o600 });
    }
    writeFileSync(join(dir, 'config.ldif'), configLdif(dir, tls, adminPassword));
    writeFileSync(join(dir, 'directory.ldif'), directoryLdif(opts.extraUsers ?? 0));
    await tool(SLAPADD, ['-n0', '-F', confDir, '-l', join(dir, 'config.ldif')]);
    // -q: no consistency checks, as fast as slapadd goes (the LDIF is ours and known good).
    await tool(SLAPADD, ['-q', '-n1', '-F', confDir, '-l', join(dir, 'directory.ldif')]);
    started = await start(confDir, Boolean(tls), adminPassword);
  } catch (err) {
    removeDirectory(dir);
    throw err;
  }

  const { child, port, ldapsPort } = started;
  const url = `ldap://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await end(child);
    removeDirectory(dir);
  };
  try {
    await tool(LDAPADD, ['-x', '-H', url, '-D', ADMIN_DN, '-w', adminPassword, '-f', join(FIXTURES, 'groups.ldif')]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    ldapsUrl: tls ? `ldaps://127.0.0.1:${ldapsPort}` : undefined,
    caCert: tls?.caPem,
    caFile: tls?.ca,
    baseDn: BASE_DN,
    adminDn: ADMIN_DN,
    adminPassword,
    serviceDn: SERVICE_DN,
    servicePassword: FIXTURE_PASSWORDS.cas,
    pid: child.pid!,
    stop,
  };
}

/** SIGTERM, then resolves once the process has exited; at once if it has already. */
function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * slapd on free ports, answering a bind as this instance's rootdn. Ports are picked free, then
 * handed to slapd, which can lose them meanwhile: to a process that listens on it (slapd exits,
 * "Address already in use"), or to another slapd started at the same moment: slapd binds with
 * SO_REUSEADDR, so both bind, the first to listen() keeps the port and the other fails there and
 * stops. Each of these is a new try on new ports (5 in all).
 */
async function start(confDir: string, tls: boolean, adminPassword: string): Promise<{ child: ChildProcess; port: number; ldapsPort?: number }> {
  for (let attempt = 1; ; attempt++) {
    const started = await listen(confDir, tls);
    const url = `ldap://127.0.0.1:${started.port}`;
    const answer = await confirmBind(url, started.child, adminPassword);
    if (answer === 'ours') return started;
    await end(started.child);
    if (attempt >= 5) throw new Error(`slapd did not start: ${answer}`);
  }
}

/** Ports this process handed to a slapd already: never handed out twice (one less race to lose). */
const claimed = new Set<number>();

/** A loopback port nothing listens on right now (slapd may still lose it to a race: see start()). */
async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    if (!claimed.has(port)) {
      claimed.add(port);
      return port;
    }
  }
}

async function tool(file: string, args: string[]): Promise<void> {
  if (!existsSync(file)) throw new Error(`${file} is missing: apt-get install -y slapd ldap-utils`);
  try {
    await run(file, args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args[0]} failed: ${e.stderr || e.message}`);
  }
}

/**
 * Spawns slapd in the foreground on free ports. `-d sync` prints little beyond "slapd starting",
 * which slapd logs once its listeners are bound: the readiness event. A port taken between
 * freePort() and slapd's bind makes it exit with "Address already in use": retried on new ports.
 */
async function listen(confDir: string, tls: boolean): Promise<{ child: ChildProcess; port: number; ldapsPort?: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const ldapsPort = tls ? await freePort() : undefined;
    const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])];
    const child = spawn(SLAPD, ['-d', 'sync', '-F', confDir, '-h', urls.join(' ')], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    const outcome = await new Promise<'started' | 'exited'>((resolve) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('slapd starting')) resolve('started');
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => {
        output += String(err);
        resolve('exited');
      });
      child.once('exit', () => resolve('exited'));
    });
    if (outcome === 'started') {
      // Keep draining its output so that slapd never blocks on a full pipe; unref'd so that a test
      // that forgets stop() does not keep jest alive (the exit hook above kills it).
      child.stdout!.resume();
      child.stderr!.resume();
      child.unref();
      (child.stdout as unknown as { unref(): void }).unref();
      (child.stderr as unknown as { unref(): void }).unref();
      return { child, port, ldapsPort };
    }
    running.delete(child);
    if (!output.includes('Address already in use') || attempt >= 5) throw new Error(`slapd did not start:\n${output}`);
  }
}

/**
 * Binds as the rootdn: 'ours' once this slapd answers. slapd logs "slapd starting" once its sockets
 * are bound but calls listen() on them a moment later, in its listener thread (daemon.c,
 * slapd_daemon_task), so a connect in between is refused: retried with a short, growing pause
 * (the listen() call logs nothing to wait for), ~5 s at most. Otherwise a reason to try again:
 * this slapd exited, or the port answers with another server (the password is not its rootdn's).
 */
async function confirmBind(url: string, child: ChildProcess, adminPassword: string): Promise<'ours' | string> {
  for (let attempt = 1; ; attempt++) {
    const client = new Client({ url, connectTimeout: 2000, timeout: 5000 });
    try {
      await client.bind(ADMIN_DN, adminPassword);
      return 'ours';
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return `another server answers on ${url}`;
      if (child.exitCode !== null || child.signalCode !== null) return `slapd exited right after starting on ${url} (${String(err)})`;
      if (attempt >= 60) throw new Error(`slapd started but does not answer on ${url}: ${String(err)}`);
    } finally {
      await client.unbind().catch(() => undefined);
    }
    await pause(Math.min(100, 5 * attempt));
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';
import { TEST_SERVICES } from './test-services';

const ROOT = join(__dirname, '..', '..');

/**
 * Compiles the server (src/ and migrations/, as `npm run build` does) for tests that run it as
 * separate processes. Each file is transpiled on its own (the project has isolatedModules, so the
 * output is what tsc emits; type errors are `npm run typecheck`'s job): ~1 s instead of tsc's 15 s,
 * and never a stale dist/. The output sits under node_modules/.cache so its requires resolve to
 * the project's node_modules; the caller removes it.
 */
export function buildServer(): { mainJs: string; remove(): void } {
  const cacheDir = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cacheDir, { recursive: true });
  const out = mkdtempSync(join(cacheDir, 'cas-test-server-'));
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false };
  for (const dir of ['src', 'migrations']) {
    for (const file of tsFiles(join(ROOT, dir))) {
      const rel = relative(ROOT, file);
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: rel });
      const target = join(out, rel.replace(/\.ts$/, '.js'));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
  }
  return { mainJs: join(out, 'src', 'main.js'), remove: () => rmSync(out, { recursive: true, force: true }) };
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.spec.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface ServerProcess {
  port: number;
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once `holds(output())` is true, checked on every chunk the process prints. */
  untilOutput(holds: (output: string) => boolean): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `node <mainJs>` as a server node on its own port with the given environment (on top of
 * test defaults: log level `log`, no colours, the test services in a directory of its own, the
 * user casuser / Mellon; an empty string unsets a default, as the server reads '' as unset) and
 * resolves once it says it is ready (main.ts logs "CAS server ready" once listening) and its health
 * endpoint answers 200. Rejects, after killing it, if it exits first or its health is not 200; the
 * caller's jest timeout bounds the wait.
 */
export async function startServerProcess(mainJs: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cas-node-'));
  const servicesDir = join(dir, 'services');
  mkdirSync(servicesDir);
  TEST_SERVICES.forEach((s, i) => writeFileSync(join(servicesDir, `service-${i}.json`), JSON.stringify(s)));
  const child: ChildProcess = spawn(process.execPath, [mainJs], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      NO_COLOR: '1',
      LOG_LEVEL: 'log',
      CAS_DATA_DIR: join(dir, 'data'),
      CAS_SERVICE_REGISTRY_JSON_LOCATION: servicesDir,
      // Not development mode once DATABASE_URL is set: the suites' casuser is named explicitly.
      CAS_AUTHN_ACCEPT_USERS: 'casuser::Mellon',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // Registered after the two above, so a waiter sees the chunk that woke it.
  const outputWaiters = new Set<() => void>();
  const wakeOutputWaiters = () => outputWaiters.forEach((check) => check());
  child.stdout!.on('data', wakeOutputWaiters);
  child.stderr!.on('data', wakeOutputWaiters);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Should the test process end without afterAll (a crash, a killed worker), take the node with it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  void exited.then(() => process.removeListener('exit', orphanGuard));
  let stopping: Promise<void> | null = null;
  const proc: ServerProcess = {
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    untilOutput: (holds) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!holds(output)) return;
          outputWaiters.delete(check);
          resolve();
        };
        outputWaiters.add(check);
        check();
      }),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  const ready = await Promise.race([proc.untilOutput((o) => o.includes('CAS server ready')).then(() => true), exited.then(() => false)]);
  if (!ready) {
    await proc.stop();
    throw new Error(`server process exited during start-up:\n${output}`);
  }
  const health = await fetch(`${proc.url}/cas/actuator/health`);
  if (health.status !== 200) {
    await proc.stop();
    throw new Error(`server process up but its health is ${health.status}:\n${output}`);
  }
  return proc;
}

/** A browser over real HTTP (fetch): keeps cookies per name, never follows redirects. */
export class HttpBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly userAgent = 'jest-http-browser/1.0') {}

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await send(url, init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body);
    for (const line of res.setCookie) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || attrs.some((a) => a.toLowerCase() === 'max-age=0')) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, location: res.location, body: res.body };
  }

  /** GET the login form on `base`, POST the credentials; answers the final response. */
  async login(base: string, username: string, password: string, service?: string) {
    const form = await this.request(`${base}/cas/login${service ? `?service=${encodeURIComponent(service)}` : ''}`);
    const execution = /name="execution" value="([^"]+)"/.exec(form.body)?.[1];
    if (!execution) throw new Error(`no login form (HTTP ${form.status})`);
    return this.request(`${base}/cas/login`, { form: { username, password, execution, _eventId: 'submit' } });
  }
}

/** The ticket in a redirect's Location, or null. */
export function ticketIn(location: string | null): string | null {
  return location ? new URL(location).searchParams.get('ticket') : null;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * A request over a keep-alive agent (node:http): lighter than fetch for the thousands of requests
 * of the concurrency tests, so the client does not eat the CPU the two servers need.
 */
function send(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; location: string | null; setCookie: string[]; body: string }>((resolve, reject) => {
    const req = request(url, { agent: keepAlive, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, setCookie: res.headers['set-cookie'] ?? [], body: text }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A plain GET (see send). */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const { status, body } = await send(url, 'GET', {});
  return { status, body };
}

/** Closes the keep-alive sockets of httpGet (call in afterAll). */
export function closeHttpAgent(): void {
  keepAlive.destroy();
}

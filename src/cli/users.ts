import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AppModule } from '../app.module';
import { GauthError } from '../auth/mfa/gauth/gauth-credentials';
import { UserError, UsersService } from '../auth/users.service';
import { loadCasConfig } from '../config/cas-config';
import { ConfigurationError } from '../config/env.validation';
import { resolveDatabase } from '../database/resolve-database';

const USAGE = `usage: npm run users -- <command>
  add <username> [--attributes '{"mail":["a@b.org"]}']   create a user (password from stdin or a prompt)
  passwd <username>                                       set a new password (stdin or prompt) and end the user's SSO sessions
  disable <username>                                      disable the account and end its SSO sessions
  enable <username>                                       enable the account again
  unthrottle <username>                                   clear the account's failed-login counters (lift a lockout)
  reset-mfa <username>                                    remove the user's TOTP devices, recovery codes, security keys, passkeys and trusted browsers (lost device)
  list                                                    list users`;

/** Reads the password from a prompt that does not echo, or from stdin when it is not a terminal. */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let data = '';
    for await (const chunk of process.stdin) data += chunk;
    return data.replace(/\r?\n$/, '');
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

function parseAttributes(args: string[]): Record<string, string[]> {
  const i = args.indexOf('--attributes');
  if (i < 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args[i + 1] ?? '');
  } catch {
    throw new UserError('--attributes must be a JSON object such as {"mail":["a@b.org"]}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UserError('--attributes must be a JSON object');
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]));
}

async function main(argv: string[]): Promise<number> {
  const [command, username, ...rest] = argv;
  if (!command || !['add', 'passwd', 'disable', 'enable', 'unthrottle', 'reset-mfa', 'list'].includes(command) || (command !== 'list' && !username)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadCasConfig(process.env);
  const database = await resolveDatabase(config, { attachToRunning: true });
  const ctx = await NestFactory.createApplicationContext(AppModule.register({ ...config, databaseUrl: database.url, logLevel: 'error' }), {
    logger: ['error'],
  });
  try {
    const users = ctx.get(UsersService);
    switch (command) {
      case 'add':
        await users.add(username, await readPassword('Password: '), parseAttributes(rest));
        process.stdout.write(`user '${username}' added\n`);
        break;
      case 'passwd':
        process.stdout.write(`password of '${username}' changed, ${await users.setPassword(username, await readPassword('New password: '))} SSO session(s) ended\n`);
        break;
      case 'disable':
        process.stdout.write(`user '${username}' disabled, ${await users.disable(username)} SSO session(s) ended\n`);
        break;
      case 'enable':
        await users.enable(username);
        process.stdout.write(`user '${username}' enabled\n`);
        break;
      case 'unthrottle':
        process.stdout.write(`user '${username}': ${await users.unthrottle(username)} throttle counter(s) cleared\n`);
        break;
      case 'reset-mfa': {
        // Works for any user (the users table, LDAP, the static list); the user enrols again at the
        // next login that needs a second factor (UsersService.resetMfa, as the admin console does).
        const { totpDevices, securityKeys, trustedBrowsers } = await users.resetMfa(username);
        if (!totpDevices && !trustedBrowsers && !securityKeys) throw new UserError(`no TOTP device, security key, passkey or trusted browser registered for '${username}': nothing to reset`);
        if (totpDevices) process.stdout.write(`user '${username}': ${totpDevices} TOTP device(s) removed with their recovery codes\n`);
        if (securityKeys) process.stdout.write(`user '${username}': ${securityKeys} security key(s) or passkey(s) (mfa-webauthn) removed\n`);
        if (trustedBrowsers) process.stdout.write(`user '${username}': ${trustedBrowsers} trusted browser(s) revoked\n`);
        break;
      }
      case 'list':
        for (const u of await users.list()) {
          process.stdout.write(`${u.username}\t${u.disabled ? 'disabled' : 'enabled'}\t${JSON.stringify(u.attributes)}\n`);
        }
        break;
    }
    return 0;
  } finally {
    await ctx.close();
    await database.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof UserError || e instanceof GauthError || e instanceof ConfigurationError) process.stderr.write(`error: ${e.message}\n`);
    else new Logger('users').error(`failed: ${e.message}`);
    process.exit(1);
  },
);

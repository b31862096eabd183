import { Body, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LoginThrottle, type ThrottledCounter } from '../../auth/login-throttle';
import { UserError, UsersService } from '../../auth/users.service';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { ConsoleController } from '../console-auth';
import { type ConsoleViewer, consolePage, sendConsolePage, viewer } from '../console-page';
import { consoleHref, seeOther, textValue } from '../console-values';
import type { Html } from '../html';
import {
  accountBody,
  accountHref,
  addUserBody,
  confirmBody,
  type FieldErrors,
  mfaDone,
  notFoundBody,
  throttlesBody,
  USER_NOTICES,
  USERS_STYLE,
  usersListBody,
} from './users-views';

/** Rows per page: the pages read keyset pages of this many rows (plus one to know of a next page). */
const PAGE = 50;
/** The login form keeps at most this many characters of a username: no account or counter has a longer one. */
const MAX_USERNAME = 256;
const KINDS: ThrottledCounter['kind'][] = ['account', 'ip', 'device'];

/**
 * Users & throttles: the local accounts (what `npm run users` does: add, disable/enable, set a
 * password, reset MFA, unthrottle) and the counters refusing logins now, with "clear" (what
 * `DELETE /actuator/throttles` does). Every change goes through the auth module's methods
 * (UsersService, LoginThrottle): ending sessions through its SessionTerminator, passwords hashed by
 * its PasswordHasher. A password is only ever read from a POST body, never put in a URL, a page or a log.
 */
@ApiExcludeController()
@ConsoleController('users')
export class UsersPageController {
  constructor(
    private readonly users: UsersService,
    private readonly throttle: LoginThrottle,
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {}

  /** `GET /admin/users?q=<prefix>&after=<key>`: a page of accounts (ix_users_username_key_c range scan). */
  @Get()
  async list(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const q = textValue(query, 'q');
    // A page link carries one `after`; anything else starts from the first page.
    const after = textValue(query, 'after') ?? undefined;
    const prefixError = q === null ? 'Give one search text.' : q && q.length > MAX_USERNAME ? `At most ${MAX_USERNAME} characters.` : undefined;
    const prefix = typeof q === 'string' ? q.trim() : '';
    const page = prefixError ? { users: [] } : await this.users.page(prefix || undefined, after, PAGE);
    const body = usersListBody(v, { prefix: q ?? '', prefixError, ...page, tableIsSource: this.users.tableIsSource, sources: this.users.sources });
    this.send(reply, v, prefixError ? 400 : 200, 'Users', body, textValue(query, 'done'));
  }

  @Get('new')
  addForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const v = viewer(req);
    this.send(reply, v, 200, 'Add a user', addUserBody(v, { username: '', errors: {} }));
  }

  /** Creates the account: a refused value comes back on the form, next to its field (400). */
  @Post('new')
  async add(@Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const username = textValue(body, 'username') ?? '';
    const password = textValue(body, 'password') ?? '';
    const errors = passwordErrors(password, textValue(body, 'repeat'));
    if (!username.trim()) errors.username = 'Enter a username.';
    if (!errors.username && !errors.password && !errors.repeat) {
      try {
        await this.users.add(username, password);
        return seeOther(reply, accountHref(v, username, 'added'));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        errors[e.field ?? 'username'] = sentence(e.message);
      }
    }
    this.send(reply, v, 400, 'Add a user', addUserBody(v, { username, errors }));
  }

  /** `GET /admin/users/account?username=`: one account and its actions; 404 for an unknown name. */
  @Get('account')
  async account(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const username = textValue(query, 'username');
    const user = typeof username === 'string' && username.length <= MAX_USERNAME ? await this.users.get(username) : null;
    if (!user) return this.send(reply, v, 404, 'No such account', notFoundBody(v, typeof username === 'string' ? username : ''));
    this.send(reply, v, 200, user.username, accountBody(v, user), textValue(query, 'done'));
  }

  @Post('password')
  async password(@Query() query: unknown, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = await this.target(query, reply, v);
    if (!user) return;
    const password = textValue(body, 'password') ?? '';
    const errors = passwordErrors(password, textValue(body, 'repeat'));
    if (!errors.password && !errors.repeat) {
      try {
        await this.users.setPassword(user, password);
        return seeOther(reply, accountHref(v, user, 'password'));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        errors.password = sentence(e.message);
      }
    }
    const summary = await this.users.get(user);
    if (!summary) return this.send(reply, v, 404, 'No such account', notFoundBody(v, user));
    this.send(reply, v, 400, summary.username, accountBody(v, summary, errors));
  }

  /** Asks first (a page with the confirming form), then disables and ends the sessions through the terminator. */
  @Post('disable')
  async disable(@Query() query: unknown, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = await this.target(query, reply, v);
    if (!user) return;
    if (textValue(body, 'confirm') !== 'yes') return this.send(reply, v, 200, 'Disable the account?', confirmBody(v, { action: 'disable', username: user }));
    await this.users.disable(user);
    seeOther(reply, accountHref(v, user, 'disabled'));
  }

  @Post('enable')
  async enable(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = await this.target(query, reply, v);
    if (!user) return;
    await this.users.enable(user);
    seeOther(reply, accountHref(v, user, 'enabled'));
  }

  @Post('reset-mfa')
  async resetMfa(@Query() query: unknown, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = await this.target(query, reply, v);
    if (!user) return;
    if (textValue(body, 'confirm') !== 'yes') return this.send(reply, v, 200, 'Reset second factors?', confirmBody(v, { action: 'reset-mfa', username: user }));
    seeOther(reply, accountHref(v, user, mfaDone(await this.users.resetMfa(user))));
  }

  @Post('unthrottle')
  async unthrottle(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = await this.target(query, reply, v);
    if (!user) return;
    await this.users.unthrottle(user);
    seeOther(reply, accountHref(v, user, 'unthrottled'));
  }

  /** `GET /admin/users/throttles?after=<key>`: the counters refusing attempts now (current window, keyset by key). */
  @Get('throttles')
  async throttles(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const page = await this.throttle.throttled(textValue(query, 'after') ?? undefined, PAGE);
    this.sendThrottles(reply, v, 200, page, undefined, textValue(query, 'done'));
  }

  /** Clears one listed counter (an account with its browsers, as DELETE /actuator/throttles does). */
  @Post('throttles/clear')
  async clearThrottle(@Query() query: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const kind = textValue(query, 'kind') as ThrottledCounter['kind'] | null | undefined;
    const subject = textValue(query, 'subject');
    if (!kind || !KINDS.includes(kind) || !subject || subject.length > 1024) {
      return this.sendThrottles(reply, v, 400, await this.throttle.throttled(undefined, PAGE), 'That counter could not be cleared: the form did not name one. Reload the page and try again.');
    }
    await this.throttle.clear(kind, subject);
    seeOther(reply, consoleHref(`${v.base}/users/throttles`, { done: 'cleared' }));
  }

  /**
   * The account a form acts on: the `username` of its URL (so the audit row of the POST names it),
   * of an existing account. Otherwise the answer (400 for a missing or repeated name, 404 for an
   * unknown account) is sent and null returned.
   */
  private async target(query: unknown, reply: FastifyReply, v: ConsoleViewer): Promise<string | null> {
    const username = textValue(query, 'username');
    if (typeof username !== 'string' || !username || username.length > MAX_USERNAME) {
      this.send(reply, v, 400, 'No such account', notFoundBody(v, ''));
      return null;
    }
    const user = await this.users.get(username);
    if (!user) {
      this.send(reply, v, 404, 'No such account', notFoundBody(v, username));
      return null;
    }
    return user.username;
  }

  private sendThrottles(reply: FastifyReply, v: ConsoleViewer, status: number, page: { counters: ThrottledCounter[]; next?: string }, error?: string, done?: string | null): void {
    const t = this.config.throttle;
    const body = throttlesBody(v, { ...page, enabled: t.enabled, windowMinutes: Math.round(t.rangeSeconds / 60), error });
    this.send(reply, v, status, 'Throttled now', body, done);
  }

  private send(reply: FastifyReply, v: ConsoleViewer, status: number, title: string, body: Html, done?: string | null): void {
    const text = typeof done === 'string' && Object.hasOwn(USER_NOTICES, done) ? USER_NOTICES[done] : undefined;
    const notice = text ? { kind: 'ok' as const, text } : undefined;
    sendConsolePage(reply, status, consolePage(v, { title, section: 'users', body, notice, style: USERS_STYLE }));
  }
}

/** The password and its repetition, checked before the service's own rules (length) apply. */
function passwordErrors(password: string, repeat: string | null | undefined): FieldErrors {
  if (!password) return { password: 'Enter a password.' };
  if (password !== repeat) return { repeat: 'The two passwords differ. Type the same password twice.' };
  return {};
}

/** `password: at least 8 characters` → `At least 8 characters.`: the service's message read as a sentence beside its field. */
function sentence(message: string): string {
  const text = message.replace(/^(username|password): /, '');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${text.endsWith('.') ? '' : '.'}`;
}

import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FILTER_RULES, RawSessionFilter, toSessionFilter } from '../../admin/sso-session-filters';
import { SsoSessionsService } from '../../admin/sso-sessions.service';
import { Clock } from '../../common/clock';
import { hasNul } from '../../common/text';
import { ServiceRegistry } from '../../services/service-registry';
import { SessionTerminator } from '../../tickets/logout/session-terminator';
import { SingleLogoutOutbox } from '../../tickets/logout/single-logout-outbox';
import { SingleLogoutDelivery } from '../../tickets/logout/single-logout.delivery';
import { handleOf, SESSION_HANDLE } from '../../tickets/session-handle';
import { HISTORY_CURSOR, SessionHistory } from '../../tickets/session-history';
import { SessionFilter, SessionGroupBy, SessionSearch } from '../../tickets/session-search';
import { ConsoleController } from '../console-auth';
import { seeOther } from '../console-values';
import { type ConsolePageOutput, type ConsoleViewer, consolePage, csrfField, sendConsolePage, viewer } from '../console-page';
import { html, Html } from '../html';
import {
  endedSessionBody, explorerQuery, ExplorerQuery, FieldErrors, filterFields, filterForm, GROUPS, groupTable, historyBody, liveSessionBody, multipleIpsTable,
  SESSIONS_CSS, sessionList,
} from './session-explorer.view';

/** Rows per page: keyset pages, each one query on the indexes session-search.ts uses. */
const PAGE = 50;
/** The listing counts its matches no further than this (a bounded count, not count(*) of every session). */
const LIST_COUNT_CAP = 1000;
/** A confirmation counts up to this. */
const CONFIRM_COUNT_CAP = 10_000;
/** How long ending one session, or "retry now", waits for the logout requests before the page shows their status. */
const DELIVERY_WAIT_MS = 1500;
/** The keyset cursor in URLs: a session id's type and first 16 random characters, never the whole id (a credential). */
const CURSOR = /^TGT-[A-Za-z0-9]{16}$/;
const CURSOR_LENGTH = 20;
const FILTER_KEYS = Object.keys(FILTER_RULES) as (keyof RawSessionFilter)[];

/** The fixed notices of ?done=… after an action (never text from the request). */
const NOTICES: Record<string, { kind: 'ok' | 'error'; text: string }> = {
  ended: { kind: 'ok', text: 'The sessions were ended. Their applications are being sent single logout requests.' },
  'ended-one': { kind: 'ok', text: 'The session was ended. Its single logout requests are below.' },
  none: { kind: 'error', text: 'No session was ended: none of them was live any more.' },
  retried: { kind: 'ok', text: 'The logout request was sent again; its status is below.' },
  'not-retried': { kind: 'error', text: 'That logout request was not waiting or failed any more, so it was not sent again.' },
};

type Form = Record<string, string | string[] | undefined>;

/** A form or query value as one trimmed string; blank, repeated or holding a NUL (no text column stores one) is absent. */
function one(v: unknown): string | undefined {
  if (typeof v !== 'string' || hasNul(v)) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function many(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/** `handle:user` (a checkbox's or a row button's value): the user may contain ':', the handle never does. */
function parseRef(v: string): { handle: string; user: string } | null {
  const i = v.indexOf(':');
  const handle = v.slice(0, i);
  const user = v.slice(i + 1);
  return i > 0 && SESSION_HANDLE.test(handle) && user.length > 0 && user.length <= 256 ? { handle, user } : null;
}

/**
 * `/admin/sessions`: who is signed in. The explorer lists live SSO sessions with the filters of
 * `GET /actuator/ssoSessions` (parsed by admin/sso-session-filters.ts, the API's and the CLI's
 * parser), groups them (the summary and "users on several IPs"), and ends one, a user's, the
 * selected or every matching session through the logout pipeline (reason ADMIN, the admin token
 * id in their history), after a confirmation that shows how many. A session's page shows its
 * services and live tickets, or, once ended, its history and each logout request's delivery with
 * "retry now". Sessions are named by their handle and user, never by their id.
 */
@ApiExcludeController()
@ConsoleController('sessions')
export class SessionExplorerController {
  constructor(
    private readonly search: SessionSearch,
    private readonly admin: SsoSessionsService,
    private readonly terminator: SessionTerminator,
    private readonly history: SessionHistory,
    private readonly outbox: SingleLogoutOutbox,
    private readonly delivery: SingleLogoutDelivery,
    private readonly services: ServiceRegistry,
    private readonly clock: Clock,
  ) {}

  @Get()
  async explorer(@Query() query: Form, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const q = explorerOf(query);
    const after = one(query.after);
    const parsed = this.parse(q);
    if (after !== undefined && !CURSOR.test(after)) parsed.errors.after = "This page link is not valid: start again from the first page.";
    const notice = NOTICES[one(query.done) ?? ''];
    const head = html`<h1>Sessions</h1><p class="lead">Who is signed in: live single sign-on sessions, by user, address, service or device.</p>${filterForm(v, q, parsed.errors)}`;
    if (!parsed.filter || parsed.errors.after) {
      const body = html`${head}${parsed.errors.after && html`<p class="notice error" role="alert">${parsed.errors.after}</p>`}<p class="empty">Correct the highlighted filter to see the sessions.</p>`;
      return sendConsolePage(reply, 400, this.page(v, 'Sessions', body, { kind: 'error', text: 'A filter is not valid: see the message under it.' }));
    }
    const filter = parsed.filter;
    let results: Html;
    if (q.group === 'multipleIps') {
      results = multipleIpsTable(v, q, await this.search.multipleIps(filter, PAGE));
    } else if (q.group !== undefined) {
      const summary = await this.search.summary(filter, q.group as SessionGroupBy, PAGE);
      const names = new Map(q.group === 'service' ? summary.top.map((g) => [g.key, this.services.findById(Number(g.key))?.name ?? null]) : []);
      results = groupTable(v, q, q.group, summary, names);
    } else {
      // One more than a page, after the cursor (an id's prefix): the row the prefix came from is dropped.
      const [rows, count] = await Promise.all([this.search.page({ ...filter, kind: 'TGT' }, after, PAGE + 2), this.search.countUpTo(filter, LIST_COUNT_CAP + 1)]);
      const fresh = rows.filter((s) => after === undefined || !s.id.startsWith(after));
      const shown = fresh.slice(0, PAGE);
      const next = fresh.length > PAGE ? shown[shown.length - 1].id.slice(0, CURSOR_LENGTH) : undefined;
      results = sessionList(v, q, shown.map((s) => ({ s, handle: handleOf(s.id) })), { count: Math.min(count, LIST_COUNT_CAP), capped: count > LIST_COUNT_CAP }, next, after === undefined);
    }
    sendConsolePage(reply, 200, this.page(v, 'Sessions', html`${head}${results}`, notice));
  }

  /**
   * The end form: without `confirm`, the confirmation page (how many sessions, a bounded count);
   * with it, the sessions end through the logout pipeline and the browser is sent back (303).
   */
  @Post('end')
  async end(@Body() body: Form | undefined, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const form = body ?? {};
    const q = explorerOf(form);
    const oneRef = one(form.one);
    const scope = oneRef !== undefined ? 'one' : one(form.scope);
    const confirmed = one(form.confirm) === 'yes';
    const back = `${v.base}/sessions${explorerQuery({ ...q, group: undefined })}`;

    if (scope === 'one') {
      const ref = parseRef(oneRef!);
      const id = ref && (await this.search.findByHandle(ref.user, ref.handle));
      if (!ref || !id) return this.gone(v, reply, back);
      const detail = `${v.base}/sessions/${ref.handle}?user=${encodeURIComponent(ref.user)}`;
      if (!confirmed) {
        return this.confirm(v, reply, 1, false, html`<p>${ref.user}'s session will end: the user is signed out of single sign-on in that browser, and each application it reached is sent a single logout request.</p>`, html`<input type="hidden" name="one" value="${oneRef}">`, detail);
      }
      const ended = await this.admin.destroy(id, v.actor);
      return seeOther(reply, `${detail}&done=${ended ? 'ended-one' : 'none'}`);
    }

    if (scope === 'user') {
      const user = q.user;
      if (user === undefined || user.length > 256) return this.gone(v, reply, back);
      const count = await this.search.countUpTo({ principal: user }, CONFIRM_COUNT_CAP + 1);
      if (!count) return this.gone(v, reply, back);
      if (!confirmed) {
        return this.confirm(v, reply, count, count > CONFIRM_COUNT_CAP, html`<p>Every live session of <strong>${user}</strong> will end: the user is signed out everywhere, and each application the sessions reached is sent a single logout request.</p>`, html`<input type="hidden" name="scope" value="user"><input type="hidden" name="user" value="${user}">`, back);
      }
      const ended = Object.keys(await this.admin.destroyAllOf(user, v.actor)).length;
      return seeOther(reply, `${v.base}/sessions${explorerQuery({ user })}&done=${ended ? 'ended' : 'none'}`);
    }

    if (scope === 'selected') {
      const refs = many(form.selected).slice(0, PAGE).map(parseRef).filter((r): r is { handle: string; user: string } => r !== null);
      const found: { user: string; id: string; ref: string }[] = [];
      for (const r of refs) {
        const id = await this.search.findByHandle(r.user, r.handle);
        if (id) found.push({ user: r.user, id, ref: `${r.handle}:${r.user}` });
      }
      if (!found.length) {
        const body = html`<h1>No session selected</h1><p class="lead">Tick the sessions to end in the list first, then press "End selected sessions".</p><p><a class="btn btn-secondary" href="${back}">Back to the sessions</a></p>`;
        return sendConsolePage(reply, 400, this.page(v, 'No session selected', body));
      }
      if (!confirmed) {
        const users = [...new Set(found.map((f) => f.user))];
        return this.confirm(v, reply, found.length, false, html`<p>The selected sessions of ${users.length === 1 ? html`<strong>${users[0]}</strong>` : html`${users.length} users`} will end, and each application they reached is sent a single logout request.</p>${users.length > 1 && html`<ul>${users.map((u) => html`<li>${u}</li>`)}</ul>`}`, html`<input type="hidden" name="scope" value="selected">${found.map((f) => html`<input type="hidden" name="selected" value="${f.ref}">`)}${filterFields(q)}`, back);
      }
      let ended = 0;
      for (const f of found) if ((await this.terminator.end(f.id, 'ADMIN', 0, v.actor)) !== null) ended++;
      return seeOther(reply, `${back}${back.includes('?') ? '&' : '?'}done=${ended ? 'ended' : 'none'}`);
    }

    if (scope === 'matching') {
      const parsed = this.parse(q);
      if (!parsed.filter) return seeOther(reply, back);
      const count = await this.search.countUpTo(parsed.filter, CONFIRM_COUNT_CAP + 1);
      if (!count) return this.gone(v, reply, back);
      if (!confirmed) {
        const everyone = !Object.values({ ...q, group: undefined }).some((x) => x !== undefined);
        return this.confirm(v, reply, count, count > CONFIRM_COUNT_CAP, html`<p>${everyone ? html`<strong>Every live session of every user</strong> will end.` : html`Every live session matching the filters will end, including any that start to match before you confirm.`} Their users are signed out, and each application they reached is sent a single logout request.</p>${describeFilters(q)}`, html`<input type="hidden" name="scope" value="matching">${filterFields(q)}`, back);
      }
      const ended = await this.admin.destroyMatching(parsed.filter, v.actor);
      return seeOther(reply, `${back}${back.includes('?') ? '&' : '?'}done=${ended ? 'ended' : 'none'}`);
    }
    seeOther(reply, back);
  }

  /** Ended sessions, newest first (one user's with ?user=), each linking to its page. */
  @Get('history')
  async endedSessions(@Query() query: Form, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = one(query.user);
    const cursor = one(query.cursor);
    if ((user !== undefined && user.length > 256) || (cursor !== undefined && !HISTORY_CURSOR.test(cursor))) return this.notFound(v, reply);
    const page = await this.history.page({ username: user, count: PAGE, cursor });
    const rows = page.sessions.map((e) => ({ e, handle: handleOf(e.ticket_granting_ticket) }));
    sendConsolePage(reply, 200, this.page(v, user === undefined ? 'Ended sessions' : `${user}'s ended sessions`, historyBody(v, user, rows, page.next, cursor === undefined)));
  }

  /** A session's page: live (services, tickets) or ended (history, logout deliveries). */
  @Get(':handle')
  async session(@Param('handle') handle: string, @Query() query: Form, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = one(query.user);
    if (!SESSION_HANDLE.test(handle) || user === undefined || user.length > 256) return this.notFound(v, reply);
    const notice = NOTICES[one(query.done) ?? ''];
    const id = await this.search.findByHandle(user, handle);
    if (id) {
      const [detail] = await this.search.page({ id, kind: 'TGT' }, undefined, 1);
      if (detail) {
        const tickets = await this.search.liveTicketsOf(id, PAGE);
        return sendConsolePage(reply, 200, this.page(v, `${detail.principal}'s session`, liveSessionBody(v, handle, detail, tickets), notice));
      }
    }
    const ended = await this.history.findByHandle(user, handle);
    if (!ended) return this.notFound(v, reply);
    const requests = await this.outbox.forSession(ended.ticket_granting_ticket);
    sendConsolePage(reply, 200, this.page(v, `${ended.principal}'s ended session`, endedSessionBody(v, handle, ended, requests), notice));
  }

  /** "Retry now" of one logout request of an ended session: due at once, sent, and the page shows how it went. */
  @Post(':handle/retry')
  async retry(@Param('handle') handle: string, @Body() body: Form | undefined, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    const user = one(body?.user);
    const request = one(body?.request);
    if (!SESSION_HANDLE.test(handle) || user === undefined || user.length > 256 || request === undefined || request.length > 256) return this.notFound(v, reply);
    const ended = await this.history.findByHandle(user, handle);
    if (!ended) return this.notFound(v, reply);
    const retried = await this.delivery.retryNow(ended.ticket_granting_ticket, request, DELIVERY_WAIT_MS);
    seeOther(reply, `${v.base}/sessions/${handle}?user=${encodeURIComponent(user)}&done=${retried ? 'retried' : 'not-retried'}`);
  }

  /** The explorer's fields checked by the API's rules: the typed filter, or each refused field's message. */
  private parse(q: ExplorerQuery): { filter?: SessionFilter; errors: FieldErrors } {
    const errors: FieldErrors = {};
    const raw: RawSessionFilter = {};
    for (const key of FILTER_KEYS) {
      const value = q[key as keyof ExplorerQuery];
      if (value === undefined) continue;
      if (FILTER_RULES[key].test(value)) raw[key] = value;
      // The API's message names its query parameter; under the field, the field is understood.
      else errors[key as keyof ExplorerQuery] = FILTER_RULES[key].message.replace(/^'\w+' must/, 'Must');
    }
    if (q.user !== undefined && q.user.length > 256) errors.user = "'user' must be at most 256 characters";
    if (q.group !== undefined && !(q.group in GROUPS)) errors.group = `Group by one of: ${Object.values(GROUPS).join(', ')}`;
    if (Object.keys(errors).length) return { errors };
    return { errors, filter: { ...toSessionFilter(raw, this.clock.now()), ...(q.user !== undefined ? { principal: q.user } : {}) } };
  }

  private confirm(v: ConsoleViewer, reply: FastifyReply, count: number, capped: boolean, what: Html, fields: Html, back: string): void {
    const n = capped ? `more than ${CONFIRM_COUNT_CAP.toLocaleString('en')}` : count.toLocaleString('en');
    const title = count === 1 && !capped ? 'End 1 session?' : `End ${n} sessions?`;
    const body = html`<div class="confirm"><h1>${title}</h1><p class="lead">This cannot be undone; the users can sign in again.</p>${what}
<form method="post" action="${v.base}/sessions/end">${csrfField(v)}${fields}<input type="hidden" name="confirm" value="yes">
<div class="actions"><button class="btn btn-danger" type="submit">${count === 1 && !capped ? 'End the session' : `End ${n} sessions`}</button><a class="btn btn-secondary" href="${back}">Cancel</a></div></form></div>`;
    sendConsolePage(reply, 200, this.page(v, title, body));
  }

  private gone(v: ConsoleViewer, reply: FastifyReply, back: string): void {
    const body = html`<h1>Nothing to end</h1><p class="lead">No live session matches any more: it may have ended meanwhile (signed out, expired, or ended by another administrator).</p><p><a class="btn btn-secondary" href="${back}">Back to the sessions</a></p>`;
    sendConsolePage(reply, 404, this.page(v, 'Nothing to end', body));
  }

  private notFound(v: ConsoleViewer, reply: FastifyReply): void {
    const body = html`<h1>No such session</h1><p class="lead">There is no live or ended session at this address. Its history may have been purged, or the link is incomplete.</p><p><a class="btn btn-secondary" href="${v.base}/sessions">Find sessions</a></p>`;
    sendConsolePage(reply, 404, this.page(v, 'No such session', body));
  }

  private page(v: ConsoleViewer, title: string, body: Html, notice?: { kind: 'ok' | 'error'; text: string }): ConsolePageOutput {
    return consolePage(v, { title, section: 'sessions', body, notice, style: SESSIONS_CSS });
  }
}

function explorerOf(form: Form): ExplorerQuery {
  const q: ExplorerQuery = {};
  for (const key of ['username', 'user', 'ip', 'since', 'until', 'service', 'device', 'rememberMe', 'mfa', 'group'] as const) {
    const value = one(form[key]);
    if (value !== undefined) q[key] = value;
  }
  return q;
}

const LABELS: Record<string, string> = {
  user: 'User', username: 'User starts with', ip: 'IP address or range', service: 'Service', since: 'Signed in since', until: 'Signed in before',
  device: 'Device', rememberMe: 'Remember me', mfa: 'Multi-factor',
};

function describeFilters(q: ExplorerQuery): Html {
  const given = Object.entries(q).filter(([k, val]) => val !== undefined && k in LABELS);
  return given.length ? html`<ul>${given.map(([k, val]) => html`<li>${LABELS[k]}: <span class="mono">${val}</span></li>`)}</ul>` : html``;
}


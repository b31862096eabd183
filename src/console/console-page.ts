import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { html, Html } from './html';

export type ConsoleSection = 'overview' | 'sessions' | 'services' | 'users' | 'audit';

/** Who is signed in to the console, and what their forms carry. */
export interface ConsoleViewer {
  /** The admin token's id (or `loopback` on a development server without tokens). */
  actor: string;
  /** The `_csrf` value of this console session's forms. */
  csrf: string;
  /** The console's path, e.g. `/cas/admin`. */
  base: string;
}

export type ConsoleRequest = FastifyRequest & { consoleViewer?: ConsoleViewer };

/** A rendered page and the nonce its <style> carries (the CSP names it). */
export interface ConsolePageOutput {
  body: string;
  nonce: string;
}

const SECTIONS: { id: ConsoleSection; label: string; path: string }[] = [
  { id: 'overview', label: 'Overview', path: '' },
  { id: 'sessions', label: 'Sessions', path: '/sessions' },
  { id: 'services', label: 'Services', path: '/services' },
  { id: 'users', label: 'Users & throttles', path: '/users' },
  { id: 'audit', label: 'Audit', path: '/audit' },
];

/** The signed-in viewer, set by the console guard (a route without it is a programming error). */
export function viewer(req: FastifyRequest): ConsoleViewer {
  const v = (req as ConsoleRequest).consoleViewer;
  if (!v) throw new Error('console route without the console guard');
  return v;
}

/** The hidden field every console form posts; the guard refuses a POST without the right one. */
export function csrfField(v: ConsoleViewer): Html {
  return html`<input type="hidden" name="_csrf" value="${v.csrf}">`;
}

export interface ConsolePageOptions {
  title: string;
  section: ConsoleSection;
  body: Html;
  notice?: { kind: 'ok' | 'error'; text: string };
  /** The page's own CSS: a constant of its code, in a nonce'd <style>. */
  style?: string;
}

/** A whole console document: the header with the sections, the signed-in actor and sign-out, then the page. */
export function consolePage(v: ConsoleViewer, p: ConsolePageOptions): ConsolePageOutput {
  const nonce = randomBytes(16).toString('base64');
  const nav = SECTIONS.map(
    (s) => html`<li><a href="${v.base}${s.path}"${s.id === p.section ? html` aria-current="page"` : ''}>${s.label}</a></li>`,
  );
  const notice = p.notice && html`<p class="notice${p.notice.kind === 'error' ? ' error' : ''}" role="${p.notice.kind === 'error' ? 'alert' : 'status'}">${p.notice.text}</p>`;
  const header = html`<header class="top"><div class="top-inner">
<a class="brand" href="${v.base}">CAS administration</a>
<nav aria-label="Console sections"><ul class="nav">${nav}</ul></nav>
<div class="who"><span>Signed in as <strong>${v.actor}</strong></span>
<form method="post" action="${v.base}/logout">${csrfField(v)}<button type="submit">Sign out</button></form></div>
</div></header>`;
  return { nonce, body: document(`${p.title} · CAS administration`, v.base, nonce, p.style, html`${header}<main id="main">${notice}${p.body}</main>`) };
}

/** A page outside the signed-in layout (the sign-in page, a refusal). */
export function bareConsolePage(base: string, title: string, body: Html): ConsolePageOutput {
  const nonce = randomBytes(16).toString('base64');
  return { nonce, body: document(`${title} · CAS administration`, base, nonce, undefined, html`<main id="main">${body}</main>`) };
}

function document(title: string, base: string, nonce: string, style: string | undefined, content: Html): string {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin"><title>${title}</title>
<link rel="stylesheet" href="${base}/assets/console.css">${style ? html`<style nonce="${nonce}">${new Html(style)}</style>` : ''}</head>
<body><a class="skip" href="#main">Skip to content</a>${content}</body></html>`.toString();
}

/**
 * The console's Content-Security-Policy: no script at all, styles from this server or the page's
 * nonce'd <style>, images from this server (inline SVG needs nothing), forms post to this server.
 */
export function consolePolicy(nonce: string): string {
  return `default-src 'none'; style-src 'self' 'nonce-${nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

/**
 * Sends a console page. Its Referrer-Policy is `same-origin`, not the server's `no-referrer`: under
 * no-referrer a browser posts the console's forms with `Origin: null`, and the guard needs to see
 * this server's origin there to tell them from a cross-site post (nothing leaves for another site).
 */
export function sendConsolePage(reply: FastifyReply, status: number, out: ConsolePageOutput): void {
  void reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', consolePolicy(out.nonce))
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(out.body);
}

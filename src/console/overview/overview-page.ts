import type { MinuteCount } from '../../metrics/cas-metrics';
import { html, type Html } from '../html';
import { duration, type Overview } from './overview';
import { minuteChart } from './overview-chart';

/** The overview's own CSS (the chart's colours and the warnings list); the rest is the console's. */
export const OVERVIEW_CSS = `.chart{display:block;width:100%;height:auto;max-height:16rem}
.chart-grid{stroke:#d8dde3;stroke-width:1}.chart-axis{fill:#4a535d;font-size:14px;font-family:inherit}
.chart-line.logins{stroke:#0b57b8}.chart-line.failures{stroke:#b3261e}.chart-line.validations{stroke:#1f7a3a}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin:.25rem 0 0;padding:0;list-style:none;font-size:.875rem}
.legend li{display:flex;align-items:center;gap:.4rem}
.swatch{display:inline-block;width:1.5rem;height:0;border-top:3px solid}.swatch.logins{border-color:#0b57b8}
.swatch.failures{border-color:#b3261e;border-top-style:dashed}.swatch.validations{border-color:#1f7a3a}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem;margin:0 0 .75rem}
.charts .panel{margin:0}.charts figure{margin:0}.charts h2{margin-top:0}
details{margin-top:.5rem}details .table-wrap{max-width:40rem}summary{cursor:pointer;color:#0b57b8}
.warnings{list-style:none;margin:0 0 1rem;padding:0}
.warnings li{border:1px solid #8a5a00;border-left-width:6px;background:#fff4de;color:#4d3200;border-radius:4px;padding:.6rem .8rem;margin:0 0 .5rem}
.warnings li strong{display:block}.warnings .fix{margin:.2rem 0 0}
.card .sub{font-size:.85rem;color:#4a535d;margin-top:.1rem}
.card.bad{border-color:#b3261e}.card.bad .value{color:#8c1d18}
.empty,.warnings li{overflow-wrap:anywhere}.nowrap{white-space:nowrap}
@media (max-width:40rem){.cards{grid-template-columns:1fr 1fr;gap:.5rem}.card{padding:.6rem .7rem}.card .value{font-size:1.35rem}}`;

/** The overview's body: warnings, the figures now, the last hour's charts, the nodes, the cleaner, the directories. */
export function overviewBody(o: Overview, base: string): Html {
  return html`<h1>Overview</h1>
<p class="lead">Is the service healthy right now? Figures for the whole cluster, as of <time datetime="${o.now.toISOString()}">${clock(o.now)}</time>; reload the page to refresh them.</p>
${warningsSection(o)}
${figures(o)}
${charts(o)}
${nodesSection(o)}
${cleanerSection(o)}
${ldapSection(o)}
<p class="muted">Sessions are listed on the <a href="${base}/sessions">Sessions</a> page; Prometheus reads the same counters at <span class="mono">/actuator/prometheus</span>.</p>`;
}

function warningsSection(o: Overview): Html {
  if (!o.warnings.length) return html`<p class="notice" role="status">No warnings: every check below is fine.</p>`;
  return html`<section aria-labelledby="warnings-h"><h2 id="warnings-h">Warnings (${o.warnings.length})</h2>
<ul class="warnings">${o.warnings.map((w) => html`<li data-warning="${w.key}"><strong>${w.text}</strong><p class="fix">${w.fix}</p></li>`)}</ul></section>`;
}

function figures(o: Overview): Html {
  const hour = o.minutes.reduce((t, m) => ({ logins: t.logins + m.logins, failures: t.failures + m.loginFailures, validations: t.validations + m.validations }), { logins: 0, failures: 0, validations: 0 });
  const stuck = o.warnings.some((w) => w.key === 'outbox-stuck');
  const backlog = `${o.backlog.pending}${o.backlog.capped ? '+' : ''}`;
  return html`<h2 class="visually-hidden" id="figures-h">Figures now</h2>
<ul class="cards" aria-labelledby="figures-h">
<li class="card"><div class="label">Live SSO sessions</div><div class="value" data-figure="sessions">${o.liveSessions}</div><div class="sub">all nodes</div></li>
<li class="card"><div class="label">Logins, last hour</div><div class="value" data-figure="logins">${hour.logins}</div><div class="sub">${perMinute(o.minutes, 'logins')}</div></li>
<li class="card${hour.failures ? ' bad' : ''}"><div class="label">Failed logins, last hour</div><div class="value" data-figure="failures">${hour.failures}</div><div class="sub">${perMinute(o.minutes, 'loginFailures')}</div></li>
<li class="card"><div class="label">Validations, last hour</div><div class="value" data-figure="validations">${hour.validations}</div><div class="sub">${perMinute(o.minutes, 'validations')}</div></li>
<li class="card${stuck ? ' bad' : ''}"><div class="label">Logout requests waiting</div><div class="value" data-figure="backlog">${backlog}</div><div class="sub">${o.backlog.oldestAgeSeconds === null ? 'none pending' : `oldest ${duration(o.backlog.oldestAgeSeconds)}`}</div></li>
<li class="card"><div class="label">Nodes seen, last hour</div><div class="value" data-figure="nodes">${o.nodes.length}</div><div class="sub">${versions(o)}</div></li>
</ul>`;
}

function perMinute(minutes: MinuteCount[], key: 'logins' | 'loginFailures' | 'validations'): string {
  const peak = Math.max(...minutes.map((m) => m[key]));
  return peak ? `peak ${peak} a minute` : 'none';
}

function versions(o: Overview): string {
  const all = [...new Set(o.nodes.map((n) => n.version))];
  return all.length === 1 ? `version ${all[0]}` : `${all.length} versions: ${all.join(', ')}`;
}

function charts(o: Overview): Html {
  const values = (key: 'logins' | 'loginFailures' | 'validations') => o.minutes.map((m) => m[key]);
  const total = (key: 'logins' | 'loginFailures' | 'validations') => o.minutes.reduce((t, m) => t + m[key], 0);
  const axis = o.minutes.map((m) => m.minute);
  const busy = o.minutes.filter((m) => m.logins || m.loginFailures || m.validations).reverse();
  const table = busy.length
    ? html`<div class="table-wrap"><table class="table"><caption class="visually-hidden">Logins, failed logins and validations by minute, newest first</caption>
<thead><tr><th scope="col">Minute (UTC)</th><th scope="col" class="num">Logins</th><th scope="col" class="num">Failed logins</th><th scope="col" class="num">Validations</th></tr></thead>
<tbody>${busy.map((m) => html`<tr><td><time datetime="${m.minute}">${m.minute.slice(11, 16)}</time></td><td class="num">${m.logins}</td><td class="num">${m.loginFailures}</td><td class="num">${m.validations}</td></tr>`)}</tbody></table></div>
<p class="muted">Minutes not listed had no activity.</p>`
    : html`<p class="empty">No logins, failed logins or validations in the last hour.</p>`;
  return html`<div class="charts">
<section class="panel" aria-labelledby="logins-h"><h2 id="logins-h">Logins per minute</h2><figure>
${minuteChart('logins-chart', 'Logins and failed logins per minute, last hour', `${total('logins')} logins and ${total('loginFailures')} failed logins in the last hour, all nodes.`, axis, [
  { label: 'Logins', className: 'logins', values: values('logins') },
  { label: 'Failed logins', className: 'failures', dashed: true, values: values('loginFailures') },
])}
<figcaption><ul class="legend"><li><span class="swatch logins"></span>Logins</li><li><span class="swatch failures"></span>Failed logins</li></ul></figcaption></figure></section>
<section class="panel" aria-labelledby="validations-h"><h2 id="validations-h">Validations per minute</h2><figure>
${minuteChart('validations-chart', 'Ticket validations per minute, last hour', `${total('validations')} ticket validations in the last hour, all nodes.`, axis, [
  { label: 'Validations', className: 'validations', values: values('validations') },
])}
<figcaption><ul class="legend"><li><span class="swatch validations"></span>Validations (service and proxy tickets, every protocol)</li></ul></figcaption></figure></section>
</div>
<details><summary>The last hour minute by minute, as a table</summary>${table}</details>`;
}

function nodesSection(o: Overview): Html {
  return html`<section aria-labelledby="nodes-h"><h2 id="nodes-h">Nodes</h2>
<p class="muted">Every server on this database reports every 30 seconds; nodes not seen for an hour are left out.</p>
<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Host</th><th scope="col">Version</th><th scope="col" class="num">PID</th><th scope="col">Started</th><th scope="col">Last seen</th></tr></thead>
<tbody>${o.nodes.map(
    (n) => html`<tr><td class="wrap">${n.host}${n.self ? html` <span class="badge ok">this node</span>` : ''}</td><td>${n.version}</td><td class="num">${n.pid}</td>
<td>${ago(n.startedAt, o.now)}</td><td>${n.self ? 'now' : ago(n.lastSeen, o.now)}</td></tr>`,
  )}</tbody></table></div></section>`;
}

function cleanerSection(o: Overview): Html {
  const runs = o.cleanerRuns;
  const empty = o.cleaner.enabled
    ? html`<p class="empty">No cleaner run reported yet. Each node runs it every ${duration(o.cleaner.repeatIntervalSeconds)}; its runs appear here with the node's next report.</p>`
    : html`<p class="empty">No cleaner run reported. The registry cleaner is switched off on this node (<span class="mono">CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED</span>); expired sessions stay until a node with it on removes them.</p>`;
  return html`<section aria-labelledby="cleaner-h"><h2 id="cleaner-h">Registry cleaner</h2>
<p class="muted">The last runs of every node: expired sessions ended (with their logout requests), expired service tickets and finished logout requests removed.</p>
${runs.length
    ? html`<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Finished</th><th scope="col">Node</th><th scope="col" class="num">Sessions</th><th scope="col" class="num">Service tickets</th><th scope="col" class="num">Logout requests</th><th scope="col" class="num">Duration</th></tr></thead>
<tbody>${runs.map(
        (r) => html`<tr><td>${ago(r.endTime, o.now)}</td><td class="wrap">${r.host}</td><td class="num">${r.removed.sessions}</td><td class="num">${r.removed.serviceTickets}</td><td class="num">${r.removed.logoutRequests}</td><td class="num">${r.duration.toFixed(2)} s</td></tr>`,
      )}</tbody></table></div>`
    : empty}</section>`;
}

function ldapSection(o: Overview): Html {
  if (!o.ldap.length) return html``;
  const label = { up: html`<span class="badge ok">answers</span>`, down: html`<span class="badge bad">down</span>`, unknown: html`<span class="badge">checking</span>` };
  return html`<section aria-labelledby="ldap-h"><h2 id="ldap-h">Directory sources</h2>
<p class="muted">Whether this node reaches each LDAP source of the login chain, checked at most every 30 seconds when this page is loaded.</p>
<div class="table-wrap"><table class="table"><thead><tr><th scope="col">Source</th><th scope="col">Servers</th><th scope="col">State</th><th scope="col">Checked</th></tr></thead>
<tbody>${o.ldap.map(
    (s) => html`<tr><td>${s.name}</td><td class="mono nowrap">${s.urls.map((u, i) => html`${i ? html`<br>` : ''}${u}`)}</td><td>${label[s.state]}${s.error ? html`<div class="muted">${s.error}</div>` : ''}</td><td>${s.checkedAt ? ago(s.checkedAt, o.now) : 'not yet'}</td></tr>`,
  )}</tbody></table></div></section>`;
}

/** "10:42:07 UTC" */
function clock(d: Date): string {
  return `${d.toISOString().slice(11, 19)} UTC`;
}

/** "5 min ago", the exact time in the title and the datetime attribute. */
function ago(iso: string, now: Date): Html {
  const seconds = (now.getTime() - Date.parse(iso)) / 1000;
  const text = seconds < 5 ? 'just now' : `${duration(seconds)} ago`;
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').slice(0, 19)} UTC">${text}</time>`;
}

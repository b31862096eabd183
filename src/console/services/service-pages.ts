import type { RegisteredService } from '../../services/registered-service';
import type { ServiceMatchReport, StoredService } from '../../services/service-registry';
import { csrfField, type ConsoleViewer } from '../console-page';
import { html, Html } from '../html';
import { FAILURE_MODES, LOGOUT_TYPES, MFA_PROVIDER_IDS, type ServiceForm, type ServiceFormErrors, type ServiceFormField } from './service-form';

/** The Services pages' own CSS (a constant; the console's stylesheet has the rest). */
export const SERVICES_STYLE = `.svc-pattern{max-width:28rem}
.svc-policies{min-width:14rem}
.svc-name{font-weight:600;overflow-wrap:break-word}
.svc-meta{display:none;font-size:.8rem;color:#5a636e;margin-top:.1rem}
.svc-problem{color:#8c1d18;font-size:.85rem;margin:.25rem 0 0;overflow-wrap:anywhere}
.form-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 1.25rem}
fieldset{border:1px solid #d8dde3;border-radius:6px;padding:.5rem 1rem .5rem;margin:0 0 1rem}
legend{font-weight:600;font-size:.875rem;padding:0 .3rem}
fieldset .field{margin:.5rem 0 0}
.readonly{margin:0;padding:.45rem 0;font-weight:600}
.result{border-left:4px solid #8a939e}.result.ok{border-left-color:#1f7a3a}.result.bad{border-left-color:#b3261e}.result.warn{border-left-color:#8a5a00}
.result h2{margin-top:0}
.tester{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}.tester .field{flex:1 1 20rem;margin:0}
pre.definition{max-height:none}
@media (max-width:40rem){
.table.svc-table,.table.svc-table tbody{display:block;width:100%}
.table.svc-table thead{display:none}
.table.svc-table .badge{white-space:normal}
.table.svc-table tr{display:block;padding:.6rem .75rem;border-bottom:1px solid #e6e9ed}
.table.svc-table tr:last-child{border-bottom:0}
.table.svc-table td{display:block;border:0;padding:.15rem 0;min-width:0;max-width:none}
.table.svc-table td.num{display:none}
.svc-meta{display:block}
}`;

export const PAGE_SIZE = 50;

/** `/admin/services`: the registry in evaluation order, policies at a glance. */
export function serviceListBody(v: ConsoleViewer, page: { services: StoredService[]; more: boolean }, after: number | undefined): Html {
  const base = `${v.base}/services`;
  const rows = page.services.map(
    (s) => html`<tr>
<td class="num">${s.service?.evaluationOrder ?? text(s.definition.evaluationOrder)}</td>
<td class="num">${s.id}</td>
<td><a class="svc-name" href="${base}/${s.id}">${s.service?.name ?? (text(s.definition.name) || `service ${s.id}`)}</a><span class="svc-meta">Order ${s.service?.evaluationOrder ?? text(s.definition.evaluationOrder)} · id ${s.id}</span></td>
<td class="wrap svc-pattern"><span class="mono">${s.service?.serviceId ?? text(s.definition.serviceId)}</span></td>
<td class="svc-policies">${s.service ? policyBadges(s.service) : html`<span class="badge bad">invalid definition</span><p class="svc-problem">${s.problem}</p>`}</td>
</tr>`,
  );
  const table = page.services.length
    ? html`<div class="table-wrap"><table class="table svc-table" aria-label="Registered services">
<thead><tr><th scope="col" class="num">Order</th><th scope="col" class="num">Id</th><th scope="col">Name</th><th scope="col">Service URL pattern</th><th scope="col">Policies</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="empty">${after === undefined ? 'No service is registered, so CAS issues no ticket to any application. Add one with “New service”, or put CAS JSON files in the service registry directory.' : 'No more services.'}</p>`;
  const pager =
    after !== undefined || page.more
      ? html`<nav class="pager" aria-label="Pages">${after !== undefined && html`<a href="${base}">First page</a>`}${page.more && html`<a href="${base}?after=${page.services[page.services.length - 1].id}">Next ${PAGE_SIZE} services</a>`}</nav>`
      : '';
  return html`<h1>Services</h1>
<p class="lead">The applications allowed to use CAS, in the order a service URL is tried against them: the first whose pattern matches the whole URL is used.</p>
<div class="actions"><a class="btn" href="${base}/new">New service</a><a class="btn btn-secondary" href="${base}/match">Which service matches a URL?</a></div>
${table}${pager}`;
}

/** What the server enforces for a service, one badge per policy, the states that refuse people in colour. */
export function policyBadges(s: RegisteredService): Html {
  const b = (kind: '' | 'ok' | 'warn' | 'bad', label: string, title?: string) =>
    html`<span class="badge${kind ? ` ${kind}` : ''}"${title ? html` title="${title}"` : ''}>${label}</span>`;
  const release =
    s.attributeRelease.kind === 'all'
      ? b('', 'releases all attributes')
      : s.attributeRelease.kind === 'none' || s.attributeRelease.names.length === 0
        ? b('', 'releases no attributes')
        : b('', `releases ${listed(s.attributeRelease.names)}`, s.attributeRelease.names.join(', '));
  const rules = Object.keys(s.access.requiredAttributes).length + Object.keys(s.access.rejectedAttributes).length;
  const mfa = s.multifactorPolicy?.providers.length
    ? b('warn', `MFA ${s.multifactorPolicy.providers.join(' + ')}${s.multifactorPolicy.failureMode !== 'UNDEFINED' ? ` (${s.multifactorPolicy.failureMode.toLowerCase()})` : ''}`)
    : '';
  return html`${s.enabled ? b('ok', 'enabled') : b('bad', 'disabled')}${!s.ssoEnabled && b('warn', 'no SSO')}${rules > 0 && b('warn', `${rules} attribute ${rules === 1 ? 'rule' : 'rules'}`)}${mfa}${release}${
    s.tgtMaxTimeToLiveSeconds !== undefined && b('', `sessions ≤ ${duration(s.tgtMaxTimeToLiveSeconds)}`)
  }${s.maximumAllowedSessions !== undefined && b('', `≤ ${s.maximumAllowedSessions} ${s.maximumAllowedSessions === 1 ? 'session' : 'sessions'} per user`)}${
    s.stPolicy?.timeToLiveSeconds !== undefined && b('', `tickets ${duration(s.stPolicy.timeToLiveSeconds)}`)
  }${s.proxyPolicy.kind === 'regex' && b('', 'proxy allowed')}${s.logoutType === 'NONE' ? b('', 'no single logout') : s.logoutType === 'FRONT_CHANNEL' ? b('', 'front-channel logout') : ''}`;
}

/** `/admin/services/<id>`: what the service is, its switches, and its CAS JSON. */
export function serviceDetailBody(v: ConsoleViewer, s: StoredService): Html {
  const base = `${v.base}/services/${s.id}`;
  const p = s.service;
  const name = p?.name ?? (text(s.definition.name) || `Service ${s.id}`);
  const toggle = p
    ? html`<form method="post" action="${base}/enabled">${csrfField(v)}<input type="hidden" name="enabled" value="${p.enabled ? 'false' : 'true'}"><button type="submit" class="btn ${p.enabled ? 'btn-danger' : 'btn-secondary'}">${p.enabled ? 'Disable service' : 'Enable service'}</button></form>`
    : '';
  const facts = p
    ? html`<dl class="facts">
<dt>Id</dt><dd>${p.id}</dd>
<dt>Evaluation order</dt><dd>${p.evaluationOrder}</dd>
<dt>Service URL pattern</dt><dd class="mono">${p.serviceId}</dd>
<dt>Status</dt><dd>${p.enabled ? 'Enabled: CAS issues tickets for matching URLs.' : 'Disabled: CAS refuses matching URLs (“not authorized”).'}</dd>
<dt>Single sign-on</dt><dd>${p.ssoEnabled ? 'Allowed' : 'Not allowed: every login to it asks for credentials.'}</dd>
<dt>Policies</dt><dd>${policyBadges(p)}</dd>
<dt>Logout</dt><dd>${logoutText(p)}</dd>
${text(s.definition.description) && html`<dt>Description</dt><dd>${text(s.definition.description)}</dd>`}
<dt>Last changed</dt><dd>${s.source === 'api' ? 'through the console or the API (kept over the JSON files at start-up)' : 'by a JSON file of the service registry directory'}</dd>
</dl>`
    : html`<p class="notice error" role="alert">This stored definition no longer validates, so CAS ignores it: ${s.problem}. Edit it to fix it.</p>`;
  return html`<p class="muted"><a href="${v.base}/services">Services</a> ›</p>
<h1>${name}</h1>
<p class="lead">Registered service ${s.id}: how CAS treats the URLs it matches.</p>
<div class="actions"><a class="btn" href="${base}/edit">Edit service</a>${toggle}</div>
<div class="panel">${facts}</div>
<h2 id="json">CAS JSON</h2>
<p class="muted">As <span class="mono">GET /actuator/registeredServices/${s.id}</span> returns it.</p>
<pre class="definition" aria-labelledby="json">${JSON.stringify(s.definition, null, 2)}</pre>`;
}

/** The create / edit form; `errors` next to their fields (with a summary on top). */
export function serviceFormBody(v: ConsoleViewer, form: ServiceForm, errors: ServiceFormErrors, editing?: { id: number; name: string }): Html {
  const action = editing ? `${v.base}/services/${editing.id}/edit` : `${v.base}/services/new`;
  const cancel = editing ? `${v.base}/services/${editing.id}` : `${v.base}/services`;
  const invalid = (f: ServiceFormField) => (errors[f] ? html` aria-invalid="true" aria-describedby="${f}-error"` : '');
  const error = (f: ServiceFormField) => errors[f] && html`<p class="error-text" id="${f}-error">${errors[f]}</p>`;
  const input = (f: 'id' | 'name' | 'serviceId' | 'evaluationOrder' | 'description' | 'logoutUrl', label: string, hint?: string, extra?: Html) =>
    html`<div class="field"><label for="${f}">${label}</label><input type="text" id="${f}" name="${f}" value="${form[f]}"${extra ?? ''}${invalid(f)}>${hint && html`<p class="hint">${hint}</p>`}${error(f)}</div>`;
  const select = (f: 'logoutType' | 'failureMode', label: string, options: Record<string, string>) => {
    // A value the form does not offer (from the JSON) stays selected, so its error names it.
    const values = form[f] in options ? Object.keys(options) : [...Object.keys(options), form[f]];
    return html`<div class="field"><label for="${f}">${label}</label><select id="${f}" name="${f}"${invalid(f)}>${values.map(
      (o) => html`<option value="${o}"${o === form[f] ? ' selected' : ''}>${options[o] ?? o}</option>`,
    )}</select>${error(f)}</div>`;
  };
  const check = (f: 'enabled' | 'ssoEnabled', label: string) =>
    html`<div class="check"><input type="checkbox" id="${f}" name="${f}" value="true"${form[f] ? ' checked' : ''}${invalid(f)}><label for="${f}">${label}</label></div>${error(f)}`;
  const providers = MFA_PROVIDER_IDS.map(
    (p) => html`<div class="check"><input type="checkbox" id="mfa-${p}" name="mfaProviders" value="${p}"${form.mfaProviders.includes(p) ? ' checked' : ''}${invalid('mfaProviders')}><label for="mfa-${p}">${p}</label></div>`,
  );
  // A provider in the definition this server does not have stays posted, so the error names it.
  const unknown = form.mfaProviders.filter((p) => !(MFA_PROVIDER_IDS as readonly string[]).includes(p)).map((p) => html`<input type="hidden" name="mfaProviders" value="${p}">`);
  const first = (Object.keys(errors) as ServiceFormField[])[0];
  return html`<p class="muted"><a href="${v.base}/services">Services</a> ›${editing && html` <a href="${cancel}">${editing.name}</a> ›`}</p>
<h1>${editing ? `Edit ${editing.name}` : 'New service'}</h1>
<p class="lead">The common settings below; anything else in the CAS JSON at the bottom. The settings above replace the same keys in the JSON.</p>
${first && html`<p class="notice error" role="alert">The service was not saved: correct <a href="#${first === 'mfaProviders' ? `mfa-${MFA_PROVIDER_IDS[0]}` : first}">${FIELD_LABELS[first]}</a> below.</p>`}
<form method="post" action="${action}" novalidate>${csrfField(v)}
<div class="panel"><div class="form-grid">
${editing ? html`<div class="field"><span class="label">Id</span><p class="readonly">${editing.id}</p></div>` : input('id', 'Id', 'A whole number, unique among the services.', html` inputmode="numeric"`)}
${input('name', 'Name')}
${input('evaluationOrder', 'Evaluation order', 'Lower is tried first; empty means 0.', html` inputmode="numeric"`)}
</div>
${input('serviceId', 'Service URL pattern (serviceId)', 'A regular expression that must match the whole service URL, ignoring case, e.g. ^https://app\\.example\\.org/.*', html` class="mono" spellcheck="false" autocapitalize="off"`)}
${input('description', 'Description')}
<div class="form-grid">
<fieldset><legend>Access</legend>${check('enabled', 'Enabled: CAS issues tickets for this service')}${check('ssoEnabled', 'Single sign-on allowed')}</fieldset>
<fieldset><legend>Multi-factor authentication</legend>${providers}${unknown}${error('mfaProviders')}${select('failureMode', 'When the provider cannot run', FAILURE_MODE_LABELS)}</fieldset>
</div>
<div class="form-grid">${select('logoutType', 'Logout type', LOGOUT_TYPE_LABELS)}${input('logoutUrl', 'Logout URL', 'Where single logout requests go; empty: the service URL.', html` spellcheck="false" autocapitalize="off"`)}</div>
<div class="field"><label for="json">CAS JSON definition</label><textarea id="json" name="json" rows="18" spellcheck="false" autocapitalize="off"${invalid('json')}>${form.json}</textarea>${error('json')}</div>
<div class="actions"><button type="submit" class="btn">${editing ? 'Save changes' : 'Create service'}</button><a href="${cancel}">Cancel</a></div>
</div></form>`;
}

/** `/admin/services/match`: the URL tester, and what /login would do with the URL. */
export function matchBody(v: ConsoleViewer, url: string | undefined, report: ServiceMatchReport | undefined): Html {
  const link = (s: RegisteredService) => html`<a href="${v.base}/services/${s.id}">${s.name}</a> <span class="muted">(id ${s.id}, order ${s.evaluationOrder})</span>`;
  let result: Html | string = '';
  if (report) {
    const shadowed =
      report.kind === 'authorized' || report.kind === 'disabled'
        ? report.shadowed.length > 0 &&
          html`<p>Also matching, but never used because the service above is tried first:</p><ul>${report.shadowed.map((s) => html`<li>${link(s)}</li>`)}</ul>`
        : '';
    const [kind, heading, body] =
      report.kind === 'authorized'
        ? ['ok', 'Matched, and enabled', html`<p>${link(report.service)} matches this URL: CAS logs users in to it and issues its tickets.</p>`]
        : report.kind === 'disabled'
          ? ['bad', 'Matched, but disabled', html`<p>${link(report.service)} matches this URL but is disabled: CAS refuses it (“not authorized”). Enable the service to let it in.</p>`]
          : report.kind === 'none'
            ? ['bad', 'No service matches', html`<p>No registered service’s pattern matches the whole URL, so CAS refuses it. Check the scheme, host, port and path against the patterns on the <a href="${v.base}/services">Services page</a>.</p>`]
            : ['warn', 'Not a URL CAS accepts', html`<p>Before any service is tried, CAS accepts only an http or https URL of printable characters (at most 4096), with nothing it could not redirect to; this is not one.</p>`];
    result = html`<section class="panel result ${kind}" aria-live="polite"><h2>${heading}</h2><p class="mono">${url}</p>${body}${shadowed}</section>`;
  }
  return html`<p class="muted"><a href="${v.base}/services">Services</a> ›</p>
<h1>Which service matches this URL?</h1>
<p class="lead">Tries a service URL the way the login does: the services in evaluation order, the first whose pattern matches the whole URL, then whether it is enabled.</p>
<form method="get" action="${v.base}/services/match" class="panel tester">
<div class="field"><label for="url">Service URL</label><input type="text" id="url" name="url" value="${url ?? ''}" inputmode="url" spellcheck="false" autocapitalize="off" placeholder="https://app.example.org/login"></div>
<button type="submit" class="btn">Find the service</button></form>
${result}`;
}

export function notFoundBody(v: ConsoleViewer, id: string): Html {
  return html`<h1>No such service</h1><p class="lead">There is no registered service with id ${id}; it may have been deleted.</p><p><a href="${v.base}/services">All services</a></p>`;
}

const FAILURE_MODE_LABELS: Record<(typeof FAILURE_MODES)[number], string> = {
  UNDEFINED: 'UNDEFINED: global setting',
  CLOSED: 'CLOSED: no login',
  OPEN: 'OPEN: without the factor',
  PHANTOM: 'PHANTOM: as if satisfied',
  NONE: 'NONE: not checked',
};

const LOGOUT_TYPE_LABELS: Record<(typeof LOGOUT_TYPES)[number], string> = {
  BACK_CHANNEL: 'BACK_CHANNEL: CAS posts',
  FRONT_CHANNEL: 'FRONT_CHANNEL: via the browser',
  NONE: 'NONE: no logout',
};

const FIELD_LABELS: Record<ServiceFormField, string> = {
  id: 'the id',
  name: 'the name',
  serviceId: 'the service URL pattern',
  evaluationOrder: 'the evaluation order',
  description: 'the description',
  logoutType: 'the logout type',
  logoutUrl: 'the logout URL',
  enabled: '“Enabled”',
  ssoEnabled: '“Single sign-on allowed”',
  mfaProviders: 'the multi-factor providers',
  failureMode: 'the failure mode',
  json: 'the CAS JSON definition',
};

function logoutText(s: RegisteredService): string {
  if (s.logoutType === 'NONE') return 'No single logout.';
  const to = s.logoutUrl ? `to ${s.logoutUrl}` : 'to the service URL';
  return s.logoutType === 'FRONT_CHANNEL' ? `Front-channel, through the browser, ${to}.` : `Back-channel, a POST from CAS ${to}.`;
}

function listed(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} +${names.length - 3}`;
}

function duration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function text(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

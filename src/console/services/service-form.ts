import { FAILURE_MODES, MFA_PROVIDER_IDS } from '../../config/mfa-config';
import { InvalidServiceDefinition, parseServiceDefinition, type RegisteredService } from '../../services/registered-service';

/**
 * The console's service form: the common fields of a CAS JSON definition as inputs, plus the
 * whole definition in a textarea for everything else. The fields are laid over the textarea's
 * JSON and the result goes through the registry's own validation (parseServiceDefinition, what
 * POST /actuator/registeredServices runs); its message, which starts with the path of the field at
 * fault, is shown next to that field, or next to the JSON when no input holds it.
 */
export interface ServiceForm {
  id: string;
  name: string;
  serviceId: string;
  evaluationOrder: string;
  description: string;
  logoutType: string;
  logoutUrl: string;
  enabled: boolean;
  ssoEnabled: boolean;
  mfaProviders: string[];
  failureMode: string;
  json: string;
}

export type ServiceFormField = keyof ServiceForm;
export type ServiceFormErrors = Partial<Record<ServiceFormField, string>>;

export const LOGOUT_TYPES = ['BACK_CHANNEL', 'FRONT_CHANNEL', 'NONE'] as const;
export { FAILURE_MODES, MFA_PROVIDER_IDS };

const SERVICE_CLASS = 'org.apereo.cas.services.CasRegisteredService';
const ACCESS_STRATEGY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy';
const MULTIFACTOR_POLICY_CLASS = 'org.apereo.cas.services.DefaultRegisteredServiceMultifactorPolicy';

/** A new service's form: CAS's defaults, and the smallest definition in the textarea. */
export function newServiceForm(): ServiceForm {
  return formOf({ '@class': SERVICE_CLASS });
}

/** The form showing a stored definition (one that no longer parses too: its values as they are). */
export function formOf(d: Record<string, unknown>): ServiceForm {
  const access = objectOr(d.accessStrategy);
  const mfa = objectOr(d.multifactorPolicy);
  return {
    id: text(d.id),
    name: text(d.name),
    serviceId: text(d.serviceId),
    evaluationOrder: text(d.evaluationOrder),
    description: text(d.description),
    logoutType: text(d.logoutType) || 'BACK_CHANNEL',
    logoutUrl: text(d.logoutUrl),
    enabled: access?.enabled === undefined || access.enabled === null || String(access.enabled) === 'true',
    ssoEnabled: access?.ssoEnabled === undefined || access.ssoEnabled === null || String(access.ssoEnabled) === 'true',
    mfaProviders: collection(mfa?.multifactorAuthenticationProviders),
    failureMode: text(mfa?.failureMode) || 'UNDEFINED',
    json: JSON.stringify(d, null, 2),
  };
}

/** The posted form (urlencoded: a field is a string, a repeated one a list, an unchecked box absent). */
export function readForm(body: unknown): ServiceForm {
  const b = objectOr(body) ?? {};
  const one = (k: string): string => {
    const v = b[k];
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
  };
  const many = (k: string): string[] => {
    const v = b[k];
    return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  };
  return {
    id: one('id').trim(),
    name: one('name'),
    serviceId: one('serviceId').trim(),
    evaluationOrder: one('evaluationOrder').trim(),
    description: one('description'),
    logoutType: one('logoutType'),
    logoutUrl: one('logoutUrl').trim(),
    enabled: one('enabled') === 'true',
    ssoEnabled: one('ssoEnabled') === 'true',
    mfaProviders: many('mfaProviders'),
    failureMode: one('failureMode') || 'UNDEFINED',
    json: one('json'),
  };
}

export type BuiltService = { ok: true; service: RegisteredService } | { ok: false; errors: ServiceFormErrors };

/**
 * The definition the form describes, validated. `fixedId`: the id of the service being edited
 * (the path's), which the form and the JSON cannot change.
 */
export function buildService(form: ServiceForm, fixedId?: number): BuiltService {
  let base: Record<string, unknown>;
  if (!form.json.trim()) base = { '@class': SERVICE_CLASS };
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(form.json);
    } catch (e) {
      return { ok: false, errors: { json: `not valid JSON: ${(e as Error).message}` } };
    }
    const o = objectOr(parsed);
    if (!o) return { ok: false, errors: { json: 'the definition must be a JSON object ({ … })' } };
    base = o;
  }
  const d: Record<string, unknown> = { ...base };
  d.id = fixedId ?? (/^\d{1,15}$/.test(form.id) ? Number(form.id) : form.id || undefined);
  d.name = form.name;
  d.serviceId = form.serviceId;
  setOrDelete(d, 'description', form.description.trim() ? form.description : undefined);
  setOrDelete(d, 'evaluationOrder', form.evaluationOrder === '' ? undefined : /^-?\d{1,9}$/.test(form.evaluationOrder) ? Number(form.evaluationOrder) : form.evaluationOrder);
  // CAS's defaults are left out of a definition that did not spell them out.
  setOrDelete(d, 'logoutType', d.logoutType === undefined && form.logoutType === 'BACK_CHANNEL' ? undefined : form.logoutType);
  setOrDelete(d, 'logoutUrl', form.logoutUrl || undefined);
  overlayAccess(d, form);
  overlayMultifactor(d, form);
  try {
    return { ok: true, service: parseServiceDefinition(d) };
  } catch (e) {
    if (!(e instanceof InvalidServiceDefinition)) throw e;
    return { ok: false, errors: { [fieldOf(e.message)]: e.message } };
  }
}

/** The input a validation message is about, by the path it starts with; the JSON when no input holds it. */
export function fieldOf(message: string): ServiceFormField {
  const path = message.slice(0, Math.max(0, message.indexOf(':')));
  return FIELD_OF_PATH[path] ?? 'json';
}

const FIELD_OF_PATH: Record<string, ServiceFormField> = {
  id: 'id',
  name: 'name',
  serviceId: 'serviceId',
  evaluationOrder: 'evaluationOrder',
  description: 'description',
  logoutType: 'logoutType',
  logoutUrl: 'logoutUrl',
  'accessStrategy.enabled': 'enabled',
  'accessStrategy.ssoEnabled': 'ssoEnabled',
  'multifactorPolicy.multifactorAuthenticationProviders': 'mfaProviders',
  'multifactorPolicy.failureMode': 'failureMode',
};

/** `accessStrategy.enabled` / `ssoEnabled`; a strategy that is not an object is left for the validation to name. */
function overlayAccess(d: Record<string, unknown>, form: ServiceForm): void {
  if (d.accessStrategy === undefined || d.accessStrategy === null) {
    if (form.enabled && form.ssoEnabled) return;
    d.accessStrategy = { '@class': ACCESS_STRATEGY_CLASS };
  }
  const access = objectOr(d.accessStrategy);
  if (!access) return;
  const next = { ...access };
  // true is CAS's default: written only when the definition spelled it out or it changes.
  for (const key of ['enabled', 'ssoEnabled'] as const) {
    if (!form[key] || (next[key] !== undefined && next[key] !== null)) next[key] = form[key];
  }
  d.accessStrategy = next;
}

/** `multifactorPolicy`'s providers and failure mode; its other fields (bypass rules, triggers) are kept. */
function overlayMultifactor(d: Record<string, unknown>, form: ServiceForm): void {
  const wanted = form.mfaProviders.length > 0 || form.failureMode !== 'UNDEFINED';
  if ((d.multifactorPolicy === undefined || d.multifactorPolicy === null) && !wanted) return;
  const policy = d.multifactorPolicy === undefined || d.multifactorPolicy === null ? { '@class': MULTIFACTOR_POLICY_CLASS } : objectOr(d.multifactorPolicy);
  if (!policy) return;
  const before = policy.multifactorAuthenticationProviders;
  const next: Record<string, unknown> = {
    ...policy,
    // Jackson's typed form, as CAS writes it, unless the definition used a plain list.
    multifactorAuthenticationProviders: Array.isArray(before) && !isJavaCollection(before) ? form.mfaProviders : ['java.util.LinkedHashSet', form.mfaProviders],
  };
  setOrDelete(next, 'failureMode', form.failureMode === 'UNDEFINED' ? undefined : form.failureMode);
  d.multifactorPolicy = next;
}

function setOrDelete(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

function objectOr(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

function isJavaCollection(v: unknown[]): boolean {
  return v.length === 2 && typeof v[0] === 'string' && v[0].startsWith('java.util.') && Array.isArray(v[1]);
}

function collection(v: unknown): string[] {
  if (Array.isArray(v)) return (isJavaCollection(v) ? (v[1] as unknown[]) : v).map(String);
  return typeof v === 'string' ? [v] : [];
}

import { CasError } from './cas-error';

export type RawParams = Record<string, string | string[] | undefined> | undefined;

/**
 * One protocol parameter as a string. Repeated parameters are refused, as CAS's security filter
 * refuses multi-valued protocol parameters: which copy would win is a question for an attacker.
 */
export function param(params: RawParams, name: string): string | undefined {
  const v = params?.[name];
  if (Array.isArray(v)) throw new CasError('INVALID_REQUEST', `Parameter '${name}' must be given once`);
  return v;
}

/** CAS flags (`renew`, `gateway`): present and not "false" means set. */
export function flag(params: RawParams, name: string): boolean {
  const v = param(params, name);
  return v !== undefined && v.toLowerCase() !== 'false';
}

/** The CAS protocol failure codes (spec 2.5.3 and 2.7.2), plus CAS's UNAUTHORIZED_SERVICE. */
export type CasErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_TICKET_SPEC'
  | 'UNAUTHORIZED_SERVICE_PROXY'
  | 'INVALID_PROXY_CALLBACK'
  | 'INVALID_TICKET'
  | 'INVALID_SERVICE'
  | 'INTERNAL_ERROR'
  | 'UNAUTHORIZED_SERVICE'
  /** CAS's UnsatisfiedAuthenticationContextTicketValidationException: the session lacks the factor the service needs. */
  | 'INVALID_AUTHENTICATION_CONTEXT';

/** A protocol failure that is shown to the client as `code` + description. */
export class CasError extends Error {
  constructor(
    readonly code: CasErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A client-supplied value as it may appear in an error description: bounded, never raw. */
export function echo(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}

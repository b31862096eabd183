import { createHash } from 'node:crypto';

const HANDLE_PREFIX = 'cas-session-event:';

/**
 * A session's opaque handle: SHA-256 of the TGT id (base64url). The session events name the
 * session with it, and the admin console in its URLs and forms. The id's 128+ random bits make
 * it impossible to invert; the server never accepts it as a credential.
 */
export function handleOf(tgtId: string): string {
  return createHash('sha256').update(`${HANDLE_PREFIX}${tgtId}`).digest('base64url');
}

/**
 * handleOf computed by Postgres for the column `column` (a TGT id): what a statement compares a
 * handle with, among a few rows (one user's sessions), to find a session without its id.
 * base64 of 32 bytes is 44 characters on one line: no line break to strip, only the padding.
 */
export function handleSql(column: string): string {
  return `rtrim(translate(encode(sha256(convert_to('${HANDLE_PREFIX}' || ${column}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;
}

/** A handle as handleOf writes it: 43 base64url characters. */
export const SESSION_HANDLE = /^[A-Za-z0-9_-]{43}$/;

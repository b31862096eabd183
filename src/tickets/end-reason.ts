/**
 * Why an SSO session ended: the `reason` of its logout requests (slo_outbox), of its history row
 * (session_history, which splits EXPIRED into idle and hard) and of its session-revoked event.
 * A type of the tickets module itself, so the history, the events and the logout pipeline all
 * read it from here and none of them imports another for it.
 */
export type EndReason = 'LOGOUT' | 'ADMIN' | 'EXPIRED' | 'DISABLED' | 'LIMIT' | 'PASSWORD_CHANGE' | 'REPLACED';

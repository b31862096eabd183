import { LoggerService, LogLevel } from '@nestjs/common';
import { currentRequestId } from './request-context';

/**
 * LOG_FORMAT=json: one JSON object per line on stdout, for log shippers: time, level, context,
 * requestId (when logged while serving a request) and message; an error's stack as `stack`.
 * Nest's Logger calls it as log(message, ...params, context) and error(message, stack?, context).
 */
export class JsonLogger implements LoggerService {
  constructor(private levels: LogLevel[]) {}

  setLogLevels(levels: LogLevel[]): void {
    this.levels = levels;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    if (level !== 'fatal' && !this.levels.includes(level)) return;
    const rest = [...params];
    const context = rest.length && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = level === 'error' || level === 'fatal' ? rest.find((p): p is string => typeof p === 'string') : undefined;
    // A plain object with a `message` (the access log's) gives its other fields to the line.
    const fielded = isFielded(message) ? message : null;
    const line = {
      time: new Date().toISOString(),
      level,
      context: context ?? null,
      requestId: currentRequestId() ?? null,
      message: fielded ? fielded.message : message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message),
      ...(fielded ? withoutStandardKeys(fielded) : {}),
      ...(stack ? { stack } : message instanceof Error && message.stack ? { stack: message.stack } : {}),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

function isFielded(m: unknown): m is { message: string } & Record<string, unknown> {
  return typeof m === 'object' && m !== null && Object.getPrototypeOf(m) === Object.prototype && typeof (m as { message?: unknown }).message === 'string';
}

/** The object's own fields, less those the line already has (they cannot be overwritten). */
function withoutStandardKeys(m: Record<string, unknown>): Record<string, unknown> {
  const { message: _m, time: _t, level: _l, context: _c, requestId: _r, stack: _s, ...rest } = m;
  return rest;
}

import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** A path is cut here in the log: a line per request stays a line. */
const MAX_PATH = 256;

/**
 * ACCESS_LOG_ENABLED: one line per answered request, with the request id that its error lines and
 * its audit row carry. The query string is never written: CAS puts tickets, service URLs and
 * (on a misused form) passwords there. Under LOG_FORMAT=json the line's facts are fields of its
 * JSON object (method, path, status, durationMs, ip) besides the usual ones.
 */
export function addAccessLog(fastify: FastifyInstance, format: 'text' | 'json'): void {
  const logger = new Logger('Access');
  fastify.addHook('onResponse', (req, reply, done) => {
    const path = pathOf(req);
    const status = reply.statusCode;
    const durationMs = Math.round(reply.elapsedTime * 10) / 10;
    const text = `${req.method} ${path} ${status} ${durationMs} ms ${req.ip}`;
    // The JSON logger spreads an object's fields into the line; the text logger gets a line.
    logger.log(format === 'json' ? { message: text, method: req.method, path, status, durationMs, ip: req.ip } : text);
    done();
  });
}

/** The path as requested, without the query, control characters or an endless tail. */
function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  // eslint-disable-next-line no-control-regex
  const clean = path.replace(/[\x00-\x1f\x7f]/g, '');
  return clean.length > MAX_PATH ? `${clean.slice(0, MAX_PATH)}…` : clean;
}

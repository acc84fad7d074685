import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../../shared/logger.js';

const SAFE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Echoes a caller's X-Request-Id (when well-formed) or assigns one, for logs and problem documents, and gives
 * the request its logger (`requestLogger(req)`): every line logged for the request carries `requestId`, the id
 * its response names. The child logger is made on first use, so a publish that logs nothing pays nothing.
 */
export function requestId(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.header('x-request-id');
    const id = given && SAFE.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    let log: Logger | undefined;
    Object.defineProperties(req, {
      id: { value: id, configurable: true },
      log: { get: () => (log ??= logger.child({ requestId: id })), configurable: true },
    });
    next();
  };
}

/** The request's own logger where requestId ran (the ops app has none), else `fallback`. */
export function requestLogger(req: Request, fallback: Logger): Logger {
  return (req as { log?: Logger }).log ?? fallback;
}

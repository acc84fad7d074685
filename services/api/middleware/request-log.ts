import type { RequestHandler } from 'express';
import type { Logger } from '../../../shared/logger.js';

/** Probes scraped every few seconds: logging them would drown the requests that matter. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line per finished request: id, method, path (never the query string, which may carry an
 * access_token), status and duration. Written by hand rather than with pino-http because it runs on every
 * publish: no child logger per request, and nothing at all unless the level logs it.
 */
export function requestLog(logger: Logger): RequestHandler {
  const http = logger.child({ component: 'http' });
  return (req, res, next) => {
    if (!http.isLevelEnabled('info') || QUIET.has(req.path)) return next();
    const started = performance.now();
    res.once('finish', () => {
      const id = (req as { id?: string }).id;
      const line = {
        requestId: id,
        req: { id, method: req.method, path: req.originalUrl.split('?')[0] },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (res.statusCode >= 500) http.error(line, 'request failed');
      else http.info(line, 'request completed');
    });
    next();
  };
}

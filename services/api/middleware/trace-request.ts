import type { RequestHandler } from 'express';
import { extractHttp, markError, openSpan, closeSpan, withContext } from '../../../shared/tracing/spans.js';

/** Probes scraped every few seconds: a span each would bury the requests that matter. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One HTTP server span per request (semantic conventions for HTTP servers), continuing the caller's
 * `traceparent` when it sends one. Everything the handler does runs inside it: the JetStream publish, poll
 * fetches and acks, and log lines. Installed only while tracing is on (see app.ts).
 */
export function traceRequest(): RequestHandler {
  return (req, res, next) => {
    if (QUIET.has(req.path)) return next();
    const opened = openSpan('api', req.method, {
      kind: 'server',
      parent: extractHttp(req.headers),
      attributes: {
        'http.request.method': req.method,
        'url.path': req.path,
        'url.scheme': 'http',
        'server.port': req.socket.localPort,
        'client.address': req.socket.remoteAddress,
        'user_agent.original': req.headers['user-agent'],
        'network.protocol.version': req.httpVersion,
      },
    });
    if (!opened) return next();
    const { span, ctx } = opened;
    res.once('close', () => {
      // The route template, never the concrete path: span names must stay few (ids are in url.path).
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : undefined;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      if (res.headersSent) span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) {
        span.setAttribute('error.type', res.writableFinished ? String(res.statusCode) : 'aborted');
        markError(span, res.writableFinished ? `HTTP ${res.statusCode}` : 'connection closed before the response ended');
      }
      closeSpan(span);
    });
    withContext(ctx, next);
  };
}

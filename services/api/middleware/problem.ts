import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isAppError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';

const PROBLEM_BASE = 'https://hookline.dev/problems/';

/** Maps body-parser failures (malformed JSON, too large, wrong charset) onto the same shape as ours. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number }) {
  switch (err.type) {
    case 'entity.parse.failed':
      return { code: 'request.malformed_json', status: 400, title: 'Invalid request', detail: 'The request body is not valid JSON.' };
    case 'entity.too.large':
      return {
        code: 'request.too_large',
        status: 413,
        title: 'Payload too large',
        detail: `The request body exceeds the limit of ${err.limit} bytes.`,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { code: 'request.unsupported_encoding', status: 415, title: 'Unsupported media type', detail: 'Use UTF-8 JSON.' };
    default:
      return undefined;
  }
}

/**
 * The one error middleware: AppErrors and body-parser errors become `application/problem+json`;
 * anything else is a 500 with no internal detail, logged with its stack. 4xx log at info, 5xx at error.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = isAppError(err)
      ? { code: err.code, status: err.status, title: err.title, detail: err.message, extensions: err.extensions }
      : fromBodyParser(err);
    const problem = known ?? {
      code: 'internal',
      status: 500,
      title: 'Internal server error',
      detail: 'Something went wrong on our side; the request id identifies it in our logs.',
    };
    const log = (req as { log?: Logger }).log ?? logger;
    if (problem.status >= 500) log.error({ err, code: problem.code }, 'request failed');
    else log.info({ code: problem.code, status: problem.status }, problem.detail);
    if (res.headersSent) return;
    if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: PROBLEM_BASE + problem.code,
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          code: problem.code,
          instance: req.originalUrl.split('?')[0],
          requestId: res.getHeader('x-request-id'),
          ...(('extensions' in problem && problem.extensions) || {}),
        }),
      );
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res
    .status(404)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: PROBLEM_BASE + 'route.not_found',
        title: 'Not found',
        status: 404,
        detail: `No route for ${req.method} ${req.path}.`,
        code: 'route.not_found',
      }),
    );
};

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isAppError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { requestLogger } from './request-id.js';

const PROBLEM_BASE = 'https://hookline.dev/problems/';

/** zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR for a truncated stream) and brotli's (ERR__ERROR_FORMAT_…). */
const DECOMPRESSION_ERROR = /^(Z_|ERR__ERROR_)/;

/**
 * Maps body-parser failures (malformed JSON, too large, wrong charset or content encoding, a body that
 * does not decompress) onto the same shape as ours. All are the client's doing: 4xx, logged at info.
 */
function fromBodyParser(err: { type?: string; status?: number; limit?: number; code?: unknown; encoding?: string }) {
  if (err.status === 400 && typeof err.code === 'string' && DECOMPRESSION_ERROR.test(err.code)) {
    return {
      code: 'request.invalid_encoding',
      status: 400,
      title: 'Invalid request',
      detail: 'The request body does not decompress as its Content-Encoding says (corrupt or truncated).',
    };
  }
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
      return {
        code: 'request.unsupported_encoding',
        status: 415,
        title: 'Unsupported media type',
        detail: err.encoding ? 'Content-Encoding must be gzip, deflate, br or identity.' : 'Use UTF-8 JSON.',
      };
    case 'charset.unsupported':
      return { code: 'request.unsupported_encoding', status: 415, title: 'Unsupported media type', detail: 'Use UTF-8 JSON.' };
    default:
      return undefined;
  }
}

/**
 * The one error middleware: AppErrors and body-parser errors become `application/problem+json`;
 * anything else is a 500 with no internal detail, logged with its stack and the request id the response
 * names. 4xx log at info, 5xx at error.
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
    const log = requestLogger(req, logger);
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

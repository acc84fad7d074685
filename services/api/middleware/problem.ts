import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import {
  AppError,
  InternalError,
  isAppError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { requestLogger } from './request-id.js';

const PROBLEM_BASE = 'https://hookline.dev/problems/';

/** zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR for a truncated stream) and brotli's (ERR__ERROR_FORMAT_…). */
const DECOMPRESSION_ERROR = /^(Z_|ERR__ERROR_)/;

/**
 * Maps body-parser failures (malformed JSON, too large, wrong charset or content encoding, a body that
 * does not decompress) onto our typed errors. All are the client's doing: 4xx, logged at info.
 */
function fromBodyParser(err: { type?: string; status?: number; limit?: number; code?: unknown; encoding?: string }): AppError | undefined {
  if (err.status === 400 && typeof err.code === 'string' && DECOMPRESSION_ERROR.test(err.code)) {
    return new ValidationError(
      'request.invalid_encoding',
      'The request body does not decompress as its Content-Encoding says (corrupt or truncated).',
    );
  }
  switch (err.type) {
    case 'entity.parse.failed':
      return new ValidationError('request.malformed_json', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new PayloadTooLargeError('request.too_large', `The request body exceeds the limit of ${err.limit} bytes.`);
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError(
        'request.unsupported_encoding',
        err.encoding ? 'Content-Encoding must be gzip, deflate, br or identity.' : 'Use UTF-8 JSON.',
      );
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('request.unsupported_encoding', 'Use UTF-8 JSON.');
    default:
      return undefined;
  }
}

/** Any thrown value as the AppError it answers with: itself, a body-parser failure, or a detail-free 500. */
export function asAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  // The router's own: a path parameter that is not valid percent-encoding (/v1/topics/%zz/messages).
  if (err instanceof URIError && (err as { status?: number }).status === 400) {
    return new ValidationError('request.invalid_path', 'The request path is not valid percent-encoded UTF-8.');
  }
  return (
    fromBodyParser(err as Parameters<typeof fromBodyParser>[0]) ??
    new InternalError('internal', 'Something went wrong on our side; the request id identifies it in our logs.')
  );
}

/** One wrong field of a request body (a 400 of body validation, `filter.invalid`): where (dotted path) and what. */
export const fieldErrorSchema = z.object({ path: z.string(), message: z.string() });

/**
 * One refused ack id of an ack or nack (`poll.invalid_ack_id` 400, `poll.ack_expired` 409): its index in
 * `ackIds` (or `attempts`), why, and a sentence saying so.
 */
export const ackIdErrorSchema = z.object({
  index: z.number().int().min(0),
  problem: z.enum(['malformed', 'forged', 'wrong_subscription', 'expired']),
  detail: z.string(),
});

/** RFC 9457 problem details, open: some problems carry extra members (e.g. `limit`). */
export const problemSchema = z
  .looseObject({
    type: z.string().meta({ format: 'uri' }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.union([fieldErrorSchema, ackIdErrorSchema]))
      .optional()
      .meta({
        description:
          'Present on some problems only: `{path, message}` per wrong field of a body that failed validation, ' +
          '`{index, problem, detail}` per refused ack id of an ack or nack.',
      }),
  })
  .meta({ description: 'RFC 9457 problem details; `code` is a stable string to branch on.' });

/** Where a problem happened: the request's path and id. */
interface ProblemWhere {
  instance?: string;
  requestId?: string;
}

/** The `application/problem+json` body for `problem`; every HTTP answer of an error is built here. */
export function problemDocument(problem: AppError, where: ProblemWhere = {}): z.output<typeof problemSchema> {
  return {
    type: PROBLEM_BASE + problem.code,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    code: problem.code,
    ...(where.instance === undefined ? {} : { instance: where.instance }),
    ...(where.requestId === undefined ? {} : { requestId: where.requestId }),
    ...(problem.extensions ?? {}),
  };
}

/** Answers `res` with `problem` as `application/problem+json`. */
function sendProblem(res: Response, problem: AppError, where: ProblemWhere = {}): void {
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problemDocument(problem, where)));
}

/**
 * Answers a raw socket with `problem` and closes it: for an HTTP upgrade (the WebSocket endpoint), refused
 * before express or ws ever see the request.
 */
export function endSocketWithProblem(socket: Duplex, problem: AppError): void {
  const body = JSON.stringify(problemDocument(problem));
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (problem.status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/**
 * Requests Node's HTTP parser refuses before express sees them (a malformed request line, a header section
 * over 16 KiB, a bad Content-Length) got Node's bare status line: they get a problem document like the rest.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inResponse = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || inResponse) return socket.destroy();
    endSocketWithProblem(socket, clientErrorProblem(err.code));
  });
}

function clientErrorProblem(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('request.headers_too_large', 431, 'Request header fields too large', 'The request headers exceed 16 KiB.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request.timeout', 408, 'Request timeout', 'The request did not arrive in time.');
    default:
      return new ValidationError('request.malformed', 'The request is not valid HTTP/1.1 (request line, headers or framing).');
  }
}

/**
 * The one error middleware: AppErrors and body-parser errors become `application/problem+json`;
 * anything else is a 500 with no internal detail, logged with its stack and the request id the response
 * names. 4xx log at info, 5xx at error.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = asAppError(err);
    const log = requestLogger(req, logger);
    if (problem.status >= 500) log.error({ err, code: problem.code }, 'request failed');
    else log.info({ code: problem.code, status: problem.status }, problem.message);
    if (res.headersSent) return;
    const requestId = res.getHeader('x-request-id');
    sendProblem(res, problem, { instance: req.originalUrl.split('?')[0], ...(requestId === undefined ? {} : { requestId: String(requestId) }) });
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, new NotFoundError('route.not_found', `No route for ${req.method} ${req.path}.`));
};

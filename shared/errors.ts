/**
 * Typed errors that map onto `application/problem+json`. Codes are stable strings callers may branch on;
 * branch on `code`, not `instanceof`, across module boundaries (instanceof breaks across Jest realms).
 * Errors that never reach an HTTP answer (ConfigError, DatabaseUnavailableError, NatsUnavailableError,
 * ForbiddenTargetError, WebhookVerificationError) live beside what throws them but carry a `code` too.
 */
export interface AppErrorOptions extends ErrorOptions {
  /** Extra members merged into the problem document (e.g. `errors` for field-level validation). */
  extensions?: Record<string, unknown>;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly extensions?: Record<string, unknown>;

  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    detail: string,
    options?: AppErrorOptions,
  ) {
    super(detail, options);
    this.extensions = options?.extensions;
  }
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 400, 'Invalid request', detail, options);
  }
}

/** One 400 for every offending field: each as `path: message` in the detail, and as `errors` for programs. */
export function fieldErrors(code: string, errors: { path: string; message: string }[]): ValidationError {
  return new ValidationError(code, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { extensions: { errors } });
}

export class UnauthorizedError extends AppError {
  override name = 'UnauthorizedError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 401, 'Unauthorized', detail, options);
  }
}

export class ForbiddenError extends AppError {
  override name = 'ForbiddenError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 403, 'Forbidden', detail, options);
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 404, 'Not found', detail, options);
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 409, 'Conflict', detail, options);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = 'PayloadTooLargeError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 413, 'Payload too large', detail, options);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override name = 'UnsupportedMediaTypeError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 415, 'Unsupported media type', detail, options);
  }
}

export class TooManyRequestsError extends AppError {
  override name = 'TooManyRequestsError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 429, 'Too many requests', detail, options);
  }
}

export class UnavailableError extends AppError {
  override name = 'UnavailableError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 503, 'Service unavailable', detail, options);
  }
}

/** A failure on our side: answered without internal detail (the request id names it in the logs). */
export class InternalError extends AppError {
  override name = 'InternalError';
  constructor(code: string, detail: string, options?: AppErrorOptions) {
    super(code, 500, 'Internal server error', detail, options);
  }
}

/** True for any AppError, including one thrown from another module realm. */
export function isAppError(err: unknown): err is AppError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as AppError).code === 'string' &&
    typeof (err as AppError).status === 'number' &&
    typeof (err as AppError).title === 'string'
  );
}

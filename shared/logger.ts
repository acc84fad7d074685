import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. Tokens, secrets and authorization headers
 * never reach a log line, even when a whole request or subscription is logged by mistake.
 */
export const REDACT_PATHS = [
  'secret',
  'secrets',
  'token',
  'password',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.password',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.token',
  'req.query.access_token',
  'headers.authorization',
  'res.headers["set-cookie"]',
];

/** The one root logger; components take `logger.child({ component })`. */
export function createLogger(level: string = 'info', options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { service: 'hookline' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}

import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

/**
 * The one root logger; components take `logger.child({ component })`.
 * @param destination where lines go (tests capture them); @default stdout
 */
export function createLogger(level: string = 'info', options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    base: { service: 'hookline' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { traceLogFields, traceLogMerge } from './tracing/spans.js';

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

/** How long a log line may wait in the stdout buffer when too few follow it to fill the buffer. */
const FLUSH_EVERY_MS = 1000;

/**
 * stdout, written in chunks of up to 4 KiB rather than one write(2) per line: at info level every request
 * logs a line, and a write per publish showed in profiles. pino flushes the buffer synchronously when the
 * process exits (also on an uncaught exception); a timer flushes a quiet process's last lines within a
 * second, so an operator never waits for the next burst to see them. Only a SIGKILL can lose the buffer.
 */
function bufferedStdout(): DestinationStream {
  const out = pino.destination({ dest: 1, minLength: 4096, sync: false });
  setInterval(() => out.flush(), FLUSH_EVERY_MS).unref();
  return out;
}

/**
 * The one root logger; components take `logger.child({ component })`.
 * @param destination where lines go (tests capture them); @default stdout, buffered (bufferedStdout)
 */
export function createLogger(level: string = 'info', options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    base: { service: 'hookline' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Lines written while a message is handled carry its trace_id/span_id (nothing while tracing is off).
    mixin: traceLogFields,
    mixinMergeStrategy: traceLogMerge,
    ...options,
  };
  return pino(opts, destination ?? bufferedStdout());
}

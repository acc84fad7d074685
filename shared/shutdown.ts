import type { Logger } from './logger.js';

/** One step of an orderly shutdown. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * Returns an idempotent `close()` that runs the steps in order; a failing step is logged and the next one
 * still runs, so a broken NATS connection never keeps the Postgres pool open.
 */
export function createShutdown(logger: Logger, steps: ShutdownStep[]): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          logger.warn({ err, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    return closing;
  };
}

/** SIGTERM / SIGINT run `close` once, then exit; a second signal exits at once. */
export function exitOnSignals(logger: Logger, close: () => Promise<void>): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

import type { Logger } from './logger.js';

/** Options of a {@link PeriodicTask}. */
export interface PeriodicTaskOptions {
  /** Pause between passes. */
  intervalMs: number;
  /** Logged with the error when a pass fails; the next pass then waits four intervals. */
  failureMessage: string;
  logger: Logger;
}

/**
 * Runs `pass` again and again, one pass at a time, until stopped. A pass that resolves `true` has more
 * work waiting and is followed at once; a failing pass is logged and retried after a longer pause.
 * `stop()` waits for the pass under way, so shutdown never cuts one in half.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<boolean | void>,
    private readonly options: PeriodicTaskOptions,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().then(
        (more) => this.schedule(more === true ? 0 : this.options.intervalMs),
        (err) => {
          this.options.logger.warn({ err }, this.options.failureMessage);
          this.schedule(this.options.intervalMs * 4);
        },
      );
    }, ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }
}

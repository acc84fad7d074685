import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { removeDispatcherProcess, touchDispatcherProcess } from './storage/dispatcher-processes.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import { PeriodicTask } from '../../shared/periodic-task.js';

/** How often a dispatcher says it is alive; DISPATCHER_LOST_AFTER_MS leaves room for a few missed beats. */
const PRESENCE_INTERVAL_MS = 1000;

/**
 * This dispatcher process's row in `dispatcher_processes`, refreshed every second and deleted on a clean
 * stop. Attempts it has sent carry its id: when the row goes stale, they are shown as waiting for
 * takeover, and whoever takes them over records them as interrupted.
 */
export class ProcessPresence {
  readonly id = `${hostname().slice(0, 40)}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly task: PeriodicTask;

  constructor(private readonly deps: { pool: Pool; logger: Logger }) {
    this.task = new PeriodicTask(() => touchDispatcherProcess(deps.pool, this.id), {
      intervalMs: PRESENCE_INTERVAL_MS,
      failureMessage: 'refreshing this dispatcher process row failed',
      logger: deps.logger,
    });
  }

  /** Resolves once the row exists, so no attempt is ever marked by a process others cannot see. */
  async start(): Promise<void> {
    await touchDispatcherProcess(this.deps.pool, this.id);
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    await removeDispatcherProcess(this.deps.pool, this.id).catch((err: unknown) => {
      // Stale within seconds anyway.
      this.deps.logger.warn({ err }, 'removing this dispatcher process row failed');
    });
  }
}

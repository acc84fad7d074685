import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { removeDispatcherProcess, touchDispatcherProcess } from './storage/dispatcher-processes.js';
import type { PoolClient } from 'pg';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import { PeriodicTask } from '../../shared/periodic-task.js';

/** How often a dispatcher says it is alive; DISPATCHER_LOST_AFTER_MS leaves room for a few missed beats. */
const PRESENCE_INTERVAL_MS = 1000;

/**
 * This dispatcher process's row in `dispatcher_processes`, refreshed every second and deleted on a clean
 * stop. Attempts it has sent carry its id: when the row goes stale, they are shown as waiting for
 * takeover, and whoever takes them over records them as interrupted.
 *
 * The refresh runs on a connection of its own, held out of the pool: behind a busy dispatcher's queue of
 * statements it once arrived late enough for another dispatcher to take this one's sends for a stopped
 * process's and send them again.
 */
export class ProcessPresence {
  readonly id = `${hostname().slice(0, 40)}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly task: PeriodicTask;

  constructor(private readonly deps: { pool: Pool; logger: Logger }) {
    this.task = new PeriodicTask(() => this.touch(), {
      intervalMs: PRESENCE_INTERVAL_MS,
      failureMessage: 'refreshing this dispatcher process row failed',
      logger: deps.logger,
    });
  }

  private client: PoolClient | undefined;

  /** Resolves once the row exists, so no attempt is ever marked by a process others cannot see. */
  async start(): Promise<void> {
    await this.touch();
    this.task.start();
  }

  private async touch(): Promise<void> {
    const client = (this.client ??= await this.hold());
    try {
      await touchDispatcherProcess(client, this.id);
    } catch (err) {
      this.drop(client, err as Error);
      throw err;
    }
  }

  private async hold(): Promise<PoolClient> {
    const client = await this.deps.pool.connect();
    // A held connection that drops emits 'error' on its client; unheard, that would end the process.
    client.on('error', (err) => this.drop(client, err));
    return client;
  }

  /** Hands the connection back to the pool to be closed (once); the next refresh takes another. */
  private drop(client: PoolClient, err: Error | true): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(err);
  }

  async stop(): Promise<void> {
    await this.task.stop();
    const held = this.client;
    if (held) this.drop(held, true);
    await removeDispatcherProcess(this.deps.pool, this.id).catch((err: unknown) => {
      // Stale within seconds anyway.
      this.deps.logger.warn({ err }, 'removing this dispatcher process row failed');
    });
  }
}

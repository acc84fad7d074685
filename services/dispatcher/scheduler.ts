import type { JetStreamClient } from 'nats';
import { inTransaction, type Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { Names } from '../../shared/nats/subjects.js';
import { PeriodicTask } from '../../shared/periodic-task.js';
import { publishClaimed } from '../../shared/delivery-job.js';
import { claimDueDeliveries } from './storage/due-deliveries.js';

/** Options of the retry scheduler. */
export interface SchedulerOptions {
  /** How often to look for due deliveries when the last look found few. @default 250 */
  intervalMs?: number;
  /** Deliveries claimed per query. @default 500 */
  batch?: number;
  /**
   * How long a claimed delivery, its job enqueued, is hidden from other schedulers; if the job is lost
   * on its way to a dispatcher, the delivery is claimed again after this. @default 300000
   */
  leaseMs?: number;
}

/**
 * Moves parked deliveries (retry backoff, throttled, resumed) back into the DELIVERIES work queue when
 * their next_attempt_at comes. Runs in every dispatcher replica; SKIP LOCKED keeps them out of each
 * other's way, and a job that turns up twice anyway is skipped by the dispatcher's attempt check.
 */
export class RetryScheduler {
  private readonly task: PeriodicTask;
  private readonly batch: number;
  private readonly leaseMs: number;

  constructor(
    private readonly deps: { pool: Pool; js: JetStreamClient; names: Names; logger: Logger },
    options: SchedulerOptions = {},
  ) {
    this.batch = options.batch ?? 500;
    this.leaseMs = options.leaseMs ?? 300_000;
    this.task = new PeriodicTask(() => this.tick(), {
      intervalMs: options.intervalMs ?? 250,
      failureMessage: 'retry scheduler tick failed',
      logger: deps.logger,
    });
  }

  start(): void {
    this.task.start();
  }

  /** One pass; resolves true when it claimed a full batch (more are probably due). */
  async tick(): Promise<boolean> {
    // The claim commits only once JetStream has stored every job it names.
    return inTransaction(this.deps.pool, async (db) => {
      const due = await claimDueDeliveries(db, this.batch, this.leaseMs);
      await Promise.all(due.map((d) => publishClaimed(this.deps.js, this.deps.names, d)));
      return due.length === this.batch;
    });
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}

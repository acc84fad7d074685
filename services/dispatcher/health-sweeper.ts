import type { Pool } from '../../shared/db/pool.js';
import { pruneStatsRollups } from '../../shared/db/stats.js';
import type { Logger } from '../../shared/logger.js';
import { PeriodicTask } from '../../shared/periodic-task.js';
import { disableAndReport } from './deliver/record-attempt.js';
import type { DispatchMetrics } from './metrics.js';
import type { BreakerPolicy } from './storage/breaker.js';
import { releaseStrandedDeliveries } from './storage/deferrals.js';
import { subscriptionsToDisable } from './storage/disabling.js';
import { startProbes } from './storage/probes.js';

/** Options of the {@link HealthSweeper}. */
export interface HealthSweeperOptions {
  breaker: BreakerPolicy;
  /** A subscription whose endpoint has failed without a break this long is disabled. */
  disableAfterMs: number;
  /** How often to look for due probes and subscriptions to disable. @default 500 */
  intervalMs?: number;
  /** How often to look for deliveries waiting for an event that has passed. @default 10000 */
  repairEveryMs?: number;
}

/**
 * The time-driven half of endpoint health, run by every dispatcher replica (each pass is a few indexed
 * queries; locks keep replicas from doing the same work twice): starts the probes of open breakers whose
 * time has come, disables subscriptions flagged (410 Gone) or failing for longer than `disableAfterMs`,
 * and now and then releases deliveries stranded waiting for an event that has passed and prunes the
 * statistics' per-minute rows older than a week.
 */
export class HealthSweeper {
  private readonly task: PeriodicTask;
  private lastRepair = 0;
  private readonly repairEveryMs: number;

  constructor(
    private readonly deps: { pool: Pool; logger: Logger; metrics?: DispatchMetrics },
    private readonly options: HealthSweeperOptions,
  ) {
    this.repairEveryMs = options.repairEveryMs ?? 10_000;
    this.task = new PeriodicTask(() => this.tick(), {
      intervalMs: options.intervalMs ?? 500,
      failureMessage: 'health sweep failed',
      logger: deps.logger,
    });
  }

  start(): void {
    this.task.start();
  }

  /** One pass. */
  async tick(): Promise<void> {
    const { pool, logger, metrics } = this.deps;
    for (const p of await startProbes(pool, this.options.breaker)) {
      if (p.from === p.to) continue;
      metrics?.circuitTransitions.inc({ to: p.to });
      logger.info(
        { subscriptionId: p.subscriptionId, deliveryId: p.probeDeliveryId, from: p.from, to: p.to },
        p.to === 'half_open' ? 'endpoint circuit half-open: probing' : 'endpoint probe abandoned',
      );
    }
    const disable = await subscriptionsToDisable(pool, this.options.disableAfterMs);
    if (disable.length) await disableAndReport(this.deps, disable);
    if (Date.now() - this.lastRepair >= this.repairEveryMs) {
      this.lastRepair = Date.now();
      const released = await releaseStrandedDeliveries(pool);
      if (released) logger.warn({ released }, 'released deliveries that waited for an event that had passed');
      await pruneStatsRollups(pool);
    }
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}

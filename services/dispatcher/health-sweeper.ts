import { releaseStrandedDeliveries } from '../../shared/db/delivery-gates.js';
import { startProbes, subscriptionsToDisable, type BreakerPolicy } from '../../shared/db/endpoint-health.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import { disableAndReport } from './deliver/record-attempt.js';
import type { DispatchMetrics } from './metrics.js';

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
 * and now and then releases deliveries stranded waiting for an event that has passed.
 */
export class HealthSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastRepair = 0;
  private readonly intervalMs: number;
  private readonly repairEveryMs: number;

  constructor(
    private readonly deps: { pool: Pool; logger: Logger; metrics?: DispatchMetrics },
    private readonly options: HealthSweeperOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.repairEveryMs = options.repairEveryMs ?? 10_000;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => this.schedule(this.intervalMs))
        .catch((err) => {
          this.deps.logger.warn({ err }, 'health sweep failed');
          this.schedule(this.intervalMs * 4);
        });
    }, ms);
    this.timer.unref();
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
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }
}

import { closeLiveStream, closeReplicaStreams, openLiveStream, renewLiveStreams } from '../../../shared/db/live-streams.js';
import type { Pool } from '../../../shared/db/pool.js';
import { findTenantSettings } from '../../../shared/db/tenant-settings.js';
import { isAppError, UnavailableError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import { PeriodicTask } from '../../../shared/periodic-task.js';
import { quotaExceeded } from '../subscriptions/tenant-quotas.js';

/** Options of a {@link StreamQuota}. */
export interface StreamQuotaOptions {
  /** Open streams a tenant may hold when its settings do not say (HOOKLINE_TENANT_MAX_STREAMS). */
  defaultLimit: number;
  /** How long a stream's record outlives its replica's last renewal (a crashed replica's places lapse). @default 60000 */
  leaseMs?: number;
}

/**
 * A tenant's open SSE streams and WebSockets, counted across every api replica in Postgres
 * (`live_streams`): one row per open stream, written when it opens and deleted when it closes, its lease
 * renewed by its replica every third of the lease. Cheap (two statements per stream, one per replica per
 * renewal), and a place held by a replica that died frees itself when its lease lapses.
 */
export class StreamQuota {
  private readonly replica = newId('api');
  private readonly open = new Set<string>();
  private readonly leaseMs: number;
  private readonly renewal: PeriodicTask;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly options: StreamQuotaOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.renewal = new PeriodicTask(() => renewLiveStreams(this.pool, this.replica, [...this.open], this.leaseMs), {
      intervalMs: Math.max(1000, Math.floor(this.leaseMs / 3)),
      failureMessage: 'could not renew the leases of open live streams',
      logger,
    });
    this.renewal.start();
  }

  /**
   * Takes one of `tenant`'s places; resolves to the function that gives it back (idempotent).
   * @throws AppError `quota.exceeded` (429) when the tenant holds its quota; 503 when Postgres is unavailable.
   */
  async acquire(tenant: string): Promise<() => void> {
    const id = newId('live');
    let taken: boolean;
    let limit = this.options.defaultLimit;
    try {
      limit = (await findTenantSettings(this.pool, tenant)).quotas.streams ?? limit;
      taken = await openLiveStream(this.pool, { id, tenant, replica: this.replica, leaseMs: this.leaseMs, limit });
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new UnavailableError('stream.unavailable', 'The stream registry is unavailable; retry.', { cause: err });
    }
    if (!taken) throw quotaExceeded('streams', limit);
    this.open.add(id);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.delete(id);
      closeLiveStream(this.pool, id).catch((err) =>
        // The lease is no longer renewed: the place frees itself when it lapses.
        this.logger.warn({ err }, 'could not release a live stream place'),
      );
    };
  }

  /** Stops renewing and forgets this replica's streams (after they were closed). */
  async close(): Promise<void> {
    await this.renewal.stop();
    this.open.clear();
    await closeReplicaStreams(this.pool, this.replica).catch((err) =>
      this.logger.warn({ err }, 'could not release the live stream places of this replica'),
    );
  }
}

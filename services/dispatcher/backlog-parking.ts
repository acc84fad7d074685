import type { JetStreamClient, JetStreamManager } from 'nats';
import type { Queryable } from '../../shared/db/subscriptions.js';
import type { Logger } from '../../shared/logger.js';
import type { Names } from '../../shared/nats/subjects.js';

/** Why a subscription's whole queued backlog is parked: its breaker is open, or its endpoint is saturated. */
export type BacklogReason = 'circuit' | 'inflight';

/** The latest a delivery parked for a saturated endpoint comes back. */
export const MAX_SPREAD_MS = 600_000;

/** A request to park a subscription's queued backlog. */
export interface BacklogRequest {
  subscriptionId: string;
  reason: BacklogReason;
  /** `inflight`: how far apart the parked deliveries come back (the pace the endpoint takes them at). */
  spacingMs?: number;
}

/** Options of {@link BacklogParking}. */
export interface BacklogParkingOptions {
  /** How soon the same subscription's backlog is parked again, while its jobs keep arriving. @default 1000 */
  everyMs?: number;
}

/**
 * Parks the deliveries of one subscription that are queued in JetStream (first attempts, status pending,
 * no next_attempt_at), in one statement, ordered by stream sequence:
 * - `circuit`: until the breaker closes, or due now if it has closed meanwhile (the breaker row is read
 *   FOR SHARE, as applyCircuitDeferrals does); the breaker's probe is picked among them as among any parked;
 * - `inflight`: the n-th due `n × spacingMs` from now, the pace its endpoint takes them at, all within
 *   MAX_SPREAD_MS (an endpoint that speeds up is not kept waiting for a pace it no longer has).
 * Retries and anything already parked are left alone. A first attempt being sent is parked too: its
 * outcome, newer than any deferral, overrides that; if its sender died, the job that would have found it
 * may be among those purged, and the parked delivery comes back to be put on record as interrupted.
 * @returns how many it parked.
 */
export async function parkQueuedBacklog(db: Queryable, r: BacklogRequest): Promise<number> {
  const { rowCount } = await db.query({
    name: 'park-queued-backlog',
    text: `WITH h AS (
       SELECT state FROM endpoint_health WHERE subscription_id = $1 FOR SHARE
     ),
     q AS (
       SELECT id, row_number() OVER (ORDER BY stream_seq) AS rank FROM deliveries
       WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at IS NULL AND attempt_count = 0
     )
     UPDATE deliveries d SET
       next_attempt_at = CASE
         WHEN $2 = 'inflight' THEN now() + least(q.rank * $3::double precision, $4) * interval '1 millisecond'
         WHEN (SELECT state FROM h) IN ('open', 'half_open') THEN 'infinity'::timestamptz
         ELSE now() END,
       parked_reason = $2, updated_at = now()
     FROM q
     WHERE d.id = q.id AND d.status = 'pending' AND d.next_attempt_at IS NULL AND d.attempt_count = 0`,
    values: [r.subscriptionId, r.reason, r.spacingMs ?? 0, MAX_SPREAD_MS],
  });
  return rowCount ?? 0;
}

/**
 * Moves a failing or saturated subscription's queued backlog out of the DELIVERIES work queue in two
 * operations, instead of one job at a time: the jobs the router enqueued for it are purged from the stream
 * (their subject names the subscription and the router: `Names.deliverySubject`), then every delivery
 * they were for is parked in Postgres (parkQueuedBacklog). A dead
 * endpoint's burst of 50,000 first attempts then stops standing in front of other subscriptions' jobs as
 * soon as its breaker opens, and a slow endpoint's as soon as it is saturated; the retry scheduler brings
 * them back when the breaker closes, or at the pace the slow endpoint takes them.
 *
 * Nothing is lost, whatever interleaves: the router publishes a job only after its delivery row is
 * committed with no next_attempt_at, and nothing else publishes to that subject, so every job the purge
 * removed is for a row the later statement sees and parks, unless it was attempted or parked meanwhile
 * (then its job had been taken already). Jobs of scheduler claims and ordered releases, whose deliveries
 * hold a lease rather than no next_attempt_at, are on another subject and never purged. Jobs
 * published after the purge stay in the stream and are handled as any job: their delivery, parked or not,
 * is loaded, passes its gates and is parked or sent. A job a dispatcher already holds is worked as usual;
 * its attempt, if it makes one, overrides the parked state (attempts are newer than any deferral).
 *
 * Ordered subscriptions are never parked this way: their deliveries wait for their turn one by one.
 */
export class BacklogParking {
  private readonly lastParked = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly everyMs: number;
  private jsm: JetStreamManager | undefined;

  constructor(
    private readonly deps: { js: JetStreamClient; pool: Queryable; names: Names; logger: Logger },
    options: BacklogParkingOptions = {},
  ) {
    this.everyMs = options.everyMs ?? 1000;
  }

  /** Parks the subscription's queued backlog unless that was done less than `everyMs` ago; never throws. */
  request(r: BacklogRequest): void {
    const now = Date.now();
    if (now - (this.lastParked.get(r.subscriptionId) ?? 0) < this.everyMs) return;
    if (this.lastParked.size > 10_000) this.lastParked.clear();
    this.lastParked.set(r.subscriptionId, now);
    const run = this.park(r);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async park(r: BacklogRequest): Promise<void> {
    const { js, pool, names, logger } = this.deps;
    try {
      this.jsm ??= await js.jetstreamManager();
      // First the jobs, then the rows: the other way round, a job published in between would be purged
      // for a delivery left queued.
      const { purged } = await this.jsm.streams.purge(names.deliveriesStream, {
        filter: names.deliverySubject(r.subscriptionId, 'routed'),
      });
      const parked = await parkQueuedBacklog(pool, r);
      if (purged || parked) logger.info({ subscriptionId: r.subscriptionId, reason: r.reason, purged, parked }, 'queued backlog parked');
    } catch (err) {
      // Jobs left in the stream are parked one by one as before; a delivery whose job was purged and that
      // was not parked cannot exist (see above), so a failure here costs time, not deliveries.
      logger.warn({ err, subscriptionId: r.subscriptionId }, 'parking a queued backlog failed');
    }
  }

  /** Waits for parkings under way (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

import type { Queryable } from '../../../shared/db/queryable.js';
import type { ClaimedDelivery } from '../../../shared/delivery-job.js';

/** A parked delivery whose time has come, claimed for re-enqueueing. */
export type DueDelivery = ClaimedDelivery;

/** Maps a row RETURNING id, subscription_id, message_id, stream_seq, attempt_count, next_attempt_at. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toDueDelivery(r: any): DueDelivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    messageId: r.message_id,
    streamSeq: Number(r.stream_seq),
    attemptCount: r.attempt_count,
    claimedUntil: r.next_attempt_at,
  };
}

/**
 * Claims up to `limit` due deliveries by pushing their next_attempt_at a lease ahead. Replicas skip each
 * other's locked rows. Run it in the transaction that enqueues the jobs: if the claimer dies before the
 * jobs are stored, the claim rolls back with it instead of hiding the deliveries for a whole lease.
 */
export async function claimDueDeliveries(pool: Queryable, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  const { rows } = await pool.query(
    `UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
     FROM (
       SELECT id FROM deliveries
       WHERE next_attempt_at <= now() AND status IN ('pending', 'failed')
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
     ) due
     WHERE d.id = due.id
     RETURNING d.id, d.subscription_id, d.message_id, d.stream_seq, d.attempt_count, d.next_attempt_at`,
    [limit, leaseMs],
  );
  return rows.map(toDueDelivery);
}

import type { DeliveryStatus, NewDelivery } from './deliveries.js';
import type { Pool } from './pool.js';

/**
 * Sending deliveries again (retry, replay). Nothing here sends: a delivery is set `pending` with
 * next_attempt_at = now(), and the dispatchers' scheduler enqueues it as attempt attempt_count + 1. The
 * attempt count is kept, so new attempts continue the numbering, their (delivery_id, n) keys never
 * collide with earlier attempts, and the forward-only guard (attempt_count < n) lets them through.
 */

/** The states a delivery can be sent again from: a pending one is already on its way. */
export const RESENDABLE: readonly DeliveryStatus[] = ['failed', 'succeeded', 'dead'];

/**
 * Makes one delivery due now, when it is in one of `from`.
 * @returns false when it is not (already pending, or gone).
 */
export async function resendDelivery(
  pool: Pool,
  tenant: string,
  id: string,
  from: readonly DeliveryStatus[] = RESENDABLE,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), parked_reason = NULL, updated_at = now()
     WHERE id = $1 AND tenant = $2 AND status = ANY($3::text[])`,
    [id, tenant, from],
  );
  return (rowCount ?? 0) > 0;
}

/** Makes many deliveries of one subscription due now, those in one of `from`; returns how many. */
export async function resendDeliveries(
  pool: Pool,
  subscriptionId: string,
  ids: string[],
  from: readonly DeliveryStatus[] = RESENDABLE,
): Promise<number> {
  if (!ids.length) return 0;
  const { rowCount } = await pool.query(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), parked_reason = NULL, updated_at = now()
     WHERE id = ANY($1::text[]) AND subscription_id = $2 AND status = ANY($3::text[])`,
    [ids, subscriptionId, from],
  );
  return rowCount ?? 0;
}

/**
 * Creates deliveries that are due now (the scheduler enqueues them); ones that exist already are left
 * as they are. @returns how many were created.
 */
export async function createDueDeliveries(pool: Pool, deliveries: NewDelivery[]): Promise<number> {
  if (!deliveries.length) return 0;
  const { rowCount } = await pool.query(
    `INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq, next_attempt_at)
     SELECT u.*, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u
     ON CONFLICT DO NOTHING`,
    [
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.messageId),
      deliveries.map((d) => d.subscriptionId),
      deliveries.map((d) => d.tenant),
      deliveries.map((d) => d.streamSeq),
    ],
  );
  return rowCount ?? 0;
}

/** A message in a replay window, with the subscription's delivery of it if there is one. */
export interface ReplayCandidate {
  messageId: string;
  topic: string;
  streamSeq: number;
  deliveryId: string | null;
  deliveryStatus: DeliveryStatus | null;
}

/**
 * The tenant's messages published in [since, until) whose topic matches `topicRegex` (a POSIX regex
 * built from the subscription's pattern), in publish order, each with the subscription's delivery of it;
 * with `status`, only messages whose delivery is in that state. At most `limit` rows.
 */
export async function findReplayCandidates(
  pool: Pool,
  q: {
    tenant: string;
    subscriptionId: string;
    topicRegex: string;
    since: Date;
    until: Date;
    status?: DeliveryStatus;
    limit: number;
  },
): Promise<ReplayCandidate[]> {
  const params: unknown[] = [q.tenant, q.since, q.until, q.topicRegex, q.subscriptionId, q.limit];
  let join = 'LEFT JOIN';
  let where = '';
  if (q.status) {
    join = 'JOIN';
    params.push(q.status);
    where = ` AND d.status = $${params.length}`;
  }
  const { rows } = await pool.query(
    `SELECT m.id, m.topic, m.stream_seq, d.id AS delivery_id, d.status AS delivery_status
     FROM messages m ${join} deliveries d ON d.message_id = m.id AND d.subscription_id = $5
     WHERE m.tenant = $1 AND m.published_at >= $2 AND m.published_at < $3 AND m.topic ~ $4${where}
     ORDER BY m.stream_seq
     LIMIT $6`,
    params,
  );
  return rows.map((r) => ({
    messageId: r.id,
    topic: r.topic,
    streamSeq: Number(r.stream_seq),
    deliveryId: r.delivery_id,
    deliveryStatus: r.delivery_status,
  }));
}

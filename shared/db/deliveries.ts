import { idTimePart } from '../ids.js';
import type { AsyncCommitSession } from './async-commit.js';
import type { Pool } from './pool.js';
import type { MessageRecord } from './messages.js';
import type { Queryable } from './queryable.js';

export const DELIVERY_STATUSES = ['pending', 'failed', 'succeeded', 'dead'] as const;

export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Postgres spells "parked until someone resumes it" as an infinite next_attempt_at. */
export const PARKED_INDEFINITELY = 'infinity';

export interface DeliveryRecord {
  id: string;
  messageId: string;
  subscriptionId: string;
  tenant: string;
  streamSeq: number;
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** null while queued in JetStream or settled; Infinity while parked until resumed. */
  nextAttemptAt: Date | number | null;
  /** Why it is parked (see migrations/0004_endpoint_health.sql); null when never parked. */
  parkedReason?: string | null;
  /**
   * The attempt a dispatcher has sent and not recorded yet, if any; `senderLost` once that dispatcher has
   * stopped showing signs of life (see migrations/0007_interrupted_attempts.sql).
   */
  sending?: { n: number; since: Date; by: string; senderLost: boolean } | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A dispatcher process is taken as dead once it has not refreshed its row for this long (it does every
 * second; see services/dispatcher/process-presence.ts).
 */
export const DISPATCHER_LOST_AFTER_MS = 3000;

/** The in-flight attempt of `d`, and whether its sender is gone; for any SELECT over `deliveries d`. */
export const SENDING_COLUMNS = `d.sending_n, d.sending_since, d.sending_by,
  NOT EXISTS (SELECT 1 FROM dispatcher_processes p WHERE p.id = d.sending_by
    AND p.seen_at > now() - interval '${DISPATCHER_LOST_AFTER_MS} milliseconds') AS sender_lost`;

const DELIVERY_COLUMNS = `d.id, d.message_id, d.subscription_id, d.tenant, d.stream_seq, d.status, d.attempt_count,
  d.last_status_code, d.last_error, d.next_attempt_at, d.parked_reason, d.created_at, d.updated_at, ${SENDING_COLUMNS}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toDelivery(r: any): DeliveryRecord {
  return {
    id: r.id,
    messageId: r.message_id,
    subscriptionId: r.subscription_id,
    tenant: r.tenant,
    streamSeq: Number(r.stream_seq),
    status: r.status,
    attemptCount: r.attempt_count,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
    parkedReason: r.parked_reason ?? null,
    sending:
      r.sending_n !== null && r.sending_n !== undefined && r.sending_n > r.attempt_count
        ? { n: r.sending_n, since: r.sending_since, by: r.sending_by, senderLost: r.sender_lost === true }
        : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** One delivery to create: the router computes ids deterministically so a re-fan is a no-op. */
export interface NewDelivery {
  id: string;
  messageId: string;
  subscriptionId: string;
  tenant: string;
  streamSeq: number;
}

/**
 * Records a batch's messages and deliveries in one statement, provided the subscriptions have not changed
 * since `routedAtVersion` (the version of the index the deliveries were computed from). The check and the
 * writes share one snapshot, so a subscription committed before the statement — any subscription answered
 * with 201 before the message was published — is never missed. Rows that already exist (a message routed
 * again after a router crash) are left as they are.
 * @param inserted when given, receives the ids of the deliveries this statement wrote (not those that existed)
 * @returns undefined once written; otherwise the newer version, and nothing was written: the caller brings
 * its index up to date and routes the batch again.
 */
export async function recordFanOut(
  pool: Pick<AsyncCommitSession, 'query'>,
  messages: MessageRecord[],
  deliveries: NewDelivery[],
  routedAtVersion: number,
  inserted?: Set<string>,
): Promise<number | undefined> {
  const { rows } = await pool.query({
    name: 'record-fan-out',
    text: `WITH v AS (SELECT coalesce(max(version), 0) AS latest FROM subscriptions),
     m AS (
       INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
       SELECT u.* FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) AS u, v
       WHERE v.latest <= $11
       ON CONFLICT DO NOTHING
     ),
     d AS (
       INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq)
       SELECT u.* FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[]) AS u, v
       WHERE v.latest <= $11
       ON CONFLICT DO NOTHING
       RETURNING id
     )
     SELECT latest, CASE WHEN $12::boolean THEN (SELECT array_agg(id) FROM d) END AS inserted FROM v`,
    values: [
      messages.map((m) => m.id),
      messages.map((m) => m.tenant),
      messages.map((m) => m.topic),
      messages.map((m) => m.streamSeq),
      messages.map((m) => m.publishedAt),
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.messageId),
      deliveries.map((d) => d.subscriptionId),
      deliveries.map((d) => d.tenant),
      deliveries.map((d) => d.streamSeq),
      routedAtVersion,
      inserted !== undefined,
    ],
  });
  for (const id of (rows[0].inserted as string[] | null) ?? []) inserted?.add(id);
  const latest = Number(rows[0].latest);
  return latest > routedAtVersion ? latest : undefined;
}

/**
 * Makes every delivery parked for the subscription due now (resume, re-enable): what arrived while it was
 * paused or disabled, and what waited for its endpoint's breaker, which starts afresh (closed) — the
 * operator says the endpoint is back. Deliveries of an ordered subscription waiting for their turn keep
 * waiting: each is released when the one before it settles.
 */
export async function releaseParkedDeliveries(pool: Pool, subscriptionId: string): Promise<number> {
  const { rowCount } = await pool.query(
    `WITH reset AS (
       UPDATE endpoint_health SET state = 'closed', window_start = now(), window_total = 0, window_failed = 0,
         prev_total = 0, prev_failed = 0, failing_since = NULL, opened_count = 0, probe_at = NULL,
         probe_delivery_id = NULL, disable_reason = NULL, updated_at = now()
       WHERE subscription_id = $1
         AND (state <> 'closed' OR failing_since IS NOT NULL OR disable_reason IS NOT NULL)
       RETURNING subscription_id, state
     ),
     summary AS (
       UPDATE subscriptions s SET health = hookline_health_event(s.health, now(), 'resumed', 'closed',
           'the subscription was resumed', jsonb_build_object('failingSince', NULL, 'nextProbeAt', NULL))
       WHERE s.id = $1
         AND (s.health->>'state' IS DISTINCT FROM 'closed' OR s.health->'history'->0->>'event' = 'disabled')
     )
     UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
     WHERE subscription_id = $1 AND status IN ('pending', 'failed') AND next_attempt_at = 'infinity'
       AND parked_reason IS DISTINCT FROM 'order'`,
    [subscriptionId],
  );
  return rowCount ?? 0;
}

/**
 * The deliveries a message still owes: those of deleted subscriptions are left out, since nothing will be
 * sent for them and they would keep the message from ever settling.
 */
/** A message's deliveries to live subscriptions; only those of subscriptions `owner` owns, when given. */
export async function deliveriesOfMessage(pool: Pool, messageId: string, owner?: string): Promise<DeliveryRecord[]> {
  const { rows } = await pool.query(
    `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
     WHERE d.message_id = $1 AND s.deleted_at IS NULL AND ($2::text IS NULL OR s.owner = $2)
       AND d.id >= $3 AND d.id < $4
     ORDER BY d.created_at, d.id`,
    // Every delivery id of the message starts with its time: only that partition is searched.
    [messageId, owner ?? null, `dlv_${idTimePart(messageId)}`, `dlv_${idTimePart(messageId)}~`],
  );
  return rows.map(toDelivery);
}

export async function listDeliveries(
  pool: Pool,
  q: { subscriptionId: string; status?: DeliveryStatus; after?: { createdAt: string; id: string }; limit: number },
): Promise<DeliveryRecord[]> {
  const params: unknown[] = [q.subscriptionId, q.limit];
  let where = 'd.subscription_id = $1';
  if (q.status) {
    params.push(q.status);
    where += ` AND d.status = $${params.length}`;
  }
  if (q.after) {
    params.push(q.after.createdAt, q.after.id);
    // Millisecond precision, as the cursor has it (see listSubscriptions).
    where += ` AND (d.created_at, d.id) > ($${params.length - 1}::timestamptz, $${params.length})`;
  }
  const { rows } = await pool.query(
    `SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE ${where} ORDER BY d.created_at, d.id LIMIT $2`,
    params,
  );
  return rows.map(toDelivery);
}

export async function findDelivery(pool: Pool, tenant: string, id: string): Promise<DeliveryRecord | undefined> {
  const { rows } = await pool.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = $1 AND d.tenant = $2`, [
    id,
    tenant,
  ]);
  return rows[0] ? toDelivery(rows[0]) : undefined;
}


// The attempts table has its own module; re-exported for callers that read a delivery with its attempts.
export { attemptsOf, type AttemptRecord, type AttemptResult } from './attempts.js';

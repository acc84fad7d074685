import type { Pool } from './pool.js';

/**
 * The delivery log of poll subscriptions. JetStream holds the truth (the consumer's cursor and pending
 * set); these rows make a poll delivery visible the way a webhook delivery is: under its message
 * (`GET /v1/messages/:id`) and its subscription (`…/deliveries?status=`).
 *
 *   handed out (attempt 1)  → pending        acked  → succeeded
 *   handed out (attempt n)  → failed         nacked → failed
 *   fetched past maxAttempts → dead
 */
export type PollDeliveryState = 'pending' | 'failed' | 'succeeded' | 'dead';

/** One state change of one poll delivery. */
export interface PollDeliveryChange {
  deliveryId: string;
  messageId: string;
  subscriptionId: string;
  tenant: string;
  streamSeq: number;
  status: PollDeliveryState;
  /** The JetStream delivery count this change is about. */
  attempt: number;
  lastError?: string | null;
  /** Known when the change comes from a fetched message: lets the `messages` row be written if missing. */
  message?: { topic: string; publishedAt: Date };
}

const RANK: Record<PollDeliveryState, number> = { pending: 0, failed: 1, succeeded: 2, dead: 2 };

/** One change per delivery (a multi-row upsert may touch a row once): the furthest-along state wins. */
function collapse(changes: PollDeliveryChange[]): PollDeliveryChange[] {
  const byId = new Map<string, PollDeliveryChange>();
  for (const c of changes) {
    const prev = byId.get(c.deliveryId);
    if (!prev || RANK[c.status] > RANK[prev.status] || (RANK[c.status] === RANK[prev.status] && c.attempt > prev.attempt)) {
      byId.set(c.deliveryId, { ...c, message: c.message ?? prev?.message });
    }
  }
  return [...byId.values()];
}

/**
 * Applies poll delivery changes in one statement. State only moves forward: a settled row (succeeded,
 * dead) never changes again, and an older attempt never overwrites a newer one, so concurrent pollers
 * and api replicas may report in any order.
 */
export async function recordPollDeliveries(pool: Pool, changes: PollDeliveryChange[]): Promise<void> {
  const rows = collapse(changes);
  if (!rows.length) return;
  const withMessage = rows.filter((r) => r.message);
  await pool.query(
    `WITH m AS (
       INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
       SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::bigint[], $13::timestamptz[])
       ON CONFLICT DO NOTHING
     )
     INSERT INTO deliveries AS d (id, message_id, subscription_id, tenant, stream_seq, status, attempt_count, last_error)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[], $8::text[])
     ON CONFLICT (id) DO UPDATE SET
       status = excluded.status,
       attempt_count = greatest(d.attempt_count, excluded.attempt_count),
       last_error = coalesce(excluded.last_error, d.last_error),
       updated_at = now()
     WHERE d.status IN ('pending', 'failed') AND (
       excluded.status IN ('succeeded', 'dead')
       OR d.attempt_count < excluded.attempt_count
       OR (d.status = 'pending' AND excluded.status = 'failed'))`,
    [
      rows.map((r) => r.deliveryId),
      rows.map((r) => r.messageId),
      rows.map((r) => r.subscriptionId),
      rows.map((r) => r.tenant),
      rows.map((r) => r.streamSeq),
      rows.map((r) => r.status),
      rows.map((r) => r.attempt),
      rows.map((r) => r.lastError ?? null),
      withMessage.map((r) => r.messageId),
      withMessage.map((r) => r.tenant),
      withMessage.map((r) => r.message!.topic),
      withMessage.map((r) => r.streamSeq),
      withMessage.map((r) => r.message!.publishedAt),
    ],
  );
}

/** A live poll subscription as the message view needs it. */
export interface LivePollSubscription {
  id: string;
  topic: string;
  /** The last stream sequence before its consumer existed: it is owed every matching message after it. */
  startSeq: number;
  createdAt: Date;
}

/** The tenant's live poll subscriptions whose consumers started before `streamSeq`. */
export async function pollSubscriptionsBefore(
  pool: Pool,
  tenant: string,
  streamSeq: number,
  owner?: string,
): Promise<LivePollSubscription[]> {
  const { rows } = await pool.query(
    `SELECT id, topic, (options->>'startSeq')::bigint AS start_seq, created_at FROM subscriptions
     WHERE tenant = $1 AND type = 'poll' AND deleted_at IS NULL AND (options->>'startSeq')::bigint < $2
       AND ($3::text IS NULL OR owner = $3)`,
    [tenant, streamSeq, owner ?? null],
  );
  return rows.map((r) => ({ id: r.id, topic: r.topic, startSeq: Number(r.start_seq), createdAt: r.created_at }));
}

/** True while the subscription exists and is not deleted (read inside the subscription write lock). */
export async function isLiveSubscription(db: Pick<Pool, 'query'>, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM subscriptions WHERE id = $1 AND deleted_at IS NULL', [id]);
  return (rowCount ?? 0) > 0;
}

/** What a poller reports about one handed-out message it passed on (e.g. `hookline listen` forwarding it). */
export interface PollAttemptReport {
  deliveryId: string;
  /** The JetStream delivery count of the hand-out: the attempt number. */
  n: number;
  startedAt: Date;
  durationMs: number;
  statusCode?: number | null;
  error?: string | null;
  responseExcerpt?: string | null;
}

/**
 * Appends reported attempts to the attempt log, as the dispatcher does for webhooks, so a poll delivery
 * shows its attempts under `GET /v1/deliveries/:id`. Keyed `(delivery_id, n)`: a repeated report is a no-op.
 * Call after {@link recordPollDeliveries} has written the delivery rows.
 */
export async function recordPollAttempts(pool: Pool, reports: PollAttemptReport[]): Promise<void> {
  if (!reports.length) return;
  await pool.query(
    `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt)
     SELECT r.* FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[])
       AS r(delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt)
     WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.delivery_id)
     ON CONFLICT DO NOTHING`,
    [
      reports.map((r) => r.deliveryId),
      reports.map((r) => r.n),
      reports.map((r) => r.startedAt),
      reports.map((r) => r.durationMs),
      reports.map((r) => r.statusCode ?? null),
      reports.map((r) => r.error ?? null),
      reports.map((r) => r.responseExcerpt ?? null),
    ],
  );
}

import { idTimePart } from '../ids.js';
import type { Pool } from './pool.js';
import type { MessageRecord } from './messages.js';
import { toSubscription, type Queryable, type SubscriptionRecord } from './subscriptions.js';

export type DeliveryStatus = 'pending' | 'failed' | 'succeeded' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'failed', 'succeeded', 'dead'];

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

/** What came of an attempt; `interrupted`: its process stopped before recording it, the result is unknown. */
export type AttemptResult = 'succeeded' | 'failed' | 'interrupted';

export interface AttemptRecord {
  n: number;
  outcome: AttemptResult;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
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
 * @returns undefined once written; otherwise the newer version, and nothing was written: the caller brings
 * its index up to date and routes the batch again.
 */
export async function recordFanOut(
  pool: Queryable,
  messages: MessageRecord[],
  deliveries: NewDelivery[],
  routedAtVersion: number,
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
     )
     SELECT latest FROM v`,
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
    ],
  });
  const latest = Number(rows[0].latest);
  return latest > routedAtVersion ? latest : undefined;
}

/** A delivery with its subscription as it is now: what a dispatcher needs to decide and send. */
export interface DeliveryWork {
  delivery: DeliveryRecord;
  subscription: SubscriptionRecord;
}

/** Loads many deliveries with their current subscriptions in one query; missing ids are absent. */
export async function loadDeliveryWork(pool: Pool, ids: string[]): Promise<Map<string, DeliveryWork>> {
  const { rows } = await pool.query(
    `SELECT ${DELIVERY_COLUMNS}, s.id AS s_id, s.tenant AS s_tenant, s.owner, s.type, s.topic, s.url, s.secret,
       s.previous_secret, s.previous_secret_expires_at, s.status AS s_status, s.disabled_reason, s.retry, s.timeout_ms,
       s.ordered, s.filter, s.description, s.options, s.created_at AS s_created_at, s.updated_at AS s_updated_at,
       s.deleted_at, s.version
     FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
     WHERE d.id = ANY($1::text[])`,
    [ids],
  );
  const out = new Map<string, DeliveryWork>();
  for (const r of rows) {
    out.set(r.id, {
      delivery: toDelivery(r),
      subscription: toSubscription({
        ...r,
        id: r.s_id,
        tenant: r.s_tenant,
        status: r.s_status,
        created_at: r.s_created_at,
        updated_at: r.s_updated_at,
      }),
    });
  }
  return out;
}

/** The result of one attempt, with the state it moves its delivery to. */
export interface AttemptOutcome {
  deliveryId: string;
  n: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
  outcome: AttemptResult;
  /** The delivery's state after it: `pending` after an interrupted attempt, whose result is unknown. */
  status: 'succeeded' | 'failed' | 'dead' | 'pending';
  nextAttemptAt: Date | typeof PARKED_INDEFINITELY | null;
}

/** Puts a delivery back in Postgres without spending an attempt (paused, endpoint over its share). */
export interface Deferral {
  deliveryId: string;
  /** The attempt the deferred job was for: a deferral never overrides a newer attempt's state. */
  n: number;
  nextAttemptAt: Date | typeof PARKED_INDEFINITELY;
  /** Why it waits (deliveries.parked_reason: paused, rate, inflight, routing, …). */
  reason?: string;
}

/**
 * Appends attempts and moves their deliveries forward in one statement. Both writes are idempotent: an
 * attempt already on record is not inserted twice, and a delivery only takes the state of an attempt
 * newer than the one it holds, so a redelivered job never rewinds it.
 */
export async function applyOutcomes(pool: Queryable, outcomes: AttemptOutcome[]): Promise<void> {
  if (!outcomes.length) return;
  await pool.query({
    name: 'apply-outcomes',
    text: `WITH a AS (
       INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt, outcome)
       SELECT u.* FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[],
           $10::text[])
         AS u(delivery_id, n, started_at, duration_ms, status_code, error, response_excerpt, outcome)
       JOIN deliveries d ON d.id = u.delivery_id
       ON CONFLICT DO NOTHING
     )
     UPDATE deliveries d SET status = v.status, attempt_count = v.n, last_status_code = v.status_code,
       last_error = v.error, next_attempt_at = v.next_attempt_at,
       parked_reason = CASE WHEN v.next_attempt_at IS NOT NULL THEN 'retry' END,
       sending_n = NULL, sending_since = NULL, sending_by = NULL, updated_at = now()
     FROM unnest($1::text[], $2::int[], $8::text[], $5::int[], $6::text[], $9::timestamptz[])
       AS v(id, n, status, status_code, error, next_attempt_at)
     WHERE d.id = v.id AND d.attempt_count < v.n`,
    values: [
      outcomes.map((o) => o.deliveryId),
      outcomes.map((o) => o.n),
      outcomes.map((o) => o.startedAt),
      outcomes.map((o) => Math.round(o.durationMs)),
      outcomes.map((o) => o.statusCode),
      outcomes.map((o) => o.error),
      outcomes.map((o) => o.responseExcerpt),
      outcomes.map((o) => o.status),
      outcomes.map((o) => o.nextAttemptAt),
      outcomes.map((o) => o.outcome),
    ],
  });
}

export async function applyDeferrals(pool: Queryable, deferrals: Deferral[]): Promise<void> {
  if (!deferrals.length) return;
  await pool.query(
    `UPDATE deliveries d SET next_attempt_at = v.next_attempt_at, parked_reason = v.reason, updated_at = now()
     FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[]) AS v(id, n, next_attempt_at, reason)
     WHERE d.id = v.id AND d.attempt_count < v.n AND d.status IN ('pending', 'failed')`,
    [
      deferrals.map((d) => d.deliveryId),
      deferrals.map((d) => d.n),
      deferrals.map((d) => d.nextAttemptAt),
      deferrals.map((d) => d.reason ?? null),
    ],
  );
}

/** A parked delivery whose time has come, claimed for re-enqueueing. */
export interface DueDelivery {
  id: string;
  subscriptionId: string;
  messageId: string;
  streamSeq: number;
  attemptCount: number;
  /** When this claim's lease ends: unique per claim, so it tells one enqueue of an attempt from another. */
  claimedUntil: Date;
}

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

export async function attemptsOf(pool: Pool, deliveryId: string): Promise<AttemptRecord[]> {
  const { rows } = await pool.query(
    `SELECT n, started_at, duration_ms, status_code, error, response_excerpt,
       coalesce(outcome, CASE WHEN status_code BETWEEN 200 AND 299 THEN 'succeeded' ELSE 'failed' END) AS outcome
     FROM attempts WHERE delivery_id = $1 ORDER BY n`,
    [deliveryId],
  );
  return rows.map((r) => ({
    n: r.n,
    outcome: r.outcome,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
    responseExcerpt: r.response_excerpt,
  }));
}

import type { Pool } from './pool.js';
import { SENDING_COLUMNS, toDelivery, toDueDelivery, type DeliveryRecord, type DueDelivery } from './deliveries.js';
import type { HealthSnapshot } from './endpoint-health.js';
import { toSubscription, type Queryable, type SubscriptionRecord } from './subscriptions.js';

/**
 * Why a parked delivery waits (`deliveries.parked_reason`); each event releases the reasons it concerns.
 * See migrations/0004_endpoint_health.sql.
 */
export type ParkReason = 'retry' | 'paused' | 'circuit' | 'order' | 'routing' | 'rate' | 'inflight';
export const PARK_REASONS: readonly ParkReason[] = ['retry', 'paused', 'circuit', 'order', 'routing', 'rate', 'inflight'];

/** A delivery with what the dispatcher decides on: its subscription, its endpoint's breaker and its order. */
export interface DispatchWork {
  delivery: DeliveryRecord;
  subscription: SubscriptionRecord;
  /** The breaker; closed when the subscription has no row yet. */
  health: HealthSnapshot;
  /** Ordered subscriptions: the stream sequence of the oldest delivery not yet settled (the head). */
  headSeq: number | null;
}

const D = ['id', 'message_id', 'subscription_id', 'tenant', 'stream_seq', 'status', 'attempt_count',
  'last_status_code', 'last_error', 'next_attempt_at', 'parked_reason', 'created_at', 'updated_at'];

/**
 * Subscriptions by id as last read, so a steady stream of jobs for the same subscriptions does not read
 * their rows (secrets, retry policy, health history) again for every batch. Every write to a subscription
 * raises its version, and the batch query reads each delivery's current version beside it: an entry is used
 * only while its version is the current one (or newer), so the cache can be stale for no delivery.
 */
export class SubscriptionCache {
  private readonly byId = new Map<string, SubscriptionRecord>();

  constructor(private readonly capacity = 10_000) {}

  /** The cached subscription if it is at `version` or newer. */
  atLeast(id: string, version: number): SubscriptionRecord | undefined {
    const s = this.byId.get(id);
    return s && s.version >= version ? s : undefined;
  }

  set(s: SubscriptionRecord): void {
    // A crude bound: dropping everything costs one read per subscription, never a wrong answer.
    if (this.byId.size >= this.capacity && !this.byId.has(s.id)) this.byId.clear();
    this.byId.set(s.id, s);
  }
}

/**
 * Loads many deliveries with their current subscription, breaker and (for ordered subscriptions) head;
 * missing ids are absent. Subscriptions are read once per batch at most, and not at all while `cache` holds
 * them at their current version: a batch of 500 jobs for ten subscriptions moves at most ten subscription
 * rows, not 500, and a steady stream moves none.
 */
export async function loadDispatchWork(
  pool: Queryable,
  ids: string[],
  cache: SubscriptionCache = new SubscriptionCache(),
): Promise<Map<string, DispatchWork>> {
  const { rows } = await pool.query({
    // Named: prepared once per connection, parsed and planned once, not for every batch.
    name: 'load-dispatch-work',
    text: `SELECT ${D.map((c) => `d.${c}`).join(', ')}, ${SENDING_COLUMNS}, s.version AS s_version,
       h.state AS h_state, h.probe_delivery_id AS h_probe_delivery_id, h.probe_at AS h_probe_at,
       CASE WHEN s.ordered THEN (
         SELECT min(o.stream_seq) FROM deliveries o
         WHERE o.subscription_id = d.subscription_id AND o.status IN ('pending', 'failed')
       ) END AS head_seq
     FROM deliveries d
     JOIN subscriptions s ON s.id = d.subscription_id
     LEFT JOIN endpoint_health h ON h.subscription_id = d.subscription_id
     WHERE d.id = ANY ($1::text[])`,
    values: [ids],
  });
  const out = new Map<string, DispatchWork>();
  if (!rows.length) return out;
  const missing = new Set<string>();
  for (const r of rows) if (!cache.atLeast(r.subscription_id, Number(r.s_version))) missing.add(r.subscription_id);
  if (missing.size) {
    const subs = await pool.query({
      name: 'load-dispatch-subscriptions',
      text: `SELECT * FROM subscriptions WHERE id = ANY ($1::text[])`,
      values: [[...missing]],
    });
    for (const row of subs.rows) cache.set(toSubscription(row));
  }
  for (const r of rows) {
    // Read after the batch query, a newer version than it saw is just as current for this attempt.
    const subscription = cache.atLeast(r.subscription_id, Number(r.s_version));
    if (!subscription) continue;
    out.set(r.id, {
      delivery: toDelivery(r),
      subscription,
      health: {
        state: r.h_state ?? 'closed',
        probeDeliveryId: r.h_probe_delivery_id ?? null,
        probeAt: r.h_probe_at ?? null,
      },
      headSeq: r.head_seq === null || r.head_seq === undefined ? null : Number(r.head_seq),
    });
  }
  return out;
}

/** A delivery to park until an event, unless that event has happened since the dispatcher looked. */
export interface ConditionalDeferral {
  deliveryId: string;
  /** The attempt the job was for: a newer attempt's state is never overridden. */
  n: number;
}

/**
 * Parks deliveries of ordered subscriptions until every older delivery of theirs is settled — or, if that
 * has happened since the dispatcher looked, makes them due at once. Run it under the subscriptions'
 * advisory locks (lockSubscriptions), like releaseOrderedHeads after a head settles: then one of the two
 * always sees the other's effect, and no delivery waits for a turn that has already come.
 */
export async function applyOrderDeferrals(db: Queryable, deferrals: ConditionalDeferral[]): Promise<void> {
  if (!deferrals.length) return;
  await db.query(
    `UPDATE deliveries d SET
       next_attempt_at = CASE WHEN EXISTS (
           SELECT 1 FROM deliveries o
           WHERE o.subscription_id = d.subscription_id AND o.status IN ('pending', 'failed')
             AND o.stream_seq < d.stream_seq)
         THEN 'infinity'::timestamptz ELSE now() END,
       parked_reason = 'order', updated_at = now()
     FROM unnest($1::text[], $2::int[]) AS v(id, n)
     WHERE d.id = v.id AND d.attempt_count < v.n AND d.status IN ('pending', 'failed')`,
    [deferrals.map((d) => d.deliveryId), deferrals.map((d) => d.n)],
  );
}

/**
 * Parks deliveries until their endpoint's breaker closes — or makes them due at once if it is closed. The
 * breaker rows are read FOR SHARE: a closing that is being written is waited for and seen, and a closing
 * that comes after waits for this statement, and its release (releaseCircuitParked, a later statement)
 * sees what this one parked. One statement, no transaction: the hot path of a dead endpoint's backlog.
 */
export async function applyCircuitDeferrals(db: Queryable, deferrals: ConditionalDeferral[]): Promise<void> {
  if (!deferrals.length) return;
  await db.query(
    `WITH v AS (SELECT * FROM unnest($1::text[], $2::int[]) AS v(id, n)),
     h AS (
       SELECT h.subscription_id, h.state FROM endpoint_health h
       WHERE h.subscription_id IN (SELECT d.subscription_id FROM deliveries d JOIN v ON v.id = d.id)
       ORDER BY h.subscription_id
       FOR SHARE
     )
     UPDATE deliveries d SET
       next_attempt_at = CASE WHEN (SELECT h.state FROM h WHERE h.subscription_id = d.subscription_id) IN ('open', 'half_open')
         THEN 'infinity'::timestamptz ELSE now() END,
       parked_reason = 'circuit', updated_at = now()
     FROM v
     WHERE d.id = v.id AND d.attempt_count < v.n AND d.status IN ('pending', 'failed')`,
    [deferrals.map((d) => d.deliveryId), deferrals.map((d) => d.n)],
  );
}

/**
 * Makes due every delivery parked for the breakers of these subscriptions, which have just closed. Run it
 * as a statement after the one that closed them (see applyCircuitDeferrals).
 * @returns how many it released.
 */
export async function releaseCircuitParked(db: Queryable, subscriptionIds: string[]): Promise<number> {
  if (!subscriptionIds.length) return 0;
  const { rowCount } = await db.query(
    `UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
     WHERE subscription_id = ANY ($1::text[]) AND next_attempt_at = 'infinity' AND parked_reason = 'circuit'
       AND status IN ('pending', 'failed')`,
    [subscriptionIds],
  );
  return rowCount ?? 0;
}

/**
 * After deliveries of ordered subscriptions settled: claims each subscription's new head if it is parked
 * waiting for its turn, leased like a scheduler claim, so the caller enqueues it at once (were the caller
 * to die first, the lease runs out and the scheduler enqueues it). Run under the subscriptions' locks.
 */
export async function releaseOrderedHeads(db: Queryable, subscriptionIds: string[], leaseMs: number): Promise<DueDelivery[]> {
  if (!subscriptionIds.length) return [];
  const { rows } = await db.query(
    `WITH s AS (SELECT DISTINCT unnest($1::text[]) AS id),
     head AS (
       SELECT x.id FROM s CROSS JOIN LATERAL (
         SELECT d.id, d.next_attempt_at, d.parked_reason FROM deliveries d
         WHERE d.subscription_id = s.id AND d.status IN ('pending', 'failed')
         ORDER BY d.stream_seq LIMIT 1
       ) x
       WHERE x.next_attempt_at = 'infinity' AND x.parked_reason = 'order'
     )
     UPDATE deliveries d SET next_attempt_at = now() + $2 * interval '1 millisecond', updated_at = now()
     FROM head WHERE d.id = head.id
     RETURNING d.id, d.subscription_id, d.message_id, d.stream_seq, d.attempt_count, d.next_attempt_at`,
    [subscriptionIds, leaseMs],
  );
  return rows.map(toDueDelivery);
}

/**
 * A safety net run now and then by the sweeper: makes due any delivery still waiting for an event that has
 * passed — an ordered head parked for its turn, or a delivery parked for a breaker that is closed.
 * @returns how many it released.
 */
export async function releaseStrandedDeliveries(pool: Pool, limit = 1000): Promise<number> {
  const { rowCount } = await pool.query(
    `WITH heads AS (
       SELECT x.id FROM subscriptions s CROSS JOIN LATERAL (
         SELECT d.id, d.next_attempt_at, d.parked_reason FROM deliveries d
         WHERE d.subscription_id = s.id AND d.status IN ('pending', 'failed')
         ORDER BY d.stream_seq LIMIT 1
       ) x
       WHERE s.ordered AND s.status = 'active' AND s.deleted_at IS NULL
         AND x.next_attempt_at = 'infinity' AND x.parked_reason = 'order'
     ),
     circuit AS (
       SELECT d.id FROM endpoint_health h
       JOIN deliveries d ON d.subscription_id = h.subscription_id AND d.parked_reason = 'circuit'
         AND d.next_attempt_at = 'infinity' AND d.status IN ('pending', 'failed')
       WHERE h.state = 'closed'
       LIMIT $1
     )
     UPDATE deliveries d SET next_attempt_at = now(), updated_at = now()
     WHERE d.id IN (SELECT id FROM heads UNION ALL SELECT id FROM circuit)`,
    [limit],
  );
  return rowCount ?? 0;
}

/** Deliveries parked in Postgres, by reason (the /metrics gauge). */
export async function parkedCounts(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query(
    `SELECT coalesce(parked_reason, 'unknown') AS reason, count(*)::int AS n FROM deliveries
     WHERE next_attempt_at IS NOT NULL AND status IN ('pending', 'failed')
     GROUP BY 1`,
  );
  const out: Record<string, number> = {};
  for (const r of rows) out[r.reason] = r.n;
  return out;
}

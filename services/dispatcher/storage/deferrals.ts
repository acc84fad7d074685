import type { PARKED_INDEFINITELY } from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import type { Queryable } from '../../../shared/db/queryable.js';
import { toDueDelivery, type DueDelivery } from './due-deliveries.js';

/**
 * Why a parked delivery waits (`deliveries.parked_reason`); each event releases the reasons it concerns.
 * See migrations/0004_endpoint_health.sql.
 */
export type ParkReason = 'retry' | 'paused' | 'circuit' | 'order' | 'routing' | 'rate' | 'inflight';

export const PARK_REASONS: readonly ParkReason[] = ['retry', 'paused', 'circuit', 'order', 'routing', 'rate', 'inflight'];

/** Puts a delivery back in Postgres without spending an attempt (paused, endpoint over its share). */
export interface Deferral {
  deliveryId: string;
  /** The attempt the deferred job was for: a deferral never overrides a newer attempt's state. */
  n: number;
  nextAttemptAt: Date | typeof PARKED_INDEFINITELY;
  /** Why it waits (deliveries.parked_reason: paused, rate, inflight, routing, …). */
  reason?: string;
}

/** Parks deliveries until a time (or indefinitely), unless a newer attempt has moved them on. */
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

import type { BreakerState } from '../../../shared/db/endpoint-health.js';
import { inTransaction, type Pool } from '../../../shared/db/pool.js';
import type { BreakerPolicy } from './breaker.js';
import { lockSubscriptions } from './subscription-locks.js';

/** A probe the sweeper started (or gave up waiting for). */
export interface ProbeStart {
  subscriptionId: string;
  from: BreakerState;
  to: BreakerState;
  probeDeliveryId: string | null;
}

/**
 * Moves open breakers whose probe time has come to half-open, each with one probe delivery: the oldest
 * parked delivery of the subscription (for an ordered one, its head), which is made due now. A half-open
 * breaker whose probe did not settle within probeTimeoutMs gets another one (or goes back to open when none
 * waits). Only active subscriptions probe.
 */
export async function startProbes(pool: Pool, policy: BreakerPolicy, now?: Date, limit = 100): Promise<ProbeStart[]> {
  const { rows: due } = await pool.query(
    `SELECT h.subscription_id FROM endpoint_health h JOIN subscriptions s ON s.id = h.subscription_id
     WHERE h.state <> 'closed' AND h.probe_at <= coalesce($1::timestamptz, now())
       AND s.status = 'active' AND s.deleted_at IS NULL
       AND (h.state = 'half_open' OR EXISTS (
         SELECT 1 FROM deliveries d WHERE d.subscription_id = h.subscription_id
           AND d.status IN ('pending', 'failed') AND d.next_attempt_at IS NOT NULL))
     ORDER BY h.probe_at LIMIT $2`,
    [now ?? null, limit],
  );
  if (!due.length) return [];
  const ids: string[] = due.map((r) => r.subscription_id);
  return inTransaction(pool, async (db) => {
    await lockSubscriptions(db, ids);
    const { rows } = await db.query(
      `WITH t AS (SELECT coalesce($2::timestamptz, now()) AS now),
       due AS (
         SELECT h.subscription_id, h.state, s.ordered FROM endpoint_health h
         JOIN subscriptions s ON s.id = h.subscription_id CROSS JOIN t
         WHERE h.subscription_id = ANY ($1::text[]) AND h.state <> 'closed' AND h.probe_at <= t.now
           AND s.status = 'active' AND s.deleted_at IS NULL
         ORDER BY h.subscription_id
         FOR UPDATE OF h
       ),
       pick AS (
         SELECT due.subscription_id, due.state, c.id AS delivery_id
         FROM due LEFT JOIN LATERAL (
           SELECT d.id FROM deliveries d
           WHERE d.subscription_id = due.subscription_id AND d.status IN ('pending', 'failed')
             AND (due.ordered OR d.next_attempt_at IS NOT NULL)
           ORDER BY d.stream_seq LIMIT 1
         ) c ON true
         WHERE c.id IS NOT NULL OR due.state = 'half_open'
       ),
       upd AS (
         UPDATE endpoint_health h SET
           state = CASE WHEN pick.delivery_id IS NULL THEN 'open' ELSE 'half_open' END,
           probe_delivery_id = pick.delivery_id,
           probe_at = CASE WHEN pick.delivery_id IS NULL THEN h.probe_at
                           ELSE t.now + $3 * interval '1 millisecond' END,
           updated_at = now()
         FROM pick CROSS JOIN t
         WHERE h.subscription_id = pick.subscription_id
         RETURNING h.subscription_id, pick.state AS old_state, h.state AS new_state, h.probe_delivery_id, t.now
       ),
       released AS (
         UPDATE deliveries d SET next_attempt_at = now(), updated_at = now()
         FROM upd
         WHERE d.id = upd.probe_delivery_id AND d.next_attempt_at IS NOT NULL AND d.status IN ('pending', 'failed')
       ),
       summary AS (
         UPDATE subscriptions s SET health = hookline_health_event(s.health, upd.now,
             CASE WHEN upd.new_state = 'half_open' THEN 'probing' ELSE 'probe_abandoned' END, upd.new_state,
             CASE WHEN upd.new_state = 'half_open' THEN 'probing with delivery ' || upd.probe_delivery_id
                  ELSE 'the probe did not settle in time' END,
             jsonb_build_object('nextProbeAt', NULL))
         FROM upd
         WHERE s.id = upd.subscription_id AND upd.old_state <> upd.new_state
       )
       SELECT subscription_id, old_state, new_state, probe_delivery_id FROM upd`,
      [ids, now ?? null, policy.probeTimeoutMs],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id,
      from: r.old_state,
      to: r.new_state,
      probeDeliveryId: r.probe_delivery_id,
    }));
  });
}

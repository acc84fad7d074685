import type { BreakerState } from '../../../shared/db/endpoint-health.js';
import type { Queryable } from '../../../shared/db/queryable.js';

/**
 * Endpoint health: one circuit breaker per webhook subscription, shared by every dispatcher replica through
 * the `endpoint_health` table. Every transition happens inside one SQL statement that reads and writes the
 * row under its lock; application code never reads a state and writes a decision back.
 *
 *   closed ──(≥ failureRatio of ≥ minAttempts attempts in the window failed)──▶ open
 *   open ──(probe time came and a delivery is waiting)──▶ half_open (that delivery is the one probe)
 *   half_open ──(probe delivered)──▶ closed: deliveries parked for the breaker are released
 *   half_open ──(probe failed)──▶ open again, waiting twice as long (up to maxOpenMs)
 *   half_open ──(probe not settled within probeTimeoutMs)──▶ another probe is picked
 */

/** When a breaker opens and how long it stays open. */
export interface BreakerPolicy {
  /** Length of the sliding window of attempts that decides opening. @default 60000 */
  windowMs: number;
  /** Attempts the window must hold before it can open the breaker. @default 10 */
  minAttempts: number;
  /** Share of failed attempts in the window that opens the breaker. @default 0.7 */
  failureRatio: number;
  /** How long the breaker stays open the first time; each re-open without a close doubles it. @default 30000 */
  openMs: number;
  /** Longest open period. @default 3600000 */
  maxOpenMs: number;
  /** A probe not settled in this long is given up and another delivery probes. @default 90000 */
  probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_POLICY: Readonly<BreakerPolicy> = Object.freeze({
  windowMs: 60_000,
  minAttempts: 10,
  failureRatio: 0.7,
  openMs: 30_000,
  maxOpenMs: 3_600_000,
  probeTimeoutMs: 90_000,
});

/** One attempt's verdict on its endpoint. */
export interface HealthOutcome {
  subscriptionId: string;
  deliveryId: string;
  ok: boolean;
  statusCode: number | null;
}

/** What a statement changed for one subscription: a transition, or a request to disable it. */
export interface HealthChange {
  subscriptionId: string;
  from: BreakerState;
  to: BreakerState;
  reason: string | null;
  /** Set when the subscription must be disabled now (410 Gone). */
  disableReason: string | null;
  /** open: when the probe is due. */
  probeAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toChange(r: any): HealthChange {
  return {
    subscriptionId: r.subscription_id,
    from: r.old_state,
    to: r.new_state,
    reason: r.reason ?? null,
    disableReason: r.disable_reason ?? null,
    probeAt: r.probe_at ?? null,
  };
}

/**
 * Feeds attempt outcomes into their subscriptions' breakers in one statement: updates each sliding window
 * and the run of failures, opens a breaker whose window crossed the threshold (deliveries of it waiting for
 * an in-flight slot now wait for the breaker instead), closes or re-opens a half-open one on its probe's
 * outcome, flags 410 Gone for disabling, and records every transition in the subscription's health
 * summary. The caller releases the deliveries parked for a breaker that closed (releaseCircuitParked), in
 * a later statement.
 * @param now the clock of the decision (tests); @default the database's now()
 * @returns the subscriptions that changed state or must be disabled.
 */
export async function recordHealthOutcomes(
  db: Queryable,
  outcomes: HealthOutcome[],
  policy: BreakerPolicy,
  now?: Date,
): Promise<HealthChange[]> {
  if (!outcomes.length) return [];
  const { rows } = await db.query({
    name: 'record-health-outcomes',
    text: `WITH t AS (SELECT coalesce($5::timestamptz, now()) AS now),
     agg AS (
       SELECT sub, count(*)::int AS total, (count(*) FILTER (WHERE NOT ok))::int AS failed, bool_or(ok) AS any_ok,
         coalesce(bool_or(code = 410), false) AS gone,
         coalesce(array_agg(delivery_id) FILTER (WHERE ok), '{}') AS ok_ids,
         coalesce(array_agg(delivery_id) FILTER (WHERE NOT ok), '{}') AS failed_ids
       FROM unnest($1::text[], $2::text[], $3::bool[], $4::int[]) AS o(sub, delivery_id, ok, code)
       GROUP BY sub
     ),
     cur AS (
       SELECT h.subscription_id, h.state, h.window_start, h.window_total, h.window_failed, h.prev_total,
         h.prev_failed, h.failing_since, h.opened_count, h.probe_at, h.probe_delivery_id, h.disable_reason,
         agg.total, agg.failed, agg.any_ok, agg.gone, agg.ok_ids, agg.failed_ids, t.now,
         greatest(0, floor(extract(epoch FROM (t.now - h.window_start)) * 1000 / $6))::int AS k
       FROM endpoint_health h JOIN agg ON agg.sub = h.subscription_id CROSS JOIN t
       ORDER BY h.subscription_id
       FOR UPDATE OF h
     ),
     win AS (
       SELECT cur.*,
         CASE WHEN k = 0 THEN window_start WHEN k = 1 THEN window_start + $6 * interval '1 millisecond' ELSE now END
           AS w_start,
         CASE WHEN k = 0 THEN window_total + total ELSE total END AS w_total,
         CASE WHEN k = 0 THEN window_failed + failed ELSE failed END AS w_failed,
         CASE WHEN k = 0 THEN prev_total WHEN k = 1 THEN window_total ELSE 0 END AS p_total,
         CASE WHEN k = 0 THEN prev_failed WHEN k = 1 THEN window_failed ELSE 0 END AS p_failed
       FROM cur
     ),
     est AS (
       SELECT win.*, w_total + p_total * x.weight AS est_total, w_failed + p_failed * x.weight AS est_failed
       FROM win, LATERAL (
         SELECT greatest(0, 1 - extract(epoch FROM (win.now - win.w_start)) * 1000 / $6) AS weight
       ) x
     ),
     nxt AS (
       SELECT est.*,
         CASE
           WHEN state = 'closed' AND est_total >= $7 AND est_failed >= $8 * est_total THEN 'open'
           WHEN state = 'half_open' AND probe_delivery_id = ANY (ok_ids) THEN 'closed'
           WHEN state = 'half_open' AND probe_delivery_id = ANY (failed_ids) THEN 'open'
           ELSE state
         END AS new_state
       FROM est
     ),
     fin AS (
       SELECT nxt.*,
         (new_state = 'closed' AND state <> 'closed') AS closing,
         (new_state = 'open' AND state <> 'open') AS opening,
         CASE WHEN new_state = 'open' AND state <> 'open' THEN opened_count + 1
              WHEN new_state = 'closed' THEN 0 ELSE opened_count END AS new_opened
       FROM nxt
     ),
     upd AS (
       UPDATE endpoint_health h SET
         state = fin.new_state,
         window_start = CASE WHEN fin.closing THEN fin.now ELSE fin.w_start END,
         window_total = CASE WHEN fin.closing THEN 0 ELSE fin.w_total END,
         window_failed = CASE WHEN fin.closing THEN 0 ELSE fin.w_failed END,
         prev_total = CASE WHEN fin.closing THEN 0 ELSE fin.p_total END,
         prev_failed = CASE WHEN fin.closing THEN 0 ELSE fin.p_failed END,
         failing_since = CASE WHEN fin.any_ok THEN NULL ELSE coalesce(fin.failing_since, fin.now) END,
         opened_count = fin.new_opened,
         probe_at = CASE
           WHEN fin.opening
             THEN fin.now + least($10::float8, $9::float8 * power(2, least(fin.new_opened - 1, 30))) * interval '1 millisecond'
           WHEN fin.new_state = 'closed' THEN NULL
           ELSE fin.probe_at END,
         probe_delivery_id = CASE WHEN fin.new_state <> fin.state THEN NULL ELSE fin.probe_delivery_id END,
         disable_reason = CASE WHEN fin.gone THEN coalesce(fin.disable_reason, 'the endpoint answered 410 Gone')
                               ELSE fin.disable_reason END,
         updated_at = now()
       FROM fin
       WHERE h.subscription_id = fin.subscription_id
       RETURNING h.subscription_id, fin.state AS old_state, h.state AS new_state, h.probe_at, h.failing_since,
         h.disable_reason, fin.now,
         CASE
           WHEN fin.opening AND fin.state = 'closed'
             THEN format('%s of the last %s attempts failed', round(fin.est_failed), round(fin.est_total))
           WHEN fin.opening THEN 'the probe delivery failed'
           WHEN fin.closing THEN 'the probe delivery succeeded'
         END AS reason,
         CASE WHEN fin.opening AND fin.state = 'closed' THEN 'opened' WHEN fin.opening THEN 'reopened'
              WHEN fin.closing THEN 'closed' END AS event
     ),
     summary AS (
       UPDATE subscriptions s SET health = hookline_health_event(s.health, upd.now, upd.event, upd.new_state, upd.reason,
           jsonb_build_object('failingSince', upd.failing_since,
             'nextProbeAt', CASE WHEN upd.new_state = 'open' THEN upd.probe_at END))
       FROM upd
       WHERE s.id = upd.subscription_id AND upd.old_state <> upd.new_state
     ),
     held AS (
       UPDATE deliveries d SET next_attempt_at = 'infinity', parked_reason = 'circuit', updated_at = now()
       FROM upd
       WHERE upd.new_state = 'open' AND upd.old_state = 'closed' AND d.subscription_id = upd.subscription_id
         AND d.parked_reason = 'inflight' AND d.next_attempt_at IS NOT NULL AND d.status IN ('pending', 'failed')
     )
     SELECT upd.* FROM upd
     WHERE upd.old_state <> upd.new_state OR upd.disable_reason IS NOT NULL`,
    values: [
      outcomes.map((o) => o.subscriptionId),
      outcomes.map((o) => o.deliveryId),
      outcomes.map((o) => o.ok),
      outcomes.map((o) => o.statusCode),
      now ?? null,
      policy.windowMs,
      policy.minAttempts,
      policy.failureRatio,
      policy.openMs,
      policy.maxOpenMs,
    ],
  });
  return rows.map(toChange);
}

/** Live webhook subscriptions per breaker state (the /metrics gauge). */
export async function breakerStateCounts(db: Queryable): Promise<Record<BreakerState, number>> {
  const { rows } = await db.query(
    `SELECT coalesce(h.state, 'closed') AS state, count(*)::int AS n
     FROM subscriptions s LEFT JOIN endpoint_health h ON h.subscription_id = s.id
     WHERE s.type = 'webhook' AND s.deleted_at IS NULL AND s.status = 'active'
     GROUP BY 1`,
  );
  const out: Record<BreakerState, number> = { closed: 0, open: 0, half_open: 0 };
  for (const r of rows) out[r.state as BreakerState] = r.n;
  return out;
}

import type { PoolClient } from 'pg';
import { inTransaction, type Pool } from './pool.js';
import { inSubscriptionWrite, type Queryable } from './subscriptions.js';

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
export type BreakerState = 'closed' | 'open' | 'half_open';
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

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

/**
 * `subscriptions.health` as stored (jsonb, timestamps as Postgres writes them): the breaker's state, since
 * when and why, when it started failing and when it probes next, and the last 20 events, newest first.
 */
export interface HealthSummary {
  state?: BreakerState;
  since?: string;
  reason?: string | null;
  failingSince?: string | null;
  nextProbeAt?: string | null;
  history?: { at: string; event: string; state: BreakerState; reason: string | null }[];
}

/** The breaker of one subscription as the dispatcher sees it when it loads a job. */
export interface HealthSnapshot {
  state: BreakerState;
  probeDeliveryId: string | null;
  probeAt: Date | null;
}

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

// Two-int advisory keys live in their own key space, apart from the single-bigint locks elsewhere.
const SUBSCRIPTION_LOCK_CLASS = 7_414_233;

/**
 * Takes each subscription's transaction-scoped advisory lock, in one order, so writers that must see each
 * other's committed effects (an ordered head settling and the next delivery parking; a breaker closing
 * and a delivery parking for it) run one after the other per subscription and never deadlock.
 */
export async function lockSubscriptions(db: PoolClient, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `SELECT pg_advisory_xact_lock(${SUBSCRIPTION_LOCK_CLASS}, hashtext(id))
     FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) s`,
    [ids],
  );
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

/** A subscription that must be disabled, and why. */
export interface DisableRequest {
  id: string;
  reason: string;
}

/**
 * Active subscriptions that must be disabled: flagged (410 Gone) or failing without a break for
 * `disableAfterMs`.
 */
export async function subscriptionsToDisable(
  pool: Pool,
  disableAfterMs: number,
  now?: Date,
  limit = 100,
): Promise<DisableRequest[]> {
  const { rows } = await pool.query(
    `SELECT h.subscription_id AS id,
       coalesce(h.disable_reason, format('the endpoint has failed without a break since %s',
         to_char(h.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS reason
     FROM endpoint_health h JOIN subscriptions s ON s.id = h.subscription_id
     WHERE (h.disable_reason IS NOT NULL
            OR h.failing_since <= coalesce($1::timestamptz, now()) - $2 * interval '1 millisecond')
       AND s.status = 'active' AND s.deleted_at IS NULL
     LIMIT $3`,
    [now ?? null, disableAfterMs, limit],
  );
  return rows.map((r) => ({ id: r.id, reason: r.reason }));
}

/**
 * Disables active subscriptions with their reasons, as a subscription write (the router sees the new
 * version). The endpoint's failure run and disable flag are cleared with it, so a resume starts afresh.
 * @returns the ids this call disabled (others were already disabled, paused or deleted).
 */
export async function disableSubscriptions(pool: Pool, requests: DisableRequest[]): Promise<string[]> {
  if (!requests.length) return [];
  return inSubscriptionWrite(pool, async (db) => {
    await db.query(
      `SELECT 1 FROM endpoint_health WHERE subscription_id = ANY ($1::text[]) ORDER BY subscription_id FOR UPDATE`,
      [requests.map((r) => r.id)],
    );
    const { rows } = await db.query(
      `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[]) AS v(id, reason)),
       s AS (
         UPDATE subscriptions s SET status = 'disabled', disabled_reason = v.reason, updated_at = now(),
           version = nextval('subscription_version'),
           health = hookline_health_event(s.health, now(), 'disabled', coalesce(s.health->>'state', 'closed'),
             v.reason, NULL)
         FROM v WHERE s.id = v.id AND s.status = 'active' AND s.deleted_at IS NULL
         RETURNING s.id
       ),
       h AS (
         UPDATE endpoint_health h SET disable_reason = NULL, failing_since = NULL, updated_at = now()
         FROM v WHERE h.subscription_id = v.id
       )
       SELECT id FROM s`,
      [requests.map((r) => r.id), requests.map((r) => r.reason)],
    );
    return rows.map((r) => r.id as string);
  });
}

/** One delivery asking for a rate-limit slot. */
export interface RateRequest {
  subscriptionId: string;
  /** Deliveries per second. */
  perSecond: number;
  /** Deliveries that may go at once after a quiet spell. @default 1 */
  burst: number;
}

/**
 * Reserves one slot per request from its subscription's rate limit (GCRA: a token bucket kept as one
 * timestamp), in request order, in one statement for the whole batch. Every request gets a slot, now or
 * later: it waits the returned milliseconds and is then sent without asking again, so a backlog over the
 * limit is parked once, at its exact time, instead of retried in a loop.
 * @returns per request, how long to wait before sending (0: send now).
 */
export async function reserveRateSlots(db: Queryable, requests: RateRequest[], now?: Date): Promise<number[]> {
  if (!requests.length) return [];
  const { rows } = await db.query(
    `WITH t AS (SELECT coalesce($4::timestamptz, now()) AS now),
     r AS (
       SELECT u.sub, u.rate, u.burst, u.ord,
         (row_number() OVER (PARTITION BY u.sub ORDER BY u.ord) - 1)::int AS i,
         (count(*) OVER (PARTITION BY u.sub))::int AS k
       FROM unnest($1::text[], $2::float8[], $3::float8[]) WITH ORDINALITY AS u(sub, rate, burst, ord)
     ),
     s AS (SELECT sub, max(rate) AS rate, max(burst) AS burst, max(k) AS k FROM r GROUP BY sub),
     locked AS (
       SELECT h.subscription_id FROM endpoint_health h
       WHERE h.subscription_id IN (SELECT sub FROM s) ORDER BY h.subscription_id FOR UPDATE
     ),
     up AS (
       UPDATE endpoint_health h
       SET rate_tat = greatest(coalesce(h.rate_tat, t.now), t.now) + (s.k / s.rate) * interval '1 second'
       FROM s CROSS JOIN t
       WHERE h.subscription_id = s.sub AND h.subscription_id IN (SELECT subscription_id FROM locked)
       RETURNING h.subscription_id, h.rate_tat AS tat, s.rate, s.burst
     )
     SELECT r.ord, greatest(0, extract(epoch FROM (up.tat - t.now)) * 1000
                               - ((r.k - r.i) + up.burst - 1) * 1000 / up.rate) AS wait_ms
     FROM r JOIN up ON up.subscription_id = r.sub CROSS JOIN t
     ORDER BY r.ord`,
    [
      requests.map((r) => r.subscriptionId),
      requests.map((r) => r.perSecond),
      requests.map((r) => Math.max(1, r.burst)),
      now ?? null,
    ],
  );
  const waits = requests.map(() => 0);
  for (const r of rows) waits[Number(r.ord) - 1] = Number(r.wait_ms);
  return waits;
}

/** The breaker row of one subscription, for the API and tests. */
export interface EndpointHealthRecord extends HealthSnapshot {
  subscriptionId: string;
  windowTotal: number;
  windowFailed: number;
  failingSince: Date | null;
  openedCount: number;
  disableReason: string | null;
}

export async function findEndpointHealth(db: Queryable, subscriptionId: string): Promise<EndpointHealthRecord | undefined> {
  const { rows } = await db.query(
    `SELECT subscription_id, state, probe_delivery_id, probe_at, window_total, window_failed, failing_since,
       opened_count, disable_reason
     FROM endpoint_health WHERE subscription_id = $1`,
    [subscriptionId],
  );
  const r = rows[0];
  return r
    ? {
        subscriptionId: r.subscription_id,
        state: r.state,
        probeDeliveryId: r.probe_delivery_id,
        probeAt: r.probe_at,
        windowTotal: r.window_total,
        windowFailed: r.window_failed,
        failingSince: r.failing_since,
        openedCount: r.opened_count,
        disableReason: r.disable_reason,
      }
    : undefined;
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

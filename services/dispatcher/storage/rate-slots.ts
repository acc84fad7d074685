import type { Queryable } from '../../../shared/db/queryable.js';

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

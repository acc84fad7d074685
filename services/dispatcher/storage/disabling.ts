import type { Pool } from '../../../shared/db/pool.js';
import { inSubscriptionWrite } from '../../../shared/db/subscriptions.js';

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

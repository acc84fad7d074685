/**
 * Endpoint health as the API and the dispatcher read it: one circuit breaker per webhook subscription in
 * the `endpoint_health` table, and its summary kept on the subscription. The dispatcher owns every
 * transition (services/dispatcher/storage/breaker.ts).
 */
import type { Queryable } from './queryable.js';

/** A breaker's state (services/dispatcher/storage/breaker.ts has its transitions). */
export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

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

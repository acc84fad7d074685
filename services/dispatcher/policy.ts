import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';
import { policyOf } from '../../shared/subscription-policy.js';

/** A subscription's limits on how its deliveries go out, as the dispatcher applies them. */
export interface DeliveryPolicy {
  /** Deliveries in flight at once, counted per dispatcher process. */
  maxInFlight: number;
  /** Deliveries per second across all dispatchers (burst 1: evenly spaced); undefined: no limit. */
  rateLimit: { perSecond: number; burst: number } | undefined;
  /** Response statuses that make a delivery dead at once instead of retried. @default [410] */
  permanentFailureStatuses: readonly number[];
}

/** 410 Gone: the endpoint says it will never take deliveries again; it also disables the subscription. */
export const GONE = 410;

/**
 * The policy of a subscription from what the API stored (shared/subscription-policy.ts, defaults filled
 * in there).
 */
export function deliveryPolicyOf(sub: SubscriptionRecord): DeliveryPolicy {
  const p = policyOf(sub);
  return {
    maxInFlight: p.maxInFlight,
    rateLimit: p.rateLimit === null ? undefined : { perSecond: p.rateLimit, burst: 1 },
    permanentFailureStatuses: p.permanentFailureStatuses,
  };
}

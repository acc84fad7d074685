/**
 * Per-subscription delivery policy beyond `retry` and `timeoutMs` (which have columns of their own).
 * Stored in `subscriptions.options` (jsonb) under the same camelCase names the API uses; only values a
 * caller set are stored, so a default changed here applies to every subscription that never chose one.
 * Read them with {@link policyOf}, which fills in the defaults.
 */

/** The effective policy of a subscription. */
export interface SubscriptionPolicy {
  /**
   * Deliveries of this subscription in flight at once (1..1000); the dispatchers enforce it per process.
   * @default 100
   */
  maxInFlight: number;
  /** Deliveries started per second at most (0.01..10000; fractions allowed); null = no limit. @default null */
  rateLimit: number | null;
  /**
   * HTTP status codes that end a delivery as `dead` at once instead of being retried (300..599).
   * @default [410]
   */
  permanentFailureStatuses: number[];
}

/** Bounds the API validates against (inclusive). */
export const POLICY_LIMITS = Object.freeze({
  maxInFlight: { min: 1, max: 1000 },
  rateLimit: { min: 0.01, max: 10_000 },
  permanentFailureStatus: { min: 300, max: 599 },
  permanentFailureStatusesCount: 50,
});

export const DEFAULT_POLICY: Readonly<SubscriptionPolicy> = Object.freeze({
  maxInFlight: 100,
  rateLimit: null,
  permanentFailureStatuses: Object.freeze([410]) as unknown as number[],
});

/** The `options` keys that hold policy values. */
export const POLICY_KEYS = ['maxInFlight', 'rateLimit', 'permanentFailureStatuses'] as const;

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * The effective policy from a subscription's `options`: stored values where they are valid, defaults
 * otherwise (a row written before a field existed, or by hand, never breaks a dispatcher).
 */
export function policyOf(sub: { options: Record<string, unknown> | null | undefined }): SubscriptionPolicy {
  const o = sub.options ?? {};
  const { maxInFlight, rateLimit, permanentFailureStatus } = POLICY_LIMITS;
  const statuses = o.permanentFailureStatuses;
  return {
    maxInFlight: isInt(o.maxInFlight, maxInFlight.min, maxInFlight.max) ? o.maxInFlight : DEFAULT_POLICY.maxInFlight,
    rateLimit:
      typeof o.rateLimit === 'number' && o.rateLimit >= rateLimit.min && o.rateLimit <= rateLimit.max
        ? o.rateLimit
        : DEFAULT_POLICY.rateLimit,
    permanentFailureStatuses:
      Array.isArray(statuses) && statuses.every((s) => isInt(s, permanentFailureStatus.min, permanentFailureStatus.max))
        ? [...(statuses as number[])]
        : [...DEFAULT_POLICY.permanentFailureStatuses],
  };
}

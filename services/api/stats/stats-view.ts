import { z } from 'zod';
import type { HealthSummary } from '../../../shared/db/endpoint-health.js';
import { FAILING_LIST_LIMIT, type LastFailure } from '../../../shared/db/stats.js';
import { count, instant, resourceId } from '../http/view-fields.js';
import { breakerSchema, healthView } from '../subscriptions/subscription-view.js';

/** The answers of `GET /v1/subscriptions/:id/stats` and `GET /v1/stats`, and the pieces they share. */

export const stateCountsSchema = z
  .object({ pending: count(), failed: count(), succeeded: count(), dead: count(), total: count() })
  .meta({ description: 'Deliveries by state, from one snapshot: the four add up to total.' });

export const statsWindowSchema = z
  .object({
    attempts: count(),
    succeeded: count(),
    failed: count(),
    successRate: z.number().min(0).max(1).nullable().meta({ description: 'succeeded / attempts; null without attempts.' }),
  })
  .meta({ description: 'Webhook attempts in whole minutes: the current one and the 59 (1,439) before it.' });

export const lastFailureSchema = z.object({ at: instant(), error: z.string().nullable(), statusCode: z.number().int().nullable() }).nullable();

export const subscriptionStatsSchema = z.object({
  subscriptionId: resourceId(),
  counts: stateCountsSchema,
  lastHour: statsWindowSchema,
  lastDay: statsWindowSchema,
  lastSuccessAt: instant().nullable(),
  lastFailure: lastFailureSchema,
  latencyMs: z
    .object({ p50: count(), p95: count() })
    .nullable()
    .meta({ description: "The last hour's attempt durations, estimated from a histogram; null without attempts." }),
  breaker: breakerSchema.nullable().meta({ description: 'null for poll subscriptions.' }),
});

export const tenantStatsSchema = z.object({
  counts: stateCountsSchema,
  lastHour: statsWindowSchema,
  lastDay: statsWindowSchema,
  perMinute: z
    .array(z.object({ minute: instant(), messages: count(), deliveries: count() }))
    .length(60)
    .meta({ description: 'The last 60 minutes, oldest first: messages published (that the caller may read) and deliveries created.' }),
  failingSubscriptions: z
    .array(
      z.object({
        id: resourceId(),
        topic: z.string(),
        url: z.string().nullable(),
        status: z.string(),
        breaker: breakerSchema,
        lastFailure: lastFailureSchema,
      }),
    )
    .max(FAILING_LIST_LIMIT)
    .meta({ description: 'Webhooks whose breaker is not closed, whose failures run unbroken, or that are disabled.' }),
});

export type SubscriptionStatsView = z.output<typeof subscriptionStatsSchema>;
export type TenantStatsView = z.output<typeof tenantStatsSchema>;

export const failureView = (f: LastFailure | null): z.output<typeof lastFailureSchema> =>
  f ? { at: f.at.toISOString(), error: f.error, statusCode: f.statusCode } : null;

/** The breaker as stats show it: its state and timing, without the transition history. */
export function breakerView(h: HealthSummary | undefined): z.output<typeof breakerSchema> {
  const { history: _history, ...breaker } = healthView(h);
  return breaker;
}

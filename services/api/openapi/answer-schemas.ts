import { z } from 'zod';
import { attemptSchema, deliveryListSchema, deliverySchema, deliveryStatusSchema, deliverySummarySchema } from '../deliveries/delivery-view.js';
import { replayAnswerSchema } from '../deliveries/replay-subscription.js';
import { messagePageSchema, messageSchema, messageSummarySchema } from '../messages/message-views.js';
import { problemSchema } from '../middleware/problem.js';
import { polledMessagesSchema, settleResultsSchema } from '../poll/poll-views.js';
import { batchPublishedSchema, publishedSchema } from '../publish/published-view.js';
import { testFilterResultSchema } from '../routes/filters.js';
import { livenessSchema, readinessSchema } from '../routes/health.js';
import { portalLinkSchema, portalSessionAnswerSchema } from '../portal/portal-links.js';
import { tenantSettingsViewSchema } from '../routes/verification.js';
import {
  lastFailureSchema,
  stateCountsSchema,
  statsWindowSchema,
  subscriptionStatsSchema,
  tenantStatsSchema,
} from '../stats/stats-view.js';
import {
  breakerSchema,
  pollSubscriptionSchema,
  subscriptionListSchema,
  subscriptionSchema,
  subscriptionWithSecretSchema,
  webhookSubscriptionSchema,
} from '../subscriptions/subscription-view.js';
import { quotaSchema } from '../subscriptions/tenant-quotas.js';
import type { Schema } from './builders.js';

/**
 * The answers' components, by name: the zod schemas the views are typed with. A schema named here is a
 * `$ref` wherever another answer contains it.
 */
const ANSWERS: Record<string, z.ZodType> = {
  Problem: problemSchema,
  Liveness: livenessSchema,
  Readiness: readinessSchema,
  Subscription: subscriptionSchema,
  WebhookSubscription: webhookSubscriptionSchema,
  PollSubscription: pollSubscriptionSchema,
  SubscriptionWithSecret: subscriptionWithSecretSchema,
  SubscriptionList: subscriptionListSchema,
  DeliveryStatus: deliveryStatusSchema,
  DeliverySummary: deliverySummarySchema,
  DeliveryList: deliveryListSchema,
  Attempt: attemptSchema,
  Delivery: deliverySchema,
  Message: messageSchema,
  Published: publishedSchema,
  BatchPublished: batchPublishedSchema,
  StateCounts: stateCountsSchema,
  StatsWindow: statsWindowSchema,
  LastFailure: lastFailureSchema,
  Breaker: breakerSchema,
  SubscriptionStats: subscriptionStatsSchema,
  TenantStats: tenantStatsSchema,
  MessagePage: messagePageSchema,
  MessageSummary: messageSummarySchema,
  PolledMessages: polledMessagesSchema,
  SettleResults: settleResultsSchema,
  TestFilterResult: testFilterResultSchema,
  ReplayResult: replayAnswerSchema,
  TenantSettings: tenantSettingsViewSchema,
  Quota: quotaSchema,
  PortalLink: portalLinkSchema,
  PortalSession: portalSessionAnswerSchema,
};

/** zod bounds every integer it outputs by the safe-integer range; the document leaves those bounds unsaid. */
function withoutSafeIntegerBounds({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

/** The JSON Schemas of the answers (zod 4's JSON Schema output, as the answers leave: closed objects). */
export function answerSchemas(): Record<string, Schema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(ANSWERS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
    override: withoutSafeIntegerBounds,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, generated]) => {
      const { $schema: _dialect, $id: _id, ...schema } = generated as Schema;
      return [id, schema];
    }),
  );
}

import { z } from 'zod';
import { BREAKER_STATES, type HealthSummary } from '../../../shared/db/endpoint-health.js';
import { SUBSCRIPTION_STATUSES, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { instant, page, resourceId } from '../http/view-fields.js';
import { pollFieldsView, pollViewFields } from '../poll/poll-subscription.js';
import { filterField, subscriptionFieldsView, webhookViewFields } from './subscription-fields.js';
import { descriptionText, retryPolicy, timeoutMs, topicPattern } from './subscription-schemas.js';

/**
 * The public shape of a subscription: the fields of its type only. Secrets appear only in the create and
 * rotate answers. Members shared with the request bodies (topic, retry, timeout, policy) are the same
 * zod schemas the routes validate with.
 */

const breakerState = z.enum(BREAKER_STATES);

/** The endpoint's circuit breaker without its history, as stats show it. */
export const breakerSchema = z
  .object({
    state: breakerState,
    since: instant().optional(),
    reason: z.string().optional(),
    failingSince: instant().optional(),
    nextProbeAt: instant().optional(),
  })
  .meta({ description: "The endpoint's circuit breaker (without its history)." });

export const healthSchema = breakerSchema
  .extend({
    state: breakerState.meta({ description: "The endpoint's circuit breaker." }),
    history: z
      .array(z.object({ at: instant(), event: z.string(), state: breakerState, reason: z.string().optional() }))
      .max(20)
      .meta({ description: 'Recent transitions, newest first.' }),
  })
  .meta({ description: "Webhooks: the endpoint's health as the dispatchers see it." });

const commonFields = {
  id: resourceId(),
  topic: topicPattern,
  status: z.enum(SUBSCRIPTION_STATUSES).meta({
    description: '`pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.',
  }),
  disabledReason: z.string().optional(),
  ordered: z.boolean(),
  filter: filterField.optional(),
  description: descriptionText.optional(),
  createdAt: instant(),
  updatedAt: instant(),
};

export const webhookSubscriptionSchema = z.object({
  ...commonFields,
  type: z.literal('webhook'),
  url: z.string().meta({ format: 'uri' }),
  retry: retryPolicy.required(),
  timeoutMs,
  ...webhookViewFields,
  health: healthSchema,
});

export const pollSubscriptionSchema = z.object({ ...commonFields, type: z.literal('poll'), ...pollViewFields });

export const subscriptionSchema = z
  .xor([webhookSubscriptionSchema, pollSubscriptionSchema])
  .meta({ description: 'A subscription shows the fields of its type only.' });

/** The create and rotate-secret answers: a webhook with its signing secret, shown only there. */
export const subscriptionWithSecretSchema = z.xor([
  webhookSubscriptionSchema.extend({
    secret: z.string().regex(/^whsec_/).meta({ description: 'The signing secret; shown only here.' }),
    previousSecretExpiresAt: instant('Until when the rotated-out secret still signs (rotate-secret only).').optional(),
  }),
  pollSubscriptionSchema,
]);

export const subscriptionListSchema = page(subscriptionSchema);

export type SubscriptionView = z.output<typeof subscriptionSchema>;
export type SubscriptionWithSecret = z.output<typeof subscriptionWithSecretSchema>;
export type SubscriptionList = z.output<typeof subscriptionListSchema>;
type HealthView = z.output<typeof healthSchema>;

export function subscriptionView(s: SubscriptionRecord): SubscriptionView {
  const common = {
    id: s.id,
    topic: s.topic,
    status: s.status,
    ...(s.disabledReason ? { disabledReason: s.disabledReason } : {}),
    ordered: s.ordered,
    ...(s.filter !== null && s.filter !== undefined ? { filter: s.filter } : {}),
    ...(s.description ? { description: s.description } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
  if (s.type === 'poll') return { ...common, type: 'poll', ...pollFieldsView(s) };
  // Retry policy and timeout shape webhook attempts; a poll subscription has maxAttempts and ackTimeoutMs.
  return {
    ...common,
    type: 'webhook',
    // Creation refuses a webhook without its url, and no change removes it.
    url: s.url!,
    retry: s.retry,
    timeoutMs: s.timeoutMs,
    ...subscriptionFieldsView(s),
    health: healthView(s.health),
  };
}

/** The create and rotate-secret answers: a webhook's view with its signing secret; a poll subscription has none. */
export function subscriptionWithSecret(s: SubscriptionRecord, secret: string | null, previousSecretExpiresAt?: Date): SubscriptionWithSecret {
  const view = subscriptionView(s);
  if (view.type === 'poll') return view;
  if (!secret) throw new Error(`webhook subscription ${s.id} answered without its secret`);
  return { ...view, secret, ...(previousSecretExpiresAt ? { previousSecretExpiresAt: previousSecretExpiresAt.toISOString() } : {}) };
}

const iso = (t: string) => new Date(t).toISOString();

/**
 * A webhook's endpoint health: its circuit breaker (`closed`, `open`, `half_open`) since when and why,
 * when its failures began and when it is probed next, and the recent transitions, newest first.
 */
export function healthView(h: HealthSummary | undefined): HealthView {
  return {
    state: h?.state ?? 'closed',
    ...(h?.since ? { since: iso(h.since) } : {}),
    ...(h?.reason ? { reason: h.reason } : {}),
    ...(h?.failingSince ? { failingSince: iso(h.failingSince) } : {}),
    ...(h?.nextProbeAt ? { nextProbeAt: iso(h.nextProbeAt) } : {}),
    history: (h?.history ?? []).map((e) => ({
      at: iso(e.at),
      event: e.event,
      state: e.state,
      ...(e.reason ? { reason: e.reason } : {}),
    })),
  };
}

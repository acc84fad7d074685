import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import type { HealthSummary } from '../../../shared/db/endpoint-health.js';
import { pollFieldsView } from '../poll/poll-subscription.js';
import { subscriptionFieldsView } from './subscription-fields.js';

/**
 * The public shape of a subscription: the fields of its type only. Secrets appear only in the create and
 * rotate answers.
 */
export function subscriptionView(s: SubscriptionRecord) {
  return {
    id: s.id,
    topic: s.topic,
    type: s.type,
    ...(s.url ? { url: s.url } : {}),
    status: s.status,
    ...(s.disabledReason ? { disabledReason: s.disabledReason } : {}),
    // Retry policy and timeout shape webhook attempts; a poll subscription has maxAttempts and ackTimeoutMs.
    ...(s.type === 'webhook' ? { retry: s.retry, timeoutMs: s.timeoutMs } : {}),
    ordered: s.ordered,
    ...(s.filter !== null && s.filter !== undefined ? { filter: s.filter } : {}),
    ...(s.description ? { description: s.description } : {}),
    ...subscriptionFieldsView(s),
    ...pollFieldsView(s),
    ...(s.type === 'webhook' ? { health: healthView(s.health) } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

const iso = (t: string | null | undefined) => (t ? new Date(t).toISOString() : undefined);

/**
 * A webhook's endpoint health: its circuit breaker (`closed`, `open`, `half_open`) since when and why,
 * when its failures began and when it is probed next, and the recent transitions, newest first.
 */
export function healthView(h: HealthSummary | undefined) {
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

import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';

/** The public shape of a subscription. Secrets appear only in the create and rotate answers. */
export function subscriptionView(s: SubscriptionRecord) {
  return {
    id: s.id,
    topic: s.topic,
    type: s.type,
    ...(s.url ? { url: s.url } : {}),
    status: s.status,
    ...(s.disabledReason ? { disabledReason: s.disabledReason } : {}),
    retry: s.retry,
    timeoutMs: s.timeoutMs,
    ordered: s.ordered,
    ...(s.filter !== null && s.filter !== undefined ? { filter: s.filter } : {}),
    ...(s.description ? { description: s.description } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

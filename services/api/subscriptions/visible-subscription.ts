import type { Request } from 'express';
import { canSeeSubscription } from '../../../shared/auth/principal.js';
import { findDelivery, type DeliveryRecord } from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { findSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { NotFoundError } from '../../../shared/errors.js';
import { principalOf } from '../middleware/auth.js';

/**
 * The one visibility check of subscriptions and what belongs to them: the caller sees its tenant's
 * subscriptions if admin, else its own (a portal session only those its patterns cover). One the caller
 * may not see answers 404, like one that does not exist: another tenant's or owner's is indistinguishable
 * from none.
 */

/** The caller's subscription `req.params.id`, or 404. */
export async function visibleSubscription(pool: Pool, req: Request): Promise<SubscriptionRecord> {
  const p = principalOf(req);
  const sub = await findSubscription(pool, p.tenant, String(req.params.id));
  if (!sub || !canSeeSubscription(p, sub)) {
    throw new NotFoundError('subscription.not_found', `Subscription ${req.params.id} does not exist.`);
  }
  return sub;
}

/** The caller's delivery `req.params.id` and its subscription, or 404. */
export async function visibleDelivery(pool: Pool, req: Request): Promise<{ delivery: DeliveryRecord; sub: SubscriptionRecord }> {
  const p = principalOf(req);
  const id = String(req.params.id);
  const delivery = await findDelivery(pool, p.tenant, id);
  const sub = delivery && (await findSubscription(pool, p.tenant, delivery.subscriptionId));
  if (!delivery || !sub || !canSeeSubscription(p, sub)) {
    throw new NotFoundError('delivery.not_found', `Delivery ${id} does not exist.`);
  }
  return { delivery, sub };
}

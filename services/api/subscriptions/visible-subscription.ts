import type { Request } from 'express';
import { canSeeSubscription } from '../../../shared/auth/principal.js';
import type { Pool } from '../../../shared/db/pool.js';
import { findSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { NotFoundError } from '../../../shared/errors.js';
import { principalOf } from '../middleware/auth.js';

/** The caller's subscription `req.params.id`, or 404 (another tenant's or owner's is indistinguishable from none). */
export async function visibleSubscription(pool: Pool, req: Request): Promise<SubscriptionRecord> {
  const p = principalOf(req);
  const sub = await findSubscription(pool, p.tenant, String(req.params.id));
  if (!sub || !canSeeSubscription(p, sub)) {
    throw new NotFoundError('subscription.not_found', `Subscription ${req.params.id} does not exist.`);
  }
  return sub;
}

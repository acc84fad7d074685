import { Router } from 'express';
import { canSeeSubscription } from '../../../shared/auth/principal.js';
import {
  attemptsOf,
  DELIVERY_STATUSES,
  findDelivery,
  listDeliveries,
  type DeliveryStatus,
} from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { findSubscription } from '../../../shared/db/subscriptions.js';
import { NotFoundError, ValidationError } from '../../../shared/errors.js';
import { principalOf } from '../middleware/auth.js';
import { attemptView, deliverySummary } from '../deliveries/delivery-view.js';
import { decodeCursor, encodeCursor, parseLimit } from '../http/validate.js';

export function deliveriesRoutes(deps: { pool: Pool }): Router {
  const r = Router();

  r.get('/v1/subscriptions/:id/deliveries', async (req, res) => {
    const p = principalOf(req);
    const sub = await findSubscription(deps.pool, p.tenant, String(req.params.id));
    if (!sub || !canSeeSubscription(p, sub)) {
      throw new NotFoundError('subscription.not_found', `Subscription ${req.params.id} does not exist.`);
    }
    const status = req.query.status;
    if (status !== undefined && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) {
      throw new ValidationError('request.invalid_status', `status must be one of ${DELIVERY_STATUSES.join(', ')}.`);
    }
    const limit = parseLimit(req.query.limit);
    const rows = await listDeliveries(deps.pool, {
      subscriptionId: sub.id,
      status: status as DeliveryStatus | undefined,
      after: decodeCursor(req.query.cursor),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    res.json({
      items: page.map(deliverySummary),
      next: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    });
  });

  r.get('/v1/deliveries/:id', async (req, res) => {
    const p = principalOf(req);
    const delivery = await findDelivery(deps.pool, p.tenant, String(req.params.id));
    const sub = delivery && (await findSubscription(deps.pool, p.tenant, delivery.subscriptionId));
    if (!delivery || !sub || !canSeeSubscription(p, sub)) {
      throw new NotFoundError('delivery.not_found', `Delivery ${req.params.id} does not exist.`);
    }
    const attempts = await attemptsOf(deps.pool, delivery.id);
    res.json({ ...deliverySummary(delivery), attempts: attempts.map(attemptView) });
  });

  return r;
}

import { Router } from 'express';
import {
  attemptsOf,
  DELIVERY_STATUSES,
  listDeliveries,
  type DeliveryStatus,
} from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { ValidationError } from '../../../shared/errors.js';
import { visibleDelivery, visibleSubscription } from '../subscriptions/visible-subscription.js';
import { attemptView, deliverySummary, type DeliveryList, type DeliveryView } from '../deliveries/delivery-view.js';
import { decodeCursor, encodeCursor, parseLimit } from '../http/validate.js';

export function deliveriesRoutes(deps: { pool: Pool }): Router {
  const r = Router();

  r.get('/v1/subscriptions/:id/deliveries', async (req, res) => {
    const sub = await visibleSubscription(deps.pool, req);
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
    } satisfies DeliveryList);
  });

  r.get('/v1/deliveries/:id', async (req, res) => {
    const { delivery } = await visibleDelivery(deps.pool, req);
    const attempts = await attemptsOf(deps.pool, delivery.id);
    res.json({ ...deliverySummary(delivery), attempts: attempts.map(attemptView) } satisfies DeliveryView);
  });

  return r;
}

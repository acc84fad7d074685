import { Router } from 'express';
import { canReadTopic } from '../../../shared/auth/principal.js';
import { deliveriesOfMessage } from '../../../shared/db/deliveries.js';
import { findMessage } from '../../../shared/db/messages.js';
import type { Pool } from '../../../shared/db/pool.js';
import { NotFoundError } from '../../../shared/errors.js';
import type { MessageStore } from '../../../shared/nats/message-store.js';
import { principalOf } from '../middleware/auth.js';
import { deliverySummary } from '../delivery-view.js';
import { unpolledDeliveries } from '../poll/unpolled-deliveries.js';

export function messagesRoutes(deps: { pool: Pool; messages: MessageStore }): Router {
  const r = Router();

  r.get('/v1/messages/:id', async (req, res) => {
    const p = principalOf(req);
    const id = String(req.params.id);
    const msg = await findMessage(deps.pool, p.tenant, id);
    if (!msg || !canReadTopic(p, msg.topic)) {
      throw new NotFoundError(
        'message.not_found',
        `Message ${id} is not known (yet): a message appears here once it has been routed, within moments of its 202.`,
      );
    }
    const [stored, deliveries] = await Promise.all([deps.messages.get(msg.streamSeq), deliveriesOfMessage(deps.pool, id)]);
    // Poll deliveries get their row when first handed out; until then they are pending all the same.
    const unpolled = await unpolledDeliveries(deps.pool, msg, deliveries, !!stored && stored.id === msg.id);
    const views = [...deliveries, ...unpolled].map(deliverySummary);
    res.json({
      id: msg.id,
      topic: msg.topic,
      publishedAt: msg.publishedAt.toISOString(),
      // null once the stream's retention has dropped the payload; the delivery record outlives it.
      data: stored && stored.id === msg.id ? JSON.parse(stored.data) : null,
      deliveries: views,
      // A poller can stop once every delivery has settled (succeeded or dead).
      settled: views.every((d) => d.status === 'succeeded' || d.status === 'dead'),
    });
  });

  return r;
}

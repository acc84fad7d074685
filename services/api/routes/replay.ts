import { Router } from 'express';
import { z } from 'zod';
import { findDelivery } from '../../../shared/db/deliveries.js';
import { resendDelivery } from '../../../shared/db/redelivery.js';
import { ConflictError, ValidationError } from '../../../shared/errors.js';
import { principalOf } from '../middleware/auth.js';
import { deliverySummary } from '../deliveries/delivery-view.js';
import { firstRetainedSeq, MAX_REPLAY_WINDOW_MS, replayAnswerSchema, replaySubscription, type ReplayDeps } from '../deliveries/replay-subscription.js';
import { visibleDelivery, visibleSubscription } from '../subscriptions/visible-subscription.js';
import { parseBody } from '../http/validate.js';
import { jsonBody } from '../http/json-body.js';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2025-01-31T12:00:00Z' });

export const replaySchema = z
  .object({
    since: instant.meta({ description: 'Start of the window (inclusive), by publish time.' }),
    until: instant.optional().meta({ description: 'End of the window (exclusive); default now. The window spans at most 31 days.' }),
    status: z.enum(['failed', 'succeeded', 'dead'], {
      error: 'must be failed, succeeded or dead (pending deliveries are already on their way)',
    })
      .optional()
      .meta({ description: 'Only messages whose delivery is in this state.' }),
    dryRun: z.boolean().default(false).meta({ description: 'Count, send nothing.' }),
  })
  .strict();

/** Retry one delivery now; replay a subscription's window of messages. */
export function replayRoutes(deps: ReplayDeps): Router {
  const r = Router();
  const json = jsonBody('16kb');

  r.post('/v1/deliveries/:id/retry', async (req, res) => {
    const id = String(req.params.id);
    const { delivery, sub } = await visibleDelivery(deps.pool, req);
    const { tenant } = principalOf(req);
    if (sub.type !== 'webhook') {
      throw new ValidationError(
        'delivery.not_webhook',
        `Delivery ${id} belongs to a ${sub.type} subscription: its messages come back through nack or the ack timeout.`,
      );
    }
    if (delivery.status === 'pending') {
      throw new ConflictError(
        'delivery.already_pending',
        `Delivery ${id} is pending: it is queued, in flight, or parked while its subscription is ${sub.status}; it needs no retry.`,
      );
    }
    if (delivery.streamSeq < (await firstRetainedSeq(deps))) {
      throw new ConflictError(
        'delivery.message_expired',
        `The stream no longer retains message ${delivery.messageId}, so delivery ${id} cannot be sent again.`,
      );
    }
    if (!(await resendDelivery(deps.pool, tenant, id))) {
      throw new ConflictError('delivery.already_pending', `Delivery ${id} was made pending by someone else meanwhile.`);
    }
    const updated = await findDelivery(deps.pool, tenant, id);
    res.status(202).json(deliverySummary(updated ?? delivery));
  });

  r.post('/v1/subscriptions/:id/replay', json, async (req, res) => {
    const sub = await visibleSubscription(deps.pool, req);
    if (sub.type !== 'webhook') {
      throw new ValidationError(
        'replay.unsupported',
        'Replay applies to webhook subscriptions; a poll subscription re-reads the stream through its own consumer.',
      );
    }
    const body = parseBody(replaySchema, req.body, 'replay.invalid');
    const since = new Date(body.since);
    const until = body.until ? new Date(body.until) : new Date();
    if (since.getTime() >= until.getTime()) {
      throw new ValidationError('replay.invalid_window', 'since must be earlier than until (until defaults to now).');
    }
    if (until.getTime() - since.getTime() > MAX_REPLAY_WINDOW_MS) {
      throw new ValidationError(
        'replay.window_too_long',
        `A replay window spans at most ${MAX_REPLAY_WINDOW_MS / 86_400_000} days; split it into several calls.`,
      );
    }
    const result = await replaySubscription(deps, sub, { since, until, status: body.status, dryRun: body.dryRun });
    res.status(body.dryRun ? 200 : 202).json({ ...result, since: since.toISOString(), until: until.toISOString() } satisfies z.output<typeof replayAnswerSchema>);
  });

  return r;
}

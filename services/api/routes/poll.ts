import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ConflictError, ValidationError } from '../../../shared/errors.js';
import type { ApiMetrics } from '../http/api-metrics.js';
import { visibleSubscription } from '../subscriptions/visible-subscription.js';
import { MAX_ACK_ID_LENGTH } from '../poll/ack-id.js';
import { fetchPollMessages, MAX_POLL_BATCH, MAX_POLL_WAIT_S, pollResponseBody, type PollDeps } from '../poll/fetch-messages.js';
import { MAX_ACK_IDS, MAX_NACK_DELAY_MS, settlePollMessages } from '../poll/settle-messages.js';
import { parseBody } from '../http/validate.js';
import type { SettleResults } from '../poll/poll-views.js';
import { tracePoll } from '../http/trace-messaging.js';
import { jsonBody } from '../http/json-body.js';

const ackIds = z.array(z.string().min(1).max(MAX_ACK_ID_LENGTH)).min(1).max(MAX_ACK_IDS);
/** What the poller did with each message (optional): recorded as attempts, shown by `GET /v1/deliveries/:id`. */
export const attemptReportsSchema = z
  .array(
    z
      .object({
        ackId: z.string().min(1).max(MAX_ACK_ID_LENGTH).meta({ description: 'One of ackIds.' }),
        durationMs: z.number().int().min(0).max(86_400_000),
        statusCode: z.number().int().min(100).max(599).optional(),
        error: z.string().max(1000).optional(),
        responseExcerpt: z.string().max(1000).optional(),
      })
      .strict(),
  )
  .max(MAX_ACK_IDS)
  .optional()
  .meta({
    id: 'AttemptReports',
    description:
      'What the poller did with each message when it passed it on (as `hookline listen` does): each becomes the ' +
      "attempt of that hand-out in the delivery's attempt log (`GET /v1/deliveries/{id}`).",
  });
export const ackSchema = z.object({ ackIds, attempts: attemptReportsSchema }).strict();
export const nackSchema = z.object({ ackIds, attempts: attemptReportsSchema, delayMs: z.number().int().min(0).max(MAX_NACK_DELAY_MS).optional() }).strict();

function queryNumber(value: unknown, name: string, def: number, min: number, max: number, integer: boolean): number {
  if (value === undefined || value === '') return def;
  const n = typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new ValidationError(
      'poll.invalid_query',
      `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}.`,
    );
  }
  return n;
}

/**
 * Poll subscriptions: `GET …/messages` hands out messages from the subscription's durable consumer,
 * `POST …/ack` and `…/nack` settle them by ack id.
 */
export function pollRoutes(deps: PollDeps, metrics?: ApiMetrics): Router {
  const r = Router();
  const json = jsonBody('2mb');

  /** The caller's poll subscription, or 404 (another tenant's or owner's is indistinguishable from none). */
  async function pollSubscription(req: Request): Promise<SubscriptionRecord> {
    const sub = await visibleSubscription(deps.pool, req);
    if (sub.type !== 'poll') {
      throw new ConflictError('subscription.not_poll', `Subscription ${sub.id} is a ${sub.type} subscription; only poll subscriptions are polled.`);
    }
    return sub;
  }

  r.get('/v1/subscriptions/:id/messages', async (req: Request, res: Response) => {
    const max = queryNumber(req.query.max, 'max', 10, 1, MAX_POLL_BATCH, true);
    const wait = queryNumber(req.query.wait, 'wait', 0, 0, MAX_POLL_WAIT_S, false);
    const sub = await pollSubscription(req);
    if (sub.status !== 'active') {
      throw new ConflictError('subscription.paused', `Subscription ${sub.id} is ${sub.status}; resume it to poll.`);
    }
    // The client hanging up ends a long poll; what was fetched for it goes back at once.
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const messages = await tracePoll('receive', deps.names.messagesStream, deps.names.pollConsumer(sub.id), () =>
      fetchPollMessages(deps, sub, { max, waitMs: Math.round(wait * 1000), signal: abort.signal }),
    );
    if (abort.signal.aborted) return;
    metrics?.pollFetches.inc({ result: messages.length ? 'messages' : 'empty' });
    metrics?.pollMessages.inc(messages.length);
    res.setHeader('cache-control', 'no-store');
    res.type('application/json').send(pollResponseBody(messages));
  });

  r.post('/v1/subscriptions/:id/ack', json, async (req, res) => {
    const sub = await pollSubscription(req);
    const body = parseBody(ackSchema, req.body, 'poll.invalid');
    const results = await tracePoll('ack', deps.names.messagesStream, deps.names.pollConsumer(sub.id), () =>
      settlePollMessages(deps, sub, body.ackIds, { kind: 'ack' }, body.attempts),
    );
    metrics?.pollSettlements.inc({ kind: 'ack' }, body.ackIds.length);
    res.json({ results } satisfies SettleResults);
  });

  r.post('/v1/subscriptions/:id/nack', json, async (req, res) => {
    const sub = await pollSubscription(req);
    const body = parseBody(nackSchema, req.body, 'poll.invalid');
    const results = await tracePoll('nack', deps.names.messagesStream, deps.names.pollConsumer(sub.id), () =>
      settlePollMessages(deps, sub, body.ackIds, { kind: 'nack', delayMs: body.delayMs }, body.attempts),
    );
    metrics?.pollSettlements.inc({ kind: 'nack' }, body.ackIds.length);
    res.json({ results } satisfies SettleResults);
  });

  return r;
}

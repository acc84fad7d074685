import { nanos } from 'nats';
import type { z } from 'zod';
import { recordPollAttempts, recordPollDeliveries } from '../../../shared/db/poll-deliveries.js';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ConflictError, UnavailableError, ValidationError } from '../../../shared/errors.js';
import { deliveryId } from '../../../shared/ids.js';
import type { ackIdErrorSchema } from '../middleware/problem.js';
import { verifyAckId, type AckIdProblem, type AckReplyInfo, type AckToken } from './ack-id.js';
import type { PollDeps } from './fetch-messages.js';

/** Most ack ids in one ack or nack: the largest poll. */
export const MAX_ACK_IDS = 1000;
/**
 * Longest nack delay. A delayed message keeps its ack-pending slot while it waits (JetStream 2.9), so
 * the delay is bounded like everything else that holds a slot.
 */
export const MAX_NACK_DELAY_MS = 3_600_000;

export type Settlement = { kind: 'ack' } | { kind: 'nack'; delayMs?: number };

/** A poller's account of passing one handed-out message on: becomes the attempt of that hand-out. */
export interface AttemptReport {
  ackId: string;
  durationMs: number;
  statusCode?: number;
  error?: string;
  responseExcerpt?: string;
}

/** The answer for one ack id, in request order. */
export interface SettleResult {
  ackId: string;
  messageId: string;
  status: 'acked' | 'nacked';
}

const DETAIL: Record<AckIdProblem, string> = {
  malformed: 'is not an ack id this API issued',
  forged: 'does not carry a valid signature',
  wrong_subscription: 'belongs to another subscription',
  expired: 'has expired: its ack timeout passed, so the message is (or will be) handed out again',
};

const ACK = new TextEncoder().encode('+ACK');

/**
 * Acks or nacks handed-out messages. Every ack id is checked first and nothing is settled unless all
 * are good: a request naming a bad id is refused whole (400 for malformed, forged or foreign ids; 409
 * when the only problem is expiry), with one entry per bad id, so a client never has to guess which
 * part of a batch took effect. JetStream is told with plain publishes and one flush (the server has them
 * when the flush returns); the delivery log is updated after, best effort.
 */
export async function settlePollMessages(
  deps: PollDeps,
  sub: SubscriptionRecord,
  ackIds: string[],
  how: Settlement,
  reports: AttemptReport[] = [],
): Promise<SettleResult[]> {
  const now = Date.now();
  const expected = {
    subscriptionId: sub.id,
    tenant: sub.tenant,
    stream: deps.names.messagesStream,
    consumer: deps.names.pollConsumer(sub.id),
    now,
  };
  const good: { ackId: string; token: AckToken; delivery: AckReplyInfo }[] = [];
  // Typed by the documented item shape, so an ack id problem the OpenAPI document does not list fails to compile.
  const errors: z.output<typeof ackIdErrorSchema>[] = [];
  ackIds.forEach((ackId, index) => {
    const check = verifyAckId(deps.ackKey, ackId, expected);
    if (check.ok) good.push({ ackId, token: check.token, delivery: check.delivery });
    else errors.push({ index, problem: check.problem, detail: `ackIds[${index}] ${DETAIL[check.problem]}.` });
  });
  const settled = new Set(ackIds);
  reports.forEach((r, index) => {
    if (!settled.has(r.ackId)) {
      errors.push({ index, problem: 'malformed', detail: `attempts[${index}].ackId is not one of ackIds.` });
    }
  });
  if (errors.length) {
    const onlyExpired = errors.every((e) => e.problem === 'expired');
    const summary = `${errors.length} of ${ackIds.length} ack ids refused; nothing was ${how.kind === 'ack' ? 'acked' : 'nacked'}. ${errors[0]!.detail}`;
    if (onlyExpired) throw new ConflictError('poll.ack_expired', summary, { extensions: { errors } });
    throw new ValidationError('poll.invalid_ack_id', summary, { extensions: { errors } });
  }

  const payload =
    how.kind === 'ack' ? ACK : new TextEncoder().encode(how.delayMs ? `-NAK ${JSON.stringify({ delay: nanos(how.delayMs) })}` : '-NAK');
  try {
    for (const g of good) deps.nc.publish(g.token.reply, payload);
    await deps.nc.flush();
  } catch (err) {
    throw new UnavailableError('poll.unavailable', 'The message store is unavailable; the messages were not settled. Retry.', { cause: err });
  }
  await recordPollDeliveries(
    deps.pool,
    good.map((g) => ({
      deliveryId: deliveryId(g.token.messageId, sub.id),
      messageId: g.token.messageId,
      subscriptionId: sub.id,
      tenant: sub.tenant,
      streamSeq: g.delivery.streamSeq,
      status: how.kind === 'ack' ? ('succeeded' as const) : ('failed' as const),
      attempt: g.delivery.deliveryCount,
      lastError: how.kind === 'nack' ? 'nacked by the poller' : null,
    })),
  )
    .then(() => {
      const byAckId = new Map(good.map((g) => [g.ackId, g]));
      return recordPollAttempts(
        deps.pool,
        reports.map((r) => {
          const g = byAckId.get(r.ackId)!;
          return {
            deliveryId: deliveryId(g.token.messageId, sub.id),
            n: g.delivery.deliveryCount,
            startedAt: new Date(now - r.durationMs),
            durationMs: r.durationMs,
            statusCode: r.statusCode,
            error: r.error,
            responseExcerpt: r.responseExcerpt,
          };
        }),
      );
    })
    .catch((err) => deps.logger.warn({ err, subscriptionId: sub.id }, 'could not record poll settlements'));
  const status = how.kind === 'ack' ? ('acked' as const) : ('nacked' as const);
  return good.map((g) => ({ ackId: g.ackId, messageId: g.token.messageId, status }));
}

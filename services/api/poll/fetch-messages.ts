import type { ConsumerInfo, JetStreamManager, Msg, NatsConnection } from 'nats';
import { touchPollSubscription } from './expire-poll-subscriptions.js';
import { recordPollDeliveries, isLiveSubscription, type PollDeliveryChange } from '../../../shared/db/poll-deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { inSubscriptionWrite, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { NotFoundError, UnavailableError } from '../../../shared/errors.js';
import { deliveryId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { MessageWithPayload } from '../../../shared/message.js';
import { HEADERS, type Names } from '../../../shared/nats/subjects.js';
import { payloadJson, withJsonMember } from '../http/payload-json.js';
import { encodeAckId, parseAckReply } from './ack-id.js';
import { pollConsumerExists, pollOptions, recreatePollConsumer } from './poll-consumer.js';
import type { PolledFields } from './poll-views.js';
import { pull, type Pulled } from './pull.js';

/** Largest `max` of one poll. */
export const MAX_POLL_BATCH = 1000;
/** Longest `wait` of one poll, in seconds. */
export const MAX_POLL_WAIT_S = 30;
/**
 * Byte budget of one poll's JetStream answer. Above the largest payload Hookline accepts (16 MiB), so a
 * single message always fits, and a bound on what one response holds however large `max` is.
 */
export const POLL_MAX_BYTES = 17 * 1024 * 1024;
/**
 * A no-wait pull is answered within milliseconds, except when the consumer's ack-pending limit is
 * reached: nats-server 2.9 then parks it until a slot frees instead of answering 404. The slots are
 * checked before pulling; this bounds the rare race in which other pollers take them meanwhile.
 */
const NO_WAIT_TIMEOUT_MS = 2_000;
/** Slack past a long poll's expiry before its silence counts as no answer. */
const EXPIRY_SLACK_MS = 3_000;

export interface PollDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  pool: Pool;
  names: Names;
  logger: Logger;
  ackKey: Buffer;
}

/** One message as a poller receives it; `data` is spliced into the answer as JSON text (see payloadJson). */
export interface PolledMessage extends MessageWithPayload {
  ackId: string;
  /** JetStream's delivery count: 1 the first time, higher after an ack timeout or a nack. */
  attempt: number;
}

/** The body of a poll's answer: `{"messages":[{id, topic, publishedAt, ackId, attempt, data}, ...]}`. */
export function pollResponseBody(messages: PolledMessage[]): string {
  const fields = (m: PolledMessage): PolledFields => ({ id: m.id, topic: m.topic, publishedAt: m.publishedAt, ackId: m.ackId, attempt: m.attempt });
  return `{"messages":[${messages.map((m) => withJsonMember(fields(m), 'data', m.data)).join(',')}]}`;
}

interface Fetched {
  msg: Msg;
  receivedAt: number;
  id: string;
  topic: string;
  publishedAt: string;
  streamSeq: number;
  attempt: number;
}

const TERM = new TextEncoder().encode('+TERM');
const NAK = new TextEncoder().encode('-NAK');

/**
 * Hands out up to `max` messages of a poll subscription, long-polling up to `waitMs` for the first.
 *
 * A pull request with a batch of `max` and an expiry would hold the answer until the batch is full or
 * the expiry passes (nats-server 2.9 has no "return early"), so: take what is there now (no-wait); if
 * nothing is, wait for exactly one message (batch 1: the request is complete the moment it arrives) and
 * then take whatever else is there. Messages fetched past `maxAttempts` are recorded dead and
 * terminated, never handed out.
 */
export async function fetchPollMessages(
  deps: PollDeps,
  sub: SubscriptionRecord,
  q: { max: number; waitMs: number; signal?: AbortSignal },
): Promise<PolledMessage[]> {
  const opts = pollOptions(sub);
  if (opts.expireAfterIdleMs) await touchPollSubscription(deps.pool, sub.id, opts.expireAfterIdleMs);
  const subject = deps.names.pollNextSubject(sub.id);
  const deadline = Date.now() + q.waitMs;
  const handedOut: Fetched[] = [];

  let info = await consumerInfo(deps, sub.id);
  if (!info) {
    await ensureConsumer(deps, sub);
    info = await consumerInfo(deps, sub.id);
    if (!info) throw new UnavailableError('poll.unavailable', 'The poll subscription\'s consumer is unavailable; retry.');
  }
  // Ack-pending slots left: a pull beyond them would be parked by the server rather than answered.
  const maxAckPending = info.config.max_ack_pending ?? -1;
  let slots = maxAckPending > 0 ? maxAckPending - info.num_ack_pending : Infinity;

  const request = async (batch: number, waitMs: number): Promise<Pulled[]> => {
    const req = waitMs > 0 ? { batch, expiresMs: waitMs } : { batch, noWait: true };
    const r = await pull(deps.nc, subject, { ...req, maxBytes: POLL_MAX_BYTES }, {
      timeoutMs: waitMs > 0 ? waitMs + EXPIRY_SLACK_MS : NO_WAIT_TIMEOUT_MS,
      signal: q.signal,
    });
    if (r.status?.code === 409 && !r.messages.length) {
      if (/max ?waiting/i.test(r.status.description)) {
        throw new UnavailableError('poll.busy', `Too many polls are waiting on this subscription (${r.status.description}); retry.`);
      }
      if (/consumer deleted/i.test(r.status.description)) {
        throw new UnavailableError('poll.unavailable', 'The poll subscription\'s consumer went away during the poll; retry.');
      }
    }
    slots -= r.messages.length;
    return r.messages;
  };

  // Bounded by the deadline: each turn either hands something out, retires dead messages, or waits.
  for (let turn = 0; turn < 100; turn++) {
    let batch = slots > 0 ? await request(Math.min(q.max - handedOut.length, slots), 0) : [];
    const remaining = deadline - Date.now();
    if (!batch.length && !handedOut.length && remaining > 0 && !q.signal?.aborted) {
      // Waits for a free slot too, so it also serves a subscription whose slots are all taken.
      batch = await request(1, remaining);
      if (batch.length && q.max > 1 && slots > 0 && !q.signal?.aborted) {
        batch.push(...(await request(Math.min(q.max - 1, slots), 0)));
      }
    }
    const fetched = batch.map((p) => describe(deps.names, p)).filter((f): f is Fetched => f !== undefined);
    const dead = fetched.filter((f) => f.attempt > opts.maxAttempts);
    handedOut.push(...fetched.filter((f) => f.attempt <= opts.maxAttempts));
    if (dead.length) {
      await retireDead(deps, sub, dead, opts);
      slots += dead.length;
    }
    if (q.signal?.aborted) {
      // Nobody will read the answer: give the messages back now instead of after the ack timeout.
      for (const f of handedOut) f.msg.respond(NAK);
      return [];
    }
    if (handedOut.length || !dead.length || Date.now() >= deadline) break;
  }
  if (!handedOut.length) return [];

  await recordPollDeliveries(
    deps.pool,
    handedOut.map((f) => change(sub, f, f.attempt === 1 ? 'pending' : 'failed')),
  ).catch((err) => deps.logger.warn({ err, subscriptionId: sub.id }, 'could not record poll hand-outs'));
  return handedOut.map((f) => ({
    id: f.id,
    topic: f.topic,
    publishedAt: f.publishedAt,
    ackId: encodeAckId(deps.ackKey, {
      subscriptionId: sub.id,
      tenant: sub.tenant,
      messageId: f.id,
      // From arrival, not from now: an ack id must not outlive the server's ack wait by our own latency.
      expiresAt: f.receivedAt + opts.ackTimeoutMs,
      reply: f.msg.reply!,
    }),
    attempt: f.attempt,
    data: payloadJson(f.msg.data),
  }));
}

async function consumerInfo(deps: PollDeps, id: string): Promise<ConsumerInfo | undefined> {
  try {
    return await deps.jsm.consumers.info(deps.names.messagesStream, deps.names.pollConsumer(id));
  } catch (err) {
    const e = err as { code?: string; api_error?: { err_code?: number } };
    if (e.api_error?.err_code === 10014 || e.code === '404') return undefined;
    throw new UnavailableError('poll.unavailable', 'The message store is unavailable; retry.', { cause: err });
  }
}

function describe(n: Names, { msg, receivedAt }: Pulled): Fetched | undefined {
  const info = msg.reply ? parseAckReply(msg.reply) : undefined;
  const where = n.parseMessageSubject(msg.subject);
  const id = msg.headers?.get(HEADERS.messageId);
  if (!info || !where || !id) {
    // Not a Hookline message (published around the API): nothing a poller could use.
    if (msg.reply) msg.respond(TERM);
    return undefined;
  }
  return {
    msg,
    receivedAt,
    id,
    topic: where.topic,
    publishedAt: msg.headers!.get(HEADERS.publishedAt),
    streamSeq: info.streamSeq,
    attempt: info.deliveryCount,
  };
}

function change(sub: SubscriptionRecord, f: Fetched, status: PollDeliveryChange['status'], lastError?: string): PollDeliveryChange {
  return {
    deliveryId: deliveryId(f.id, sub.id),
    messageId: f.id,
    subscriptionId: sub.id,
    tenant: sub.tenant,
    streamSeq: f.streamSeq,
    status,
    attempt: status === 'dead' ? f.attempt - 1 : f.attempt,
    lastError,
    message: { topic: f.topic, publishedAt: new Date(f.publishedAt || Date.now()) },
  };
}

/**
 * Records messages past their last attempt as dead, then terminates them in JetStream. If the record
 * cannot be written they are left unacked and come back after the ack timeout, to be retired then: the
 * consumer never gives up on its own (max_deliver is unlimited), so no dead message goes unrecorded.
 */
async function retireDead(deps: PollDeps, sub: SubscriptionRecord, dead: Fetched[], opts: { maxAttempts: number; ackTimeoutMs: number }) {
  const reason = `not acknowledged after ${opts.maxAttempts} attempt${opts.maxAttempts === 1 ? '' : 's'} (ack timeout ${opts.ackTimeoutMs} ms)`;
  try {
    await recordPollDeliveries(deps.pool, dead.map((f) => change(sub, f, 'dead', reason)));
  } catch (err) {
    deps.logger.warn({ err, subscriptionId: sub.id, count: dead.length }, 'could not record dead poll deliveries; they will come back');
    return;
  }
  for (const f of dead) f.msg.respond(TERM);
  deps.logger.info({ subscriptionId: sub.id, messageIds: dead.map((f) => f.id) }, 'poll deliveries dead');
}

/**
 * The consumer did not answer. If the subscription is still live and its consumer is gone, recreate it
 * from the subscription's start; under the subscription write lock, so a concurrent delete (which
 * removes the consumer under the same lock) cannot be undone by it.
 */
async function ensureConsumer(deps: PollDeps, sub: SubscriptionRecord): Promise<void> {
  const opts = pollOptions(sub);
  const recreated = await inSubscriptionWrite(deps.pool, async (db) => {
    if (!(await isLiveSubscription(db, sub.id))) {
      throw new NotFoundError('subscription.not_found', `Subscription ${sub.id} does not exist.`);
    }
    if (await pollConsumerExists(deps.jsm, deps.names, sub.id)) return false;
    await recreatePollConsumer(
      deps.jsm,
      deps.names,
      { id: sub.id, tenant: sub.tenant, topic: sub.topic, ordered: sub.ordered, ackTimeoutMs: opts.ackTimeoutMs },
      opts.startSeq,
    );
    return true;
  });
  if (recreated) deps.logger.warn({ subscriptionId: sub.id, startSeq: opts.startSeq }, 'poll consumer was missing; recreated from the subscription start');
}

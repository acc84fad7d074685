import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JetStreamManager } from 'nats';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import type { Names } from '../../../shared/nats/subjects.js';

/** What a poll subscription keeps in its `options` column. */
export interface PollOptions {
  /** How long a handed-out message may stay unacknowledged before it is handed out again. */
  ackTimeoutMs: number;
  /** Hand-outs before a message is declared dead. */
  maxAttempts: number;
  /** The stream's last sequence when the consumer was created: every matching message after it is owed. */
  startSeq: number;
  /** Set on a session subscription: it is deleted once not polled for this long. */
  expireAfterIdleMs?: number;
  /** When it will be deleted unless polled before (ISO time); each poll moves it. */
  expiresAt?: string;
}

/** @default 30 s */
export const DEFAULT_ACK_TIMEOUT_MS = 30_000;
/** @default 5 */
export const DEFAULT_POLL_MAX_ATTEMPTS = 5;
/**
 * Messages one poll subscription may have handed out and unacknowledged at once (all pollers together).
 * A poll of `max` up to 1000 never needs more than this; `ordered: true` lowers it to 1.
 */
export const POLL_MAX_ACK_PENDING = 10_000;

export function pollOptions(sub: Pick<SubscriptionRecord, 'options'>): PollOptions {
  const o = sub.options as Partial<PollOptions>;
  return {
    ackTimeoutMs: Number(o.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS),
    maxAttempts: Number(o.maxAttempts ?? DEFAULT_POLL_MAX_ATTEMPTS),
    startSeq: Number(o.startSeq ?? 0),
    ...(o.expireAfterIdleMs ? { expireAfterIdleMs: Number(o.expireAfterIdleMs), expiresAt: o.expiresAt } : {}),
  };
}

/** What the consumer is derived from; the subscription row is the source of truth. */
export interface PollConsumerSpec {
  id: string;
  tenant: string;
  topic: string;
  ordered: boolean;
  ackTimeoutMs: number;
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number } };
  return e.api_error?.err_code === 10014 || e.code === '404';
}

function consumerConfig(n: Names, s: PollConsumerSpec): Partial<ConsumerConfig> {
  return {
    durable_name: n.pollConsumer(s.id),
    description: `Hookline poll subscription ${s.id}`,
    filter_subject: n.messageFilter(s.tenant, s.topic),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackTimeoutMs),
    // Unlimited: Hookline declares a message dead itself (recorded in Postgres, then terminated) when it
    // is fetched past maxAttempts. A server-side limit would stop redelivery even if that record failed.
    max_deliver: -1,
    max_ack_pending: s.ordered ? 1 : POLL_MAX_ACK_PENDING,
  };
}

/**
 * Creates the durable pull consumer of a new poll subscription, delivering only messages published from
 * now on, or those still retained from `since` on. @returns the stream's last sequence at creation (the subscription's `startSeq`).
 */
export async function createPollConsumer(
  jsm: JetStreamManager,
  n: Names,
  s: PollConsumerSpec,
  since?: PollStart,
): Promise<number> {
  const start =
    since === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : typeof since === 'number'
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: since + 1 }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() };
  const ci = await jsm.consumers.add(n.messagesStream, { ...consumerConfig(n, s), ...start });
  return ci.delivered.stream_seq;
}

/** Where a new poll subscription starts instead of "from now on": after a stream sequence, or at a publish time. */
export type PollStart = number | Date;

/**
 * Recreates a consumer that has gone missing (deleted by hand, lost with a JetStream store) from the
 * subscription's start: every message it is owed that is still retained comes again; acks already
 * given are lost with the old consumer, so some come twice (at least once).
 */
export async function recreatePollConsumer(jsm: JetStreamManager, n: Names, s: PollConsumerSpec, startSeq: number) {
  await jsm.consumers.add(n.messagesStream, {
    ...consumerConfig(n, s),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq + 1,
  });
}

/** Applies a changed pattern, ack timeout or ordering to the live consumer; its cursor stays where it is. */
export async function updatePollConsumer(jsm: JetStreamManager, n: Names, s: PollConsumerSpec): Promise<void> {
  const { durable_name: _d, ...changes } = consumerConfig(n, s);
  await jsm.consumers.update(n.messagesStream, n.pollConsumer(s.id), changes);
}

/** Deletes the consumer; one that is already gone counts as deleted. */
export async function deletePollConsumer(jsm: JetStreamManager, n: Names, id: string): Promise<void> {
  try {
    await jsm.consumers.delete(n.messagesStream, n.pollConsumer(id));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** True when the consumer exists. */
export async function pollConsumerExists(jsm: JetStreamManager, n: Names, id: string): Promise<boolean> {
  try {
    await jsm.consumers.info(n.messagesStream, n.pollConsumer(id));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The stream's last sequence now. */
export async function lastStreamSeq(jsm: JetStreamManager, n: Names): Promise<number> {
  return (await jsm.streams.info(n.messagesStream)).state.last_seq;
}

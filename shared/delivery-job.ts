import type { JetStreamClient, MsgHdrs, PubAck } from 'nats';
import { currentDeliveryId } from './ids.js';
import type { Names } from './nats/subjects.js';

/**
 * The delivery job: its shape, how it is built, published and decoded. Every job in the DELIVERIES work
 * queue is written and read here: the router publishes first attempts, the dispatcher re-enqueues parked
 * deliveries and released ordered heads, and decodes what it pulls.
 *
 * A job holds ids, so the dispatcher acts on the delivery and subscription as they are now (only the
 * immutable message may travel with it, see EmbeddedMessage). On the wire its fields are single letters
 * (`d`, `s`, `m`, `q`, `n`): a job is published for every delivery and every retry, so its header stays
 * small; decodeJob maps them to names once.
 */
export interface DeliveryJob {
  deliveryId: string;
  subscriptionId: string;
  messageId: string;
  /** MESSAGES stream sequence of the message. */
  streamSeq: number;
  /** Which attempt this job is for (1-based). */
  attempt: number;
}

/**
 * The message a first-attempt job may carry, so the dispatcher need not read it back from MESSAGES. A
 * message is immutable, so a copy taken at routing time is the message. The router embeds it only while
 * its copies stay small (see services/router/fan-out.ts); retries never carry it, so they check the message
 * is still retained before sending.
 */
export interface EmbeddedMessage {
  tenant: string;
  topic: string;
  publishedAt: string;
  /** The payload's JSON text exactly as published. */
  data: string;
}

/** What a job carries on the way in: the message's fields, and its payload as the bytes stored. */
export type MessageToCarry = Omit<EmbeddedMessage, 'data'> & { data: Uint8Array };

/** A job with the message it carries, if any. */
export interface DecodedJob {
  job: DeliveryJob;
  message?: EmbeddedMessage;
}

/**
 * A delivery claimed in Postgres to be enqueued again (retry due, parked delivery released, ordered head
 * whose turn came): its next attempt is `attemptCount + 1`.
 */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  messageId: string;
  streamSeq: number;
  attemptCount: number;
  /** When this claim's lease ends: unique per claim, so it tells one enqueue of an attempt from another. */
  claimedUntil: Date;
}

/** The job on the wire. */
interface WireJob {
  d: string;
  s: string;
  m: string;
  q: number;
  n: number;
  e?: { tenant: string; topic: string; publishedAt: string };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;

function toWire(job: DeliveryJob): WireJob {
  return { d: job.deliveryId, s: job.subscriptionId, m: job.messageId, q: job.streamSeq, n: job.attempt };
}

/** The first attempt of a delivery the router has just recorded. */
export function firstAttemptJob(ids: Omit<DeliveryJob, 'attempt'>): DeliveryJob {
  return { ...ids, attempt: 1 };
}

/** The next attempt of a claimed delivery. */
export function nextAttemptJob(d: ClaimedDelivery): DeliveryJob {
  return { deliveryId: d.id, subscriptionId: d.subscriptionId, messageId: d.messageId, streamSeq: d.streamSeq, attempt: d.attemptCount + 1 };
}

/**
 * The job as one JSON line, followed by the raw payload bytes when it carries its message: the payload is
 * neither escaped into a JSON string nor parsed on the way (JSON.stringify never writes a raw newline).
 */
export function encodeJob(job: DeliveryJob, message?: MessageToCarry): Uint8Array {
  if (!message) return encoder.encode(JSON.stringify(toWire(job)));
  const header: WireJob = { ...toWire(job), e: { tenant: message.tenant, topic: message.topic, publishedAt: message.publishedAt } };
  const head = encoder.encode(`${JSON.stringify(header)}\n`);
  const out = new Uint8Array(head.length + message.data.length);
  out.set(head);
  out.set(message.data, head.length);
  return out;
}

/** Parses a job, or returns undefined for anything that is not one (it is then dropped, not retried). */
export function decodeJob(data: Uint8Array): DecodedJob | undefined {
  try {
    const nl = data.indexOf(NEWLINE);
    const j = JSON.parse(decoder.decode(nl < 0 ? data : data.subarray(0, nl))) as WireJob;
    if (typeof j.d !== 'string' || typeof j.s !== 'string' || typeof j.m !== 'string' || !Number.isInteger(j.q) || !Number.isInteger(j.n)) {
      return undefined;
    }
    // A job enqueued before delivery ids carried their message's time names the row by its old id.
    const job: DeliveryJob = {
      deliveryId: currentDeliveryId(j.d, j.m),
      subscriptionId: j.s,
      messageId: j.m,
      streamSeq: j.q,
      attempt: j.n,
    };
    const e = j.e;
    if (nl < 0 || !e || typeof e.tenant !== 'string' || typeof e.topic !== 'string' || typeof e.publishedAt !== 'string') return { job };
    return { job, message: { tenant: e.tenant, topic: e.topic, publishedAt: e.publishedAt, data: decoder.decode(data.subarray(nl + 1)) } };
  } catch {
    return undefined;
  }
}

/**
 * The JetStream message id of a job. The router's first job is "<deliveryId>:1", so routing a message
 * again is a duplicate; a job re-enqueued from Postgres also names its claim, because the same attempt
 * may legitimately be enqueued again (a paused delivery resumed, a throttled one released).
 */
export function jobMsgId(job: DeliveryJob, claim?: Date): string {
  return claim ? `${job.deliveryId}:${job.attempt}:${claim.getTime()}` : `${job.deliveryId}:${job.attempt}`;
}

/** How a job is published: the message it carries, the claim it comes from, trace headers. */
export interface PublishJobOptions {
  message?: MessageToCarry;
  claim?: Date;
  headers?: MsgHdrs;
}

/** The subject a job is published on: its subscription's, so consumers may filter by subscription. */
export function jobSubject(names: Names, job: DeliveryJob): string {
  return names.deliverySubject(job.subscriptionId);
}

/** Publishes one job to DELIVERIES, deduplicated by its message id (see jobMsgId). */
export function publishJob(js: JetStreamClient, names: Names, job: DeliveryJob, options: PublishJobOptions = {}): Promise<PubAck> {
  return js.publish(jobSubject(names, job), encodeJob(job, options.message), {
    msgID: jobMsgId(job, options.claim),
    headers: options.headers,
  });
}

/** Publishes the next attempt of a delivery claimed in Postgres. */
export function publishClaimed(js: JetStreamClient, names: Names, d: ClaimedDelivery): Promise<PubAck> {
  return publishJob(js, names, nextAttemptJob(d), { claim: d.claimedUntil });
}

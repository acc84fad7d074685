import { currentDeliveryId } from './ids.js';

/**
 * A delivery job in the DELIVERIES work queue: ids, so the dispatcher acts on the delivery and subscription
 * as they are now (only the immutable message may travel with it, see EmbeddedMessage).
 */
export interface DeliveryJob {
  /** delivery id */
  d: string;
  /** subscription id */
  s: string;
  /** message id */
  m: string;
  /** MESSAGES stream sequence of the message */
  q: number;
  /** which attempt this job is for (1-based) */
  n: number;
}

/**
 * The message a first-attempt job may carry, so the dispatcher need not read it back from MESSAGES. A
 * message is immutable, so a copy taken at routing time is the message. The router embeds it only while
 * its copies stay small (see fan-out.ts); retries never carry it, so they check the message is still
 * retained before sending.
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

type Header = DeliveryJob & { e?: { tenant: string; topic: string; publishedAt: string } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;

/**
 * The job as one JSON line, followed by the raw payload bytes when it carries its message: the payload is
 * neither escaped into a JSON string nor parsed on the way (JSON.stringify never writes a raw newline).
 */
export function encodeJob(job: DeliveryJob, message?: MessageToCarry): Uint8Array {
  if (!message) return encoder.encode(JSON.stringify(job));
  const header: Header = { ...job, e: { tenant: message.tenant, topic: message.topic, publishedAt: message.publishedAt } };
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
    const j = JSON.parse(decoder.decode(nl < 0 ? data : data.subarray(0, nl))) as Header;
    if (typeof j.d !== 'string' || typeof j.s !== 'string' || typeof j.m !== 'string' || !Number.isInteger(j.q) || !Number.isInteger(j.n)) {
      return undefined;
    }
    // A job enqueued before delivery ids carried their message's time names the row by its old id.
    const job: DeliveryJob = { d: currentDeliveryId(j.d, j.m), s: j.s, m: j.m, q: j.q, n: j.n };
    const e = j.e;
    if (nl < 0 || !e || typeof e.tenant !== 'string' || typeof e.topic !== 'string' || typeof e.publishedAt !== 'string') return { job };
    return { job, message: { tenant: e.tenant, topic: e.topic, publishedAt: e.publishedAt, data: decoder.decode(data.subarray(nl + 1)) } };
  } catch {
    return undefined;
  }
}

/**
 * The JetStream message id of a job. The router's first job is "<deliveryId>:1", so routing a message
 * again is a duplicate; a job the scheduler re-enqueues also names its claim, because the same attempt
 * may legitimately be enqueued again (a paused delivery resumed, a throttled one released).
 */
export function jobMsgId(job: DeliveryJob, claim?: Date): string {
  return claim ? `${job.d}:${job.n}:${claim.getTime()}` : `${job.d}:${job.n}`;
}

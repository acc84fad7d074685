import type { JetStreamManager, StoredMsg } from 'nats';
import type { MessageWithPayload } from '../message.js';
import { HEADERS, type Names } from './subjects.js';

/** A message as read back from the MESSAGES stream; `data` is the payload's JSON text exactly as published. */
export interface StoredMessage extends MessageWithPayload {
  tenant: string;
  streamSeq: number;
  /** The hash of the publish request that stored it, when it was published with an Idempotency-Key. */
  requestHash?: string;
  /** The W3C trace context the message was published in, when tracing was on (see docs/observability.md). */
  traceparent?: string;
  tracestate?: string;
}

const decoder = new TextDecoder();

/** The manager's direct-get API exists at runtime but is missing from the exported interface in nats 2.29. */
type WithDirect = { direct: { getMessage(stream: string, q: { seq: number }): Promise<StoredMsg> } };

function isMissing(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e.code === '404' || e.api_error?.err_code === 10037 || /no message found/i.test(e.message ?? '');
}

/**
 * Reads messages by stream sequence with JetStream's direct get, keeping the most recent ones in a small
 * LRU: a message fanned out to ten subscriptions is fetched once, not ten times.
 */
export class MessageStore {
  private readonly cache = new Map<number, Promise<StoredMessage | undefined>>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly n: Names,
    private readonly capacity = 4096,
  ) {}

  /** The message at `streamSeq`, or undefined once retention has removed it. */
  get(streamSeq: number): Promise<StoredMessage | undefined> {
    const hit = this.cache.get(streamSeq);
    if (hit) {
      this.cache.delete(streamSeq);
      this.cache.set(streamSeq, hit);
      return hit;
    }
    const pending = this.fetch(streamSeq);
    this.cache.set(streamSeq, pending);
    pending.catch(() => this.cache.delete(streamSeq));
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as number);
    return pending;
  }

  private async fetch(streamSeq: number): Promise<StoredMessage | undefined> {
    try {
      const sm = await (this.jsm as unknown as WithDirect).direct.getMessage(this.n.messagesStream, { seq: streamSeq });
      const where = this.n.parseMessageSubject(sm.subject);
      const id = sm.header?.get(HEADERS.messageId);
      if (!where || !id) return undefined;
      return {
        id,
        tenant: where.tenant,
        topic: where.topic,
        publishedAt: sm.header.get(HEADERS.publishedAt),
        streamSeq: sm.seq,
        data: decoder.decode(sm.data),
        ...(sm.header.has(HEADERS.requestHash) ? { requestHash: sm.header.get(HEADERS.requestHash) } : {}),
        traceparent: sm.header.get('traceparent') || undefined,
        tracestate: sm.header.get('tracestate') || undefined,
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
}

import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient } from 'nats';
import type { Context } from '@opentelemetry/api';
import type { MessageWithPayload } from '../../../shared/message.js';
import { HEADERS, type Names } from '../../../shared/nats/subjects.js';
import { payloadJson } from '../http/payload-json.js';
import { extractNats } from '../../../shared/tracing/spans.js';

/**
 * One message of a live feed; `streamSeq` is the position a client resumes after. Its `data` is compact
 * JSON text (one line, as an SSE `data:` field needs).
 */
export interface FeedMessage extends MessageWithPayload {
  streamSeq: number;
  /** The trace the message was published in (only while tracing is on). */
  trace?: Context;
}

/** Where a feed starts: new messages only, or right after a sequence the client has seen. */
export type FeedStart = { after: number } | 'new';

/** A live feed of a tenant's pattern: iterate it, close it when the client goes. */
export interface LiveFeed extends AsyncIterable<FeedMessage> {
  close(): Promise<void>;
}


/**
 * Opens an ordered consumer on MESSAGES filtered to the tenant's pattern. Ordered consumers are
 * ephemeral, flow-controlled and recreated by the client library on a gap, so the feed is gap-free and
 * in stream order; the one consumer is deleted on close (and expires on the server if this process dies).
 * Resolves once the consumer exists: every message published after that is in the feed.
 */
export async function openLiveFeed(
  js: JetStreamClient,
  n: Names,
  q: { tenant: string; pattern: string; start: FeedStart; bufferBytes: number },
): Promise<LiveFeed> {
  const consumer: Consumer = await js.consumers.get(n.messagesStream, {
    name_prefix: n.liveConsumerPrefix,
    filterSubjects: n.messageFilter(q.tenant, q.pattern),
    ...(q.start === 'new'
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: q.start.after + 1 }),
    inactive_threshold: 30_000,
  });
  let messages: ConsumerMessages;
  try {
    // Bytes, not messages, bound what JetStream pushes ahead of a slow client into this process.
    messages = await consumer.consume({ max_bytes: q.bufferBytes });
  } catch (err) {
    await consumer.delete().catch(() => {});
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    async *[Symbol.asyncIterator]() {
      for await (const m of messages) {
        const where = n.parseMessageSubject(m.subject);
        const id = m.headers?.get(HEADERS.messageId);
        if (!where || !id) continue;
        yield {
          streamSeq: m.seq,
          id,
          topic: where.topic,
          publishedAt: m.headers!.get(HEADERS.publishedAt),
          data: payloadJson(m.data),
          trace: extractNats(m.headers),
        };
      }
    },
    close() {
      closed ??= (async () => {
        messages.stop();
        await consumer.delete().catch(() => {});
      })();
      return closed;
    },
  };
}

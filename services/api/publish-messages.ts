import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { UnavailableError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { MessageStore } from '../../shared/nats/message-store.js';
import { HEADERS, type Names } from '../../shared/nats/subjects.js';

export interface PublishDeps {
  js: JetStreamClient;
  names: Names;
  messages: MessageStore;
}

/** The answer to a publish: the message's id, and whether it was an earlier publish replayed. */
export interface Published {
  id: string;
  topic: string;
  publishedAt: string;
  duplicate: boolean;
}

const encoder = new TextEncoder();

/**
 * Stores messages in the MESSAGES stream (file storage) and resolves once JetStream has acknowledged
 * them: that acknowledgement is what "202 Accepted" means. With an idempotency key the JetStream
 * message id is derived from it, so a repeat within the dedupe window returns the original message.
 * Batches are pipelined: every publish is in flight before the first acknowledgement is awaited.
 */
export async function publishMessages(
  deps: PublishDeps,
  tenant: string,
  topic: string,
  payloads: string[],
  idempotencyKey?: string,
): Promise<Published[]> {
  const subject = deps.names.messageSubject(tenant, topic);
  return Promise.all(
    payloads.map(async (data, i) => {
      const id = newId('msg');
      const publishedAt = new Date().toISOString();
      const h = natsHeaders();
      h.set(HEADERS.messageId, id);
      h.set(HEADERS.publishedAt, publishedAt);
      const msgID = idempotencyKey
        ? `${tenant}:${topic}:${idempotencyKey}${payloads.length > 1 ? `:${i}` : ''}`
        : id;
      let ack;
      try {
        ack = await deps.js.publish(subject, encoder.encode(data), { msgID, headers: h });
      } catch (err) {
        throw new UnavailableError(
          'publish.unavailable',
          'The message store did not confirm the message, so it may or may not be stored. ' +
            'Retry with the same Idempotency-Key to be sure it is stored once.',
          { cause: err },
        );
      }
      if (!ack.duplicate) return { id, topic, publishedAt, duplicate: false };
      // JetStream answers a duplicate with the original's sequence: read its id back. The read can fail
      // (a stream leader election between the two calls): the key makes a retry safe, so say so.
      const original = await deps.messages.get(ack.seq).catch((err: unknown) => {
        throw new UnavailableError(
          'publish.unavailable',
          'The message is stored, but the message store did not answer which message it is. Retry with the same Idempotency-Key.',
          { cause: err },
        );
      });
      return {
        id: original?.id ?? id,
        topic,
        publishedAt: original?.publishedAt ?? publishedAt,
        duplicate: true,
      };
    }),
  );
}

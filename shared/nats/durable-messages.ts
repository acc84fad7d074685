import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import type { Logger } from '../logger.js';

/** Where {@link durableMessages} reads from and how it reports. */
export interface DurableMessagesOptions {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  /** Messages pulled per request. */
  maxMessages: number;
  logger: Logger;
  /** True once the owner is shutting down: the iteration then ends instead of reopening. */
  stopping: () => boolean;
  /** Receives each opened iterator, so the owner can `stop()` it on shutdown. */
  onOpen: (messages: ConsumerMessages) => void;
  /** Pause before reopening after the iterator ended or failed. @default 1000 */
  retryMs?: number;
}

/**
 * Messages of a durable pull consumer for as long as the owner runs. A consume iterator can end on its own
 * (the server restarted before JetStream was ready, the consumer was briefly missing, heartbeats were
 * lost); a router or dispatcher that silently stopped there would leave accepted work unprocessed
 * forever, so the iterator is reopened until the owner stops.
 */
export async function* durableMessages(o: DurableMessagesOptions): AsyncGenerator<JsMsg> {
  while (!o.stopping()) {
    try {
      const consumer = await o.js.consumers.get(o.stream, o.consumer);
      const messages = await consumer.consume({ max_messages: o.maxMessages });
      o.onOpen(messages);
      for await (const m of messages) yield m;
    } catch (err) {
      o.logger.warn({ err: String(err), consumer: o.consumer }, 'consuming failed');
    }
    if (o.stopping()) return;
    o.logger.warn({ consumer: o.consumer }, 'consumer iterator ended; reopening');
    await new Promise((r) => setTimeout(r, o.retryMs ?? 1000));
  }
}

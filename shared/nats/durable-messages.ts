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
  /**
   * How long the owner may wait for a message while the consumer reports messages pending before the
   * iterator is deemed stuck and reopened. @default 10000
   */
  stallMs?: number;
}

/**
 * Messages of a durable pull consumer for as long as the owner runs. A consume iterator can end on its own
 * (the server restarted before JetStream was ready, the consumer was briefly missing) or, after a
 * reconnect under load, stop delivering without ending. A router or dispatcher stuck there would leave
 * accepted work unprocessed forever, so an ended iterator is reopened, and one that leaves the owner
 * waiting while the consumer has messages pending is stopped and reopened.
 */
export async function* durableMessages(o: DurableMessagesOptions): AsyncGenerator<JsMsg> {
  const stallMs = o.stallMs ?? 10_000;
  while (!o.stopping()) {
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const consumer = await o.js.consumers.get(o.stream, o.consumer);
      const messages = await consumer.consume({ max_messages: o.maxMessages });
      o.onOpen(messages);
      let waitingSince = 0;
      let checking = false;
      watchdog = setInterval(() => {
        if (!waitingSince || checking || Date.now() - waitingSince < stallMs) return;
        checking = true;
        consumer
          .info(false)
          .then((info) => {
            if (waitingSince && Date.now() - waitingSince >= stallMs && info.num_pending > 0) {
              o.logger.warn({ consumer: o.consumer, pending: info.num_pending }, 'consumer stalled with messages pending; reopening');
              messages.stop();
            }
          })
          .catch(() => {})
          .finally(() => (checking = false));
      }, Math.max(1000, stallMs / 2));
      watchdog.unref();
      const it = messages[Symbol.asyncIterator]();
      for (;;) {
        waitingSince = Date.now();
        const r = await it.next();
        waitingSince = 0;
        if (r.done) break;
        yield r.value;
      }
    } catch (err) {
      o.logger.warn({ err: String(err), consumer: o.consumer }, 'consuming failed');
    } finally {
      if (watchdog) clearInterval(watchdog);
    }
    if (o.stopping()) return;
    o.logger.warn({ consumer: o.consumer }, 'consumer iterator ended; reopening');
    await new Promise((r) => setTimeout(r, o.retryMs ?? 1000));
  }
}

import { ConsumerEvents, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
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
  /**
   * How long each pull request lives on the server. The client notices a pull the server no longer holds
   * (its consumer leader died, a restarted server that was not ready) only by missing two idle heartbeats,
   * sent every half of this, and retries a failed consumer lookup after a reconnect after a random 0.5–1.5×
   * of it: the library's 30 s made every NATS node loss a silent stall of 30 to 45 s. @default 5000
   */
  pullExpiresMs?: number;
}

/** Consumer notices worth an operator's attention: each is the client recovering from a lost pull. */
const NOTEWORTHY = new Set<string>([
  ConsumerEvents.HeartbeatsMissed,
  ConsumerEvents.ConsumerNotFound,
  ConsumerEvents.StreamNotFound,
  ConsumerEvents.ConsumerDeleted,
  ConsumerEvents.NoResponders,
]);

/**
 * Messages of a durable pull consumer for as long as the owner runs. A pull request lives only on the
 * server leading the consumer: when that server dies or restarts, the request is gone, and the client
 * pulls again once two idle heartbeats are missed (or, after a reconnect, once the consumer answers):
 * short pulls keep that within seconds, and each recovery is logged. A consume iterator can also end on its
 * own (the server restarted before JetStream was ready, the consumer was briefly missing): it is reopened.
 * Last resort, for a stall nothing above explains: an iterator that leaves the owner waiting while the
 * consumer has messages pending is stopped and reopened, with a warning.
 */
export async function* durableMessages(o: DurableMessagesOptions): AsyncGenerator<JsMsg> {
  const stallMs = o.stallMs ?? 10_000;
  while (!o.stopping()) {
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const consumer = await o.js.consumers.get(o.stream, o.consumer);
      const messages = await consumer.consume({ max_messages: o.maxMessages, expires: o.pullExpiresMs ?? 5000 });
      o.onOpen(messages);
      void (async () => {
        for await (const s of await messages.status()) {
          if (NOTEWORTHY.has(s.type)) o.logger.warn({ consumer: o.consumer, event: s.type, data: s.data }, 'consumer pull lost; pulling again');
        }
      })().catch(() => {});
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

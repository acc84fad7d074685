import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { Batcher } from '../../shared/batcher.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { Names } from '../../shared/nats/subjects.js';
import { fanOutMessages } from './fan-out.js';
import { SubscriptionSync } from './subscription-sync.js';
import type { Counter } from 'prom-client';

export interface RouterDeps {
  js: JetStreamClient;
  pool: Pool;
  names: Names;
  logger: Logger;
  fannedOut?: Counter;
}

/**
 * Consumes MESSAGES through the shared durable `router` consumer (replicas split the work) and fans out
 * in micro-batches. A message is acked only after its deliveries are stored and enqueued; on failure it
 * is nak'd and routed again, which the deterministic ids make harmless.
 */
export class MessageRouter {
  readonly subscriptions: SubscriptionSync;
  private readonly batcher: Batcher<JsMsg, undefined>;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly deps: RouterDeps) {
    this.subscriptions = new SubscriptionSync(deps.pool);
    this.batcher = new Batcher(
      async (batch) => {
        const n = await fanOutMessages({ ...deps, subscriptions: this.subscriptions }, batch);
        deps.fannedOut?.inc(n);
        return batch.map(() => undefined);
      },
      { maxItems: 256, maxDelayMs: 2 },
    );
  }

  async start(): Promise<void> {
    await this.subscriptions.refresh();
    const consumer = await this.deps.js.consumers.get(this.deps.names.messagesStream, this.deps.names.routerConsumer);
    this.messages = await consumer.consume({ max_messages: 1024 });
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        m.nak();
        continue;
      }
      this.batcher.add(m).then(
        () => m.ack(),
        (err) => {
          this.deps.logger.warn({ err, seq: m.seq }, 'fan-out failed; message will be routed again');
          m.nak(1000);
        },
      );
    }
  }

  /** Stops pulling and finishes the batches already taken. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.messages?.stop();
    await this.batcher.drain().catch(() => {});
    await this.loop?.catch(() => {});
  }
}

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
  /** The router consumer's ack wait. @default 30000 */
  ackWaitMs?: number;
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
  /** Messages taken but not yet routed, with when they arrived. */
  private readonly waiting = new Map<JsMsg, number>();
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RouterDeps) {
    this.subscriptions = new SubscriptionSync(deps.pool);
    this.batcher = new Batcher(
      async (batch) => {
        try {
          const n = await fanOutMessages({ ...deps, subscriptions: this.subscriptions }, batch);
          deps.fannedOut?.inc(n);
          return batch.map(() => undefined);
        } catch (err) {
          // One line per failed batch, not per message: a Postgres outage must not flood the logs.
          deps.logger.warn({ err: String(err), messages: batch.length }, 'fan-out failed; the batch will be routed again');
          throw err;
        }
      },
      { maxItems: 256, maxDelayMs: 2 },
    );
  }

  async start(): Promise<void> {
    await this.subscriptions.refresh();
    const consumer = await this.deps.js.consumers.get(this.deps.names.messagesStream, this.deps.names.routerConsumer);
    this.messages = await consumer.consume({ max_messages: 1024 });
    this.loop = this.run(this.messages);
    // Under load a message can wait behind several batches; keep it ours so JetStream does not hand it to
    // another router and have it routed twice.
    const every = Math.max(1000, (this.deps.ackWaitMs ?? 30_000) / 3);
    this.keepAlive = setInterval(() => {
      const cutoff = Date.now() - every;
      for (const [m, since] of this.waiting) if (since < cutoff) m.working();
    }, every);
    this.keepAlive.unref();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        m.nak();
        continue;
      }
      this.waiting.set(m, Date.now());
      this.batcher.add(m).then(
        () => m.ack(),
        () => m.nak(1000),
      ).finally(() => this.waiting.delete(m));
    }
  }

  /** Stops pulling and finishes the batches already taken. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.messages?.stop();
    if (this.keepAlive) clearInterval(this.keepAlive);
    await this.batcher.drain().catch(() => {});
    await this.loop?.catch(() => {});
  }
}

import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { Batcher } from '../../shared/batcher.js';
import { AsyncCommitSession } from '../../shared/db/async-commit.js';
import { AckKeeper } from '../../shared/nats/ack-keeper.js';
import { durableMessages } from '../../shared/nats/durable-messages.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { Names } from '../../shared/nats/subjects.js';
import { ExpressRouting, type ExpressRoutingOptions } from './express-routing.js';
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
  /** Express routing of quiet topics while the router consumer is behind; false: off. @default {} */
  express?: ExpressRoutingOptions | false;
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
  private readonly keeper: AckKeeper;
  private readonly fastCommits: AsyncCommitSession;
  private readonly express: ExpressRouting | undefined;

  constructor(private readonly deps: RouterDeps) {
    this.subscriptions = new SubscriptionSync(deps.pool);
    this.keeper = new AckKeeper(deps.ackWaitMs);
    // Batches are flushed one at a time, so one connection serves them all.
    this.fastCommits = new AsyncCommitSession(deps.pool);
    if (deps.express !== false) {
      const { js, pool, names, logger } = deps;
      this.express = new ExpressRouting({ js, pool, names, logger, subscriptions: this.subscriptions }, deps.express);
    }
    this.batcher = new Batcher(
      async (batch) => {
        try {
          const n = await fanOutMessages({ ...deps, fastCommits: this.fastCommits, subscriptions: this.subscriptions }, batch);
          deps.fannedOut?.inc(n);
          return batch.map(() => undefined);
        } catch (err) {
          // One line per failed batch, not per message: a Postgres outage must not flood the logs.
          deps.logger.warn({ err, messages: batch.length }, 'fan-out failed; the batch will be routed again');
          throw err;
        }
      },
      // No wait for company: under load, what arrives during a flush forms the next batch anyway.
      { maxItems: 256, maxDelayMs: 0 },
    );
  }

  async start(): Promise<void> {
    await this.subscriptions.refresh();
    // Fail start-up if the consumer is not there; later interruptions are reopened by durableMessages.
    await this.deps.js.consumers.get(this.deps.names.messagesStream, this.deps.names.routerConsumer);
    this.loop = this.run(
      durableMessages({
        js: this.deps.js,
        stream: this.deps.names.messagesStream,
        consumer: this.deps.names.routerConsumer,
        maxMessages: 1024,
        logger: this.deps.logger,
        stopping: () => this.stopping,
        onOpen: (messages) => (this.messages = messages),
      }),
    );
    // Under load a message can wait behind several batches: keep it ours so it is not routed twice.
    this.keeper.start();
    await this.express?.start();
  }

  private async run(messages: AsyncIterable<JsMsg>): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        m.nak();
        continue;
      }
      this.keeper.hold(m);
      this.batcher.add(m).then(
        () => m.ack(),
        () => m.nak(1000),
      ).finally(() => this.keeper.release(m));
    }
  }

  /** Stops pulling and finishes the batches already taken. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.messages?.stop();
    this.keeper.stop();
    await this.express?.stop();
    await this.batcher.drain().catch(() => {});
    await this.loop?.catch(() => {});
    await this.fastCommits.close();
  }
}

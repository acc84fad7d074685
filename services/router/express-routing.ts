import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { Batcher } from '../../shared/batcher.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import { durableMessages } from '../../shared/nats/durable-messages.js';
import type { Names } from '../../shared/nats/subjects.js';
import { fanOutMessages } from './fan-out.js';
import type { SubscriptionSync } from './subscription-sync.js';

/** What express routing needs: the router's own dependencies and its subscription index. */
export interface ExpressRoutingDeps {
  js: JetStreamClient;
  pool: Pool;
  names: Names;
  logger: Logger;
  subscriptions: SubscriptionSync;
}

/** Options of {@link ExpressRouting}. */
export interface ExpressRoutingOptions {
  /**
   * Messages per second above which a topic counts as bursting, measured over the current and the last
   * second: its messages are left to the router consumer. @default 1000
   */
  burstPerSecond?: number;
  /** How far (in messages) the router consumer may trail a message before express routing takes it. @default 512 */
  minLag?: number;
  /** How often the router consumer's position is read. @default 100 */
  positionEveryMs?: number;
}

/** Messages express routing may have waiting to be routed; beyond, it leaves them to the router consumer. */
const MAX_QUEUED = 1024;
/**
 * Messages stored longer ago than this are left to the router consumer: express routing is for what is being
 * published now, not for catching up after an outage (which would only route the backlog twice).
 */
const MAX_AGE_MS = 10_000;

/** Messages per topic in the current and the previous second. */
class TopicRates {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart = 0;

  /** Counts one message of `key`; returns whether the key is over `limit` per second now or in the last second. */
  count(key: string, limit: number, now: number): boolean {
    if (now - this.windowStart >= 1000) {
      // More than one second without a message: the previous window is empty.
      this.previous = now - this.windowStart >= 2000 ? new Map() : this.current;
      this.current = new Map();
      this.windowStart = now;
    }
    const n = (this.current.get(key) ?? 0) + 1;
    this.current.set(key, n);
    return n > limit || (this.previous.get(key) ?? 0) > limit;
  }
}

/**
 * The express lane of routing. The router consumer routes MESSAGES in stream order, so while one topic's
 * burst (50,000 messages through /batch) is being routed, every message published after it waits for the
 * whole burst. A second durable consumer on MESSAGES (`router_express`, from new messages on, each message
 * handed out once, never redelivered) sees the same messages as they are stored; while the router consumer
 * trails a message by more than `minLag`, and the message's topic is not bursting, express routing routes
 * it at once. Everything else it only acks.
 *
 * Nothing depends on it: the router consumer still routes every message in order, and routing a message
 * twice records it once, as after a router crash (delivery rows and job ids derive from message and
 * subscription: ON CONFLICT DO NOTHING, and the DELIVERIES duplicate window drops the second job; a job
 * re-published after that window is skipped by the dispatcher's attempt check). An ordered subscription's
 * delivery routed early waits at the dispatcher until the router consumer has passed it (see
 * RoutedFloor), so order holds.
 */
export class ExpressRouting {
  private readonly batcher: Batcher<JsMsg, undefined>;
  private readonly rates = new TopicRates();
  private readonly burstPerSecond: number;
  private readonly minLag: number;
  private readonly positionEveryMs: number;
  /** The last stream sequence handed to the router consumer, as last read. */
  private routerDelivered = Infinity;
  private positionReadAt = 0;
  private reading = false;
  private routerConsumer: Consumer | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Messages routed here, for the log on shutdown and tests. */
  expressed = 0;

  constructor(
    private readonly deps: ExpressRoutingDeps,
    options: ExpressRoutingOptions = {},
  ) {
    this.burstPerSecond = options.burstPerSecond ?? 1000;
    this.minLag = options.minLag ?? 512;
    this.positionEveryMs = options.positionEveryMs ?? 100;
    this.batcher = new Batcher(
      async (batch) => {
        // Not counted in hookline_deliveries_enqueued_total: the router consumer counts every message once.
        await fanOutMessages(deps, batch);
        this.expressed += batch.length;
        return batch.map(() => undefined);
      },
      { maxItems: 256, maxDelayMs: 0 },
    );
  }

  async start(): Promise<void> {
    const { js, names } = this.deps;
    this.routerConsumer = await js.consumers.get(names.messagesStream, names.routerConsumer);
    await js.consumers.get(names.messagesStream, names.expressRouterConsumer);
    this.loop = this.run(
      durableMessages({
        js,
        stream: names.messagesStream,
        consumer: names.expressRouterConsumer,
        maxMessages: 1024,
        logger: this.deps.logger,
        stopping: () => this.stopping,
        onOpen: (messages) => (this.messages = messages),
      }),
    );
  }

  private async run(messages: AsyncIterable<JsMsg>): Promise<void> {
    for await (const m of messages) {
      m.ack();
      if (this.stopping || !this.takes(m)) continue;
      // A failure here is the router consumer's to repair: it routes the message anyway.
      this.batcher.add(m).catch((err: unknown) => this.deps.logger.debug({ err }, 'express routing failed; the router consumer routes the batch'));
    }
  }

  /** Whether to route `m` here: the router consumer trails it, its topic is not bursting, there is room. */
  private takes(m: JsMsg): boolean {
    const now = Date.now();
    if (now - this.positionReadAt >= this.positionEveryMs) this.readPosition(now);
    const bursting = this.rates.count(m.subject, this.burstPerSecond, now);
    const fresh = now - m.info.timestampNanos / 1e6 < MAX_AGE_MS;
    return !bursting && fresh && m.seq - this.routerDelivered > this.minLag && this.batcher.pending < MAX_QUEUED;
  }

  private readPosition(now: number): void {
    if (this.reading || !this.routerConsumer) return;
    this.reading = true;
    this.positionReadAt = now;
    this.routerConsumer
      .info(false)
      .then((info) => (this.routerDelivered = info.delivered.stream_seq))
      // Unknown: take the router consumer as caught up, so nothing is routed twice for nothing.
      .catch(() => (this.routerDelivered = Infinity))
      .finally(() => (this.reading = false));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.messages?.stop();
    await this.batcher.drain().catch(() => {});
    await this.loop?.catch(() => {});
  }
}

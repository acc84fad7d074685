import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import type { Dispatcher as HttpDispatcher } from 'undici';
import { Batcher } from '../../shared/batcher.js';
import { loadDeliveryWork, PARKED_INDEFINITELY, type DeliveryWork } from '../../shared/db/deliveries.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStore } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import { assertTargetAllowed, type AddressPolicy } from '../../shared/net/address-policy.js';
import { classifyAttempt } from './deliver/classify.js';
import { prepareWebhook } from './deliver/prepare.js';
import { AttemptRecorder } from './deliver/record-attempt.js';
import { sendWebhook, type SendResult } from './deliver/send.js';
import { EndpointLoad } from './endpoint-load.js';
import { decodeJob, type DeliveryJob } from '../../shared/delivery-job.js';
import type { DispatchMetrics } from './metrics.js';

/** Everything a dispatcher needs, built by the composition root. */
export interface DispatcherDeps {
  js: JetStreamClient;
  pool: Pool;
  names: Names;
  messages: MessageStore;
  http: HttpDispatcher;
  addressPolicy: AddressPolicy;
  logger: Logger;
  metrics?: DispatchMetrics;
  /** Deliveries in flight at once in this process. @default 256 */
  concurrency?: number;
  /** The consumer's ack wait; jobs running longer than a third of it are kept alive. @default 30000 */
  ackWaitMs?: number;
}

/**
 * How long a job waits when its endpoint is struggling and has used its few slots: longer the longer the
 * endpoint keeps failing, so a dead endpoint's backlog is not cycled through the queue every second.
 */
function throttledParkMs(consecutiveFailures: number): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.min(6, Math.max(0, consecutiveFailures - 5) / 5));
  return base + Math.random() * base;
}

function sleep(ms: number) {
  // unref: a grace period that is not needed must not keep the process alive.
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * Pulls delivery jobs from the shared durable consumer (any number of replicas share it), sends each as a
 * signed webhook and acks it only once its attempt is durable in Postgres. A failed attempt is parked in
 * Postgres with its next_attempt_at (see scheduler.ts) rather than nak'd with a delay, so waiting retries
 * never hold JetStream ack slots that healthy endpoints need.
 */
export class DeliveryDispatcher {
  private readonly recorder: AttemptRecorder;
  private readonly loader: Batcher<string, DeliveryWork | undefined>;
  private readonly load = new EndpointLoad();
  private readonly concurrency: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly running = new Map<JsMsg, number>();
  /** Attempt number per delivery being worked on in this process. */
  private readonly active = new Map<string, number>();
  private keepAlive: NodeJS.Timeout | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 256;
    this.recorder = new AttemptRecorder(deps.pool, deps.logger);
    this.loader = new Batcher(
      async (ids) => {
        const found = await loadDeliveryWork(deps.pool, ids);
        return ids.map((id) => found.get(id));
      },
      { maxItems: 500, maxDelayMs: 2 },
    );
  }

  async start(): Promise<void> {
    const consumer = await this.deps.js.consumers.get(this.deps.names.deliveriesStream, this.deps.names.dispatcherConsumer);
    this.messages = await consumer.consume({ max_messages: this.concurrency });
    this.loop = this.run(this.messages);
    // A slow endpoint (or a Postgres hiccup while recording) must not let the ack wait expire and hand a
    // job that is still running to another replica.
    const every = Math.max(1000, (this.deps.ackWaitMs ?? 30_000) / 3);
    this.keepAlive = setInterval(() => {
      const cutoff = Date.now() - every;
      for (const [m, since] of this.running) if (since < cutoff) m.working();
    }, every);
    this.keepAlive.unref();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        // Not started: let another replica (or our restart) take it right away.
        m.nak();
        continue;
      }
      this.running.set(m, Date.now());
      const task = this.handle(m).catch((err) => {
        this.deps.logger.error({ err }, 'delivery job failed; it will be redelivered');
        m.nak(1000);
      });
      this.inFlight.add(task);
      void task.finally(() => {
        this.inFlight.delete(task);
        this.running.delete(m);
      });
      while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const job = decodeJob(m.data);
    if (!job) {
      this.deps.logger.warn({ subject: m.subject }, 'dropping malformed delivery job');
      m.term();
      return;
    }
    // JetStream may hand this process a second copy of a job whose first copy is still running (a nak'd
    // or expired copy from a replica that stopped): the running one records this attempt.
    if ((this.active.get(job.d) ?? 0) >= job.n) {
      m.ack();
      return;
    }
    this.active.set(job.d, job.n);
    try {
      await this.process(m, job);
    } finally {
      if (this.active.get(job.d) === job.n) this.active.delete(job.d);
    }
  }

  private async process(m: JsMsg, job: DeliveryJob): Promise<void> {
    const work = await this.loader.add(job.d);
    if (!work || work.subscription.deletedAt || work.subscription.type !== 'webhook') {
      m.ack();
      return;
    }
    const { delivery, subscription } = work;
    // A job for an attempt already on record: a redelivery after a crash, or a re-published duplicate.
    if (delivery.status === 'succeeded' || delivery.status === 'dead' || delivery.attemptCount >= job.n) {
      m.ack();
      return;
    }
    if (subscription.status !== 'active') {
      await this.recorder.recordDeferral({ deliveryId: job.d, n: job.n, nextAttemptAt: PARKED_INDEFINITELY });
      m.ack();
      return;
    }
    if (!this.load.tryAcquire(subscription.id)) {
      await this.recorder.recordDeferral({
        deliveryId: job.d,
        n: job.n,
        nextAttemptAt: new Date(Date.now() + throttledParkMs(this.load.failures(subscription.id))),
      });
      this.deps.metrics?.parked.inc();
      m.ack();
      return;
    }
    let ok: boolean | undefined;
    try {
      ok = await this.attempt(job, work);
    } finally {
      this.load.release(subscription.id, ok);
    }
    m.ack();
  }

  /** Makes one attempt and records it; resolves true when delivered. */
  private async attempt(job: DeliveryJob, { subscription }: DeliveryWork): Promise<boolean> {
    const log = this.deps.logger;
    const msg = await this.deps.messages.get(job.q);
    let result: SendResult;
    if (!msg || msg.id !== job.m) {
      result = failure('message no longer retained in the stream');
      await this.record(job, result, { kind: 'dead', reason: 'message expired' });
      return false;
    }
    const request = prepareWebhook(subscription, msg, job.n);
    try {
      assertTargetAllowed(request.url, this.deps.addressPolicy);
      result = await sendWebhook(this.deps.http, request);
    } catch (err) {
      result = failure((err as Error).message);
    }
    const outcome = classifyAttempt(result, job.n, subscription.retry);
    await this.record(job, result, outcome);
    this.deps.metrics?.observe(outcome.kind, result.durationMs / 1000, Date.parse(msg.publishedAt));
    if (outcome.kind !== 'delivered') {
      log.debug(
        { messageId: job.m, subscriptionId: job.s, deliveryId: job.d, attempt: job.n, status: result.statusCode, error: result.error, outcome: outcome.kind },
        'delivery attempt failed',
      );
    }
    return outcome.kind === 'delivered';
  }

  private record(job: DeliveryJob, result: SendResult, outcome: ReturnType<typeof classifyAttempt>) {
    return this.recorder.recordAttempt({
      deliveryId: job.d,
      n: job.n,
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseExcerpt: result.responseExcerpt,
      status: outcome.kind === 'delivered' ? 'succeeded' : outcome.kind === 'dead' ? 'dead' : 'failed',
      nextAttemptAt: outcome.kind === 'retry' ? new Date(Date.now() + outcome.delayMs) : null,
    });
  }

  /**
   * Stops pulling, lets in-flight deliveries finish within `graceMs`, and flushes their attempts. Jobs
   * still running after the grace period are left unacked: JetStream hands them to another replica.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.messages?.stop();
    if (this.keepAlive) clearInterval(this.keepAlive);
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(graceMs)]);
    await this.recorder.close();
    await this.loop?.catch(() => {});
  }
}

function failure(error: string): SendResult {
  return { startedAt: new Date(), durationMs: 0, statusCode: null, retryAfter: undefined, responseExcerpt: null, error };
}

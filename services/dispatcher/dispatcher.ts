import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from 'nats';
import type { Dispatcher as HttpDispatcher } from 'undici';
import { Batcher } from '../../shared/batcher.js';
import { fairIntake } from '../../shared/fair-intake.js';
import { PARKED_INDEFINITELY, type DeliveryRecord } from '../../shared/db/deliveries.js';
import { markSending, type SendingAttempt } from '../../shared/db/dispatcher-processes.js';
import { AckKeeper } from '../../shared/nats/ack-keeper.js';
import { durableMessages } from '../../shared/nats/durable-messages.js';
import { loadDispatchWork, SubscriptionCache, type DispatchWork, type ParkReason } from '../../shared/db/delivery-gates.js';
import {
  DEFAULT_BREAKER_POLICY,
  reserveRateSlots,
  type BreakerPolicy,
  type RateRequest,
} from '../../shared/db/endpoint-health.js';
import type { Pool } from '../../shared/db/pool.js';
import { decodeJob, type DeliveryJob, type EmbeddedMessage } from '../../shared/delivery-job.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStore, StoredMessage } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import { assertTargetAllowed, type AddressPolicy } from '../../shared/net/address-policy.js';
import { admit } from './admission.js';
import { classifyAttempt, type DeliveryOutcome } from './deliver/classify.js';
import { prepareWebhook } from './deliver/prepare.js';
import { AttemptRecorder } from './deliver/record-attempt.js';
import { sendWebhook, type SendResult } from './deliver/send.js';
import { InFlightLimiter } from './in-flight-limiter.js';
import { ProcessPresence } from './process-presence.js';
import type { DispatchMetrics } from './metrics.js';
import { deliveryPolicyOf, GONE, type DeliveryPolicy } from './policy.js';
import { RoutedFloor } from './routed-floor.js';
import { traceJob, traceSend, traceStep, traceStepSync } from './trace-delivery.js';

/** Everything a dispatcher needs, built by the composition root. */
export interface DispatcherDeps {
  js: JetStreamClient;
  /** Reads the router's progress for ordered subscriptions; without it, ordering trusts routing order. */
  jsm?: JetStreamManager;
  pool: Pool;
  names: Names;
  messages: MessageStore;
  http: HttpDispatcher;
  addressPolicy: AddressPolicy;
  logger: Logger;
  metrics?: DispatchMetrics;
  /** Deliveries in flight at once in this process. @default 256 */
  concurrency?: number;
  /**
   * The consumer's ack wait: how soon a crashed process's jobs go to another; jobs running longer than a
   * quarter of it are kept alive. @default 8000
   */
  ackWaitMs?: number;
  /** When endpoints' breakers open and for how long. @default DEFAULT_BREAKER_POLICY */
  breaker?: BreakerPolicy;
  /**
   * Jobs read ahead of the workers, in which subscriptions take turns (see shared/fair-intake.ts).
   * @default DISPATCH_READ_AHEAD
   */
  readAhead?: number;
}

/** Jobs read ahead of the workers by default: a burst of this many for one subscription delays no other. */
export const DISPATCH_READ_AHEAD = 4096;
/** Bytes of jobs (with the messages they carry) read ahead at most, whatever their count. */
const READ_AHEAD_BYTES = 64 * 1024 * 1024;


/** A rate-limit slot this close is taken as now: the scheduler's own granularity is coarser. */
const RATE_SLACK_MS = 25;
/** How long an ordered head waits for older messages to be routed before it is parked and tried again. */
const ROUTING_WAIT_MS = 250;
/** How long this process trusts a breaker it saw open without looking again. */
const OPEN_CACHE_MS = 1000;

function sleep(ms: number) {
  // unref: a grace period that is not needed must not keep the process alive.
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * Pulls delivery jobs from the shared durable consumer (any number of replicas share it), sends each as a
 * signed webhook and acks it only once its attempt is durable in Postgres. Before sending, each job passes
 * its gates, all decided from one batched load of the delivery, its subscription, its endpoint's breaker and
 * (ordered subscriptions) its head: subscription active, its turn (ordered), the breaker, maxInFlight, the
 * rate limit. A job that may not go now is parked in Postgres — for an event (resume, breaker closing, the
 * older delivery settling) or a time — and acked, so nothing waiting holds a JetStream slot or a worker
 * slot or spends an attempt. A failed attempt is parked with its retry time (see scheduler.ts).
 */
export class DeliveryDispatcher {
  private readonly recorder: AttemptRecorder;
  private readonly loader: Batcher<string, DispatchWork | undefined>;
  private readonly reserver: Batcher<RateRequest, number>;
  /** Notes each attempt in Postgres before it goes out (see markSending). */
  private readonly sending: Batcher<SendingAttempt, undefined>;
  private readonly presence: ProcessPresence;
  private readonly ackWaitMs: number;
  private readonly limiter = new InFlightLimiter();
  private readonly routed: RoutedFloor | undefined;
  private readonly concurrency: number;
  private readonly inFlight = new Set<Promise<void>>();
  /** Wakes the pull loop when it waits for a free slot (it is the only one that ever waits). */
  private slotFreed: (() => void) | undefined;
  /** Attempt number per delivery being worked on in this process. */
  private readonly active = new Map<string, number>();
  private readonly keeper: AckKeeper;
  /**
   * Subscriptions whose breaker this process last saw open, until shortly before its probe time (at most
   * OPEN_CACHE_MS): their jobs are parked without being loaded first. The parking statement re-checks the
   * breaker, so a stale entry costs a quick round trip, never a lost delivery.
   */
  private readonly openCircuits = new Map<string, { until: number; ordered: boolean }>();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 256;
    this.ackWaitMs = deps.ackWaitMs ?? 8000;
    this.keeper = new AckKeeper(this.ackWaitMs);
    this.presence = new ProcessPresence({ pool: deps.pool, logger: deps.logger });
    this.sending = new Batcher(
      async (attempts) => {
        await markSending(deps.pool, this.presence.id, attempts);
        return attempts.map(() => undefined);
      },
      { maxItems: 500, maxDelayMs: 2 },
    );
    this.recorder = new AttemptRecorder({
      pool: deps.pool,
      logger: deps.logger,
      js: deps.js,
      names: deps.names,
      metrics: deps.metrics,
      breaker: deps.breaker ?? DEFAULT_BREAKER_POLICY,
    });
    const subscriptions = new SubscriptionCache();
    this.loader = new Batcher(
      async (ids) => {
        const found = await loadDispatchWork(deps.pool, ids, subscriptions);
        return ids.map((id) => found.get(id));
      },
      // No wait for company: under load, what arrives during a flush forms the next batch anyway.
      { maxItems: 500, maxDelayMs: 0 },
    );
    this.reserver = new Batcher((requests) => reserveRateSlots(deps.pool, requests), { maxItems: 500, maxDelayMs: 2 });
    const jsm = deps.jsm;
    if (jsm) {
      this.routed = new RoutedFloor(async () => {
        const info = await jsm.consumers.info(deps.names.messagesStream, deps.names.routerConsumer);
        return info.ack_floor.stream_seq;
      });
    }
  }

  async start(): Promise<void> {
    // Fail start-up if the consumer is not there; later interruptions are reopened by durableMessages.
    await this.deps.js.consumers.get(this.deps.names.deliveriesStream, this.deps.names.dispatcherConsumer);
    await this.presence.start();
    // Subscriptions take turns within what is read ahead: one subscription's burst of jobs (a dead or slow
    // endpoint's backlog) does not hold up the others'. The subject names the subscription.
    this.loop = this.run(
      fairIntake(
        durableMessages({
          js: this.deps.js,
          stream: this.deps.names.deliveriesStream,
          consumer: this.deps.names.dispatcherConsumer,
          maxMessages: this.concurrency,
          logger: this.deps.logger,
          stopping: () => this.stopping,
          onOpen: (messages) => (this.messages = messages),
        }),
        {
          keyOf: (m) => m.subject,
          maxItems: this.deps.readAhead ?? DISPATCH_READ_AHEAD,
          maxBytes: READ_AHEAD_BYTES,
          sizeOf: (m) => m.data.length,
          onRead: (m) => this.keeper.hold(m),
        },
      ),
    );
    this.keeper.start();
  }

  private async run(messages: AsyncIterable<JsMsg>): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        // Not started: let another replica (or our restart) take it right away.
        this.keeper.release(m);
        m.nak();
        continue;
      }
      const task = this.handle(m).catch((err) => {
        this.deps.logger.error({ err, subject: m.subject }, 'delivery job failed; it will be redelivered');
        m.nak(1000);
      });
      this.inFlight.add(task);
      void task.finally(() => {
        this.inFlight.delete(task);
        this.keeper.release(m);
        const wake = this.slotFreed;
        this.slotFreed = undefined;
        wake?.();
      });
      // Not Promise.race over everything in flight: at full concurrency that attached a reaction to each of
      // the 256 running tasks for every job pulled, which showed as garbage and microtasks in figure A.
      while (this.inFlight.size >= this.concurrency) await new Promise<void>((r) => (this.slotFreed = r));
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const decoded = decodeJob(m.data);
    if (!decoded) {
      this.deps.logger.warn({ subject: m.subject }, 'dropping malformed delivery job');
      m.term();
      return;
    }
    const { job, message } = decoded;
    // JetStream may hand this process a second copy of a job whose first copy is still running (a nak'd
    // or expired copy from a replica that stopped): the running one records this attempt.
    if ((this.active.get(job.d) ?? 0) >= job.n) {
      m.ack();
      return;
    }
    this.active.set(job.d, job.n);
    try {
      await traceJob(m, job, this.deps.names, () => this.deps.messages.get(job.q), () => this.process(m, job, message));
    } finally {
      if (this.active.get(job.d) === job.n) this.active.delete(job.d);
    }
  }

  private async process(m: JsMsg, job: DeliveryJob, carried: EmbeddedMessage | undefined): Promise<void> {
    const open = this.openCircuits.get(job.s);
    if (open && open.until > Date.now()) {
      await this.park(job, { id: job.s, ordered: open.ordered }, 'circuit', PARKED_INDEFINITELY);
      m.ack();
      return;
    }
    if (open) this.openCircuits.delete(job.s);
    const work = await traceStep('load delivery', () => this.loader.add(job.d));
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
    // Attempt n went out from a process that never recorded it (it was killed): its result is unknown.
    const sending = delivery.sending;
    if (sending && sending.n === job.n) {
      if (!sending.senderLost && sending.by !== this.presence.id) {
        // Its sender is alive (a stall let the ack wait run out) and records it: look again later.
        m.nak(this.ackWaitMs);
        return;
      }
      await this.recordInterrupted(job, subscription, sending);
      m.ack();
      return;
    }
    const admission = admit(work);
    if (admission.kind === 'park') {
      if (admission.reason === 'circuit' && work.health.state === 'open') this.rememberOpen(work);
      await this.park(job, subscription, admission.reason, PARKED_INDEFINITELY);
      m.ack();
      return;
    }
    if (subscription.ordered && !(await this.olderMessagesRouted(job))) {
      await this.park(job, subscription, 'routing', new Date(Date.now() + ROUTING_WAIT_MS));
      m.ack();
      return;
    }
    const policy = deliveryPolicyOf(subscription);
    if (!this.limiter.tryAcquire(subscription.id, policy.maxInFlight)) {
      await this.park(job, subscription, 'inflight', new Date(Date.now() + this.limiter.parkMs(subscription.id, policy.maxInFlight)));
      m.ack();
      return;
    }
    let result: { ok: boolean; durationMs: number } | undefined;
    // maxInFlight bounds requests open against the endpoint: the slot is freed as soon as the exchange
    // ends, not after the attempt row is written (a slow Postgres flush must not park healthy traffic).
    let released = false;
    const release = (ok?: boolean, durationMs?: number) => {
      if (released) return;
      released = true;
      this.limiter.release(subscription.id, ok, durationMs);
    };
    try {
      // A delivery parked for its rate-limit slot comes back at that slot and goes without another.
      if (policy.rateLimit && delivery.parkedReason !== 'rate') {
        const waitMs = await this.reserver.add({ subscriptionId: subscription.id, ...policy.rateLimit });
        if (waitMs > RATE_SLACK_MS) {
          await this.park(job, subscription, 'rate', new Date(Date.now() + waitMs));
          m.ack();
          return;
        }
      }
      result = await this.attempt(job, carried, work, policy, admission.probe, release);
    } finally {
      release(result?.ok, result?.durationMs);
    }
    m.ack();
  }

  /** Ordered heads go only once every older message is routed (several routers may finish out of order). */
  private async olderMessagesRouted(job: DeliveryJob): Promise<boolean> {
    if (!this.routed) return true;
    try {
      return await this.routed.covers(job.q);
    } catch (err) {
      this.deps.logger.warn({ err }, 'reading the router consumer failed; trusting routing order');
      return true;
    }
  }

  /** Until a second before the probe is due (clocks differ a little), and for at most OPEN_CACHE_MS. */
  private rememberOpen({ subscription, health }: DispatchWork) {
    if (!health.probeAt) return;
    const until = Math.min(health.probeAt.getTime() - 1000, Date.now() + OPEN_CACHE_MS);
    if (until <= Date.now()) return;
    if (this.openCircuits.size > 10_000) this.openCircuits.clear();
    this.openCircuits.set(subscription.id, { until, ordered: subscription.ordered });
  }

  private park(
    job: DeliveryJob,
    subscription: Pick<DispatchWork['subscription'], 'id' | 'ordered'>,
    reason: ParkReason,
    until: Date | typeof PARKED_INDEFINITELY,
  ) {
    this.deps.metrics?.deferred.inc({ reason });
    return this.recorder.recordDeferral({
      deliveryId: job.d,
      n: job.n,
      nextAttemptAt: until,
      reason,
      subscriptionId: subscription.id,
      ordered: subscription.ordered,
    });
  }

  /** Makes one attempt and records it. */
  private async attempt(
    job: DeliveryJob,
    carried: EmbeddedMessage | undefined,
    { subscription }: DispatchWork,
    policy: DeliveryPolicy,
    probe: boolean,
    exchanged: (ok: boolean, durationMs: number) => void,
  ): Promise<{ ok: boolean; durationMs: number }> {
    const ids = { messageId: job.m, subscriptionId: job.s, deliveryId: job.d, attempt: job.n };
    const msg: StoredMessage | undefined = carried
      ? { id: job.m, seq: job.q, ...carried }
      : await traceStep('load message', () => this.deps.messages.get(job.q));
    let result: SendResult;
    if (!msg || msg.id !== job.m) {
      result = failure('message no longer retained in the stream');
      await this.record(job, subscription.ordered, probe, result, { kind: 'dead', reason: 'message expired' }, false);
      this.deps.logger.warn(ids, 'delivery dead: its message is no longer retained in the stream');
      return { ok: false, durationMs: 0 };
    }
    const request = traceStepSync('sign webhook', () => prepareWebhook(subscription, msg, job.n));
    try {
      assertTargetAllowed(request.url, this.deps.addressPolicy);
      await this.sending.add({ deliveryId: job.d, n: job.n });
      result = await traceSend(request, job.n, () => sendWebhook(this.deps.http, request));
    } catch (err) {
      result = failure((err as Error).message);
    }
    const outcome = classifyAttempt(result, job.n, subscription.retry, Math.random, Date.now(), policy.permanentFailureStatuses);
    exchanged(outcome.kind === 'delivered', result.durationMs);
    await traceStep('record attempt', () => this.record(job, subscription.ordered, probe, result, outcome, true));
    this.deps.metrics?.observe(outcome.kind, result.durationMs / 1000, Date.parse(msg.publishedAt));
    if (outcome.kind !== 'delivered') {
      const fields = { ...ids, status: result.statusCode, error: result.error, outcome: outcome.kind, probe };
      if (outcome.kind === 'dead') this.deps.logger.info({ ...fields, reason: outcome.reason }, 'delivery dead');
      else this.deps.logger.debug(fields, 'delivery attempt failed');
    } else if (probe) {
      this.deps.logger.info(ids, 'probe delivery succeeded');
    }
    return { ok: outcome.kind === 'delivered', durationMs: result.durationMs };
  }

  /**
   * Puts attempt n on record as interrupted and makes the delivery due now: the retry scheduler enqueues
   * attempt n + 1 (which is made even past maxAttempts: an interrupted attempt has no result to give up on).
   */
  private async recordInterrupted(
    job: DeliveryJob,
    subscription: DispatchWork['subscription'],
    sending: NonNullable<DeliveryRecord['sending']>,
  ): Promise<void> {
    await this.recorder.recordAttempt({
      deliveryId: job.d,
      n: job.n,
      startedAt: sending.since,
      durationMs: 0,
      statusCode: null,
      error: 'interrupted: the process sending this attempt stopped before recording its result',
      responseExcerpt: null,
      outcome: 'interrupted',
      status: 'pending',
      nextAttemptAt: new Date(),
      subscriptionId: job.s,
      ordered: subscription.ordered,
      probe: false,
      countsForHealth: false,
    });
    this.deps.metrics?.attempts.inc({ outcome: 'interrupted' });
    this.deps.logger.warn(
      { messageId: job.m, subscriptionId: job.s, deliveryId: job.d, attempt: job.n, sentBy: sending.by },
      'attempt interrupted by a stopped process put on record; the next attempt follows',
    );
  }

  private record(
    job: DeliveryJob,
    ordered: boolean,
    probe: boolean,
    result: SendResult,
    outcome: DeliveryOutcome,
    countsForHealth: boolean,
  ) {
    return this.recorder.recordAttempt({
      deliveryId: job.d,
      n: job.n,
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseExcerpt: result.responseExcerpt,
      outcome: outcome.kind === 'delivered' ? 'succeeded' : 'failed',
      status: outcome.kind === 'delivered' ? 'succeeded' : outcome.kind === 'dead' ? 'dead' : 'failed',
      // A 410 disables the subscription in a follow-up write; its retry waits for the resume rather than
      // racing the disable with a short backoff.
      nextAttemptAt:
        outcome.kind !== 'retry'
          ? null
          : result.statusCode === GONE
            ? PARKED_INDEFINITELY
            : new Date(Date.now() + outcome.delayMs),
      subscriptionId: job.s,
      ordered,
      probe,
      countsForHealth,
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
    this.keeper.stop();
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(graceMs)]);
    await this.recorder.close();
    await this.loop?.catch(() => {});
    // Last: attempts still out after the grace period are then seen as interrupted by whoever takes them.
    await this.presence.stop();
  }
}

function failure(error: string): SendResult {
  return { startedAt: new Date(), durationMs: 0, waitedMs: 0, statusCode: null, retryAfter: undefined, responseExcerpt: null, error };
}

import type { JetStreamClient, JetStreamManager, JsMsg } from 'nats';
import type { Dispatcher as HttpDispatcher } from 'undici';
import { Batcher } from '../../shared/batcher.js';
import type { DeliveryRecord } from '../../shared/db/deliveries.js';
import type { Pool } from '../../shared/db/pool.js';
import { decodeJob, type DeliveryJob, type EmbeddedMessage } from '../../shared/delivery-job.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStore } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import type { AddressPolicy } from '../../shared/net/address-policy.js';
import { makeAttempt, type AttemptDeps } from './deliver/attempt.js';
import { previousAttempt, recordInterrupted } from './deliver/interrupted.js';
import { AttemptRecorder } from './deliver/record-attempt.js';
import { admit, attemptDue } from './gates/admission.js';
import { InFlightLimiter } from './gates/in-flight-limiter.js';
import { InFlightSlot, orderedHeadGate, rateGate } from './gates/limits.js';
import { OpenCircuits } from './gates/open-circuits.js';
import { RoutedFloor } from './gates/routed-floor.js';
import { runGates, type Verdict } from './gates/verdict.js';
import type { DispatchMetrics } from './metrics.js';
import { deliveryPolicyOf, type DeliveryPolicy } from './policy.js';
import { ProcessPresence } from './process-presence.js';
import { PullLoop } from './pull-loop.js';
import { DEFAULT_BREAKER_POLICY, type BreakerPolicy } from './storage/breaker.js';
import { AttemptNotMarkedError, markSending, type SendingAttempt } from './storage/dispatcher-processes.js';
import { loadDispatchWork, SubscriptionCache, type DispatchWork } from './storage/dispatch-work.js';
import { reserveRateSlots, type RateRequest } from './storage/rate-slots.js';
import { traceJob, traceStep } from './trace-delivery.js';

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
  /** Jobs read ahead of the handlers, in which subscriptions take turns. @default DISPATCH_READ_AHEAD */
  readAhead?: number;
}

/** How a job leaves the dispatcher: done with (ack), to be looked at again later (nak), or not a job (term). */
type Settlement = { kind: 'ack' } | { kind: 'nak'; delayMs: number } | { kind: 'term' };
const ACK: Settlement = { kind: 'ack' };
/** How soon a job whose delivery row is not there yet, its message not routed yet, is looked at again. */
const UNROUTED_RETRY_MS = 1000;

/** What the stages before sending decided, with what the stage after them needs. */
type Decision =
  | { next: 'skip' }
  | { next: 'wait' }
  | { next: 'unrouted' }
  | { next: 'park'; verdict: Extract<Verdict, { kind: 'park' }>; ordered: boolean }
  | { next: 'interrupted'; ordered: boolean; sending: NonNullable<DeliveryRecord['sending']> }
  | { next: 'send'; probe: boolean; work: DispatchWork; policy: DeliveryPolicy };

/**
 * Sends delivery jobs as signed webhooks, each through one pipeline:
 *
 *   decode → load → previous attempt → gates → send → classify → record → settle
 *
 * Jobs come from the shared durable consumer (pull-loop.ts; any number of replicas share it). The gates
 * (gates/) decide from one batched load of the delivery, its subscription, its endpoint's breaker and
 * (ordered subscriptions) its head: the open-circuit cache, admission (subscription active, its turn, the
 * breaker), the router's progress for ordered heads, maxInFlight and the rate limit. Each says skip, park or
 * send. A job that may not go now is parked in Postgres — for an event (resume, breaker closing, the older
 * delivery settling) or a time — and acked, so nothing waiting holds a JetStream slot or a worker slot or
 * spends an attempt. An attempt is acked only once it is durable in Postgres; a failed one is parked with
 * its retry time (see scheduler.ts). `settle` is the one place a job is acked, `park` the one place it parks.
 */
export class DeliveryDispatcher {
  private readonly recorder: AttemptRecorder;
  private readonly loader: Batcher<string, DispatchWork | undefined>;
  private readonly reserver: Batcher<RateRequest, number>;
  private readonly attemptDeps: AttemptDeps;
  private readonly presence: ProcessPresence;
  private readonly ackWaitMs: number;
  private readonly limiter = new InFlightLimiter();
  private readonly openCircuits = new OpenCircuits();
  private readonly routed: RoutedFloor | undefined;
  private readonly pull: PullLoop;
  /** Attempt number per delivery being worked on in this process. */
  private readonly active = new Map<string, number>();
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.ackWaitMs = deps.ackWaitMs ?? 8000;
    this.presence = new ProcessPresence({ pool: deps.pool, logger: deps.logger });
    // Notes each attempt in Postgres before it goes out (see markSending).
    const sending = new Batcher<SendingAttempt, boolean>(
      async (attempts) => {
        const marked = await markSending(deps.pool, this.presence.id, attempts);
        return attempts.map((a) => marked.has(a.deliveryId));
      },
      // Every request waits for this: no wait for company (under load, a flush gathers the next batch).
      { maxItems: 500, maxDelayMs: 0 },
    );
    this.recorder = new AttemptRecorder({
      pool: deps.pool,
      logger: deps.logger,
      js: deps.js,
      names: deps.names,
      metrics: deps.metrics,
      breaker: deps.breaker ?? DEFAULT_BREAKER_POLICY,
    });
    this.attemptDeps = {
      messages: deps.messages,
      http: deps.http,
      addressPolicy: deps.addressPolicy,
      recorder: this.recorder,
      markSending: async (a) => {
        if (!(await sending.add(a))) throw new AttemptNotMarkedError(`attempt ${a.n} of ${a.deliveryId} could not be marked as sending`);
      },
      logger: deps.logger,
      metrics: deps.metrics,
    };
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
    this.pull = new PullLoop(
      {
        js: deps.js,
        stream: deps.names.deliveriesStream,
        consumer: deps.names.dispatcherConsumer,
        concurrency: deps.concurrency ?? 256,
        readAhead: deps.readAhead,
        ackWaitMs: this.ackWaitMs,
        logger: deps.logger,
      },
      (m) => this.handle(m),
    );
  }

  async start(): Promise<void> {
    await this.pull.ready();
    await this.presence.start();
    this.pull.start();
  }

  private async handle(m: JsMsg): Promise<void> {
    const settlement = await this.settle(m);
    switch (settlement.kind) {
      case 'ack':
        m.ack();
        break;
      case 'nak':
        m.nak(settlement.delayMs);
        break;
      case 'term':
        m.term();
        break;
    }
  }

  /** Decodes the job and runs it through the pipeline once per attempt in this process. */
  private async settle(m: JsMsg): Promise<Settlement> {
    const decoded = decodeJob(m.data);
    if (!decoded) {
      this.deps.logger.warn({ subject: m.subject }, 'dropping malformed delivery job');
      return { kind: 'term' };
    }
    const { job, message } = decoded;
    // JetStream may hand this process a second copy of a job whose first copy is still running (a nak'd
    // or expired copy from a replica that stopped): the running one records this attempt.
    if ((this.active.get(job.deliveryId) ?? 0) >= job.attempt) return ACK;
    this.active.set(job.deliveryId, job.attempt);
    try {
      return await traceJob(
        m,
        job,
        this.deps.names,
        () => this.deps.messages.get(job.streamSeq),
        () => this.process(job, message),
      );
    } finally {
      if (this.active.get(job.deliveryId) === job.attempt) this.active.delete(job.deliveryId);
    }
  }

  private async process(job: DeliveryJob, carried: EmbeddedMessage | undefined): Promise<Settlement> {
    const slot = new InFlightSlot(this.limiter, job.subscriptionId);
    try {
      const d = await this.decide(job, slot);
      switch (d.next) {
        case 'skip':
          return ACK;
        case 'wait':
          return { kind: 'nak', delayMs: this.ackWaitMs };
        case 'unrouted':
          return { kind: 'nak', delayMs: UNROUTED_RETRY_MS };
        case 'park':
          await this.park(job, d.ordered, d.verdict);
          return ACK;
        case 'interrupted':
          await recordInterrupted({ recorder: this.recorder, logger: this.deps.logger, metrics: this.deps.metrics }, job, d.ordered, d.sending);
          return ACK;
        case 'send':
          await makeAttempt(this.attemptDeps, job, carried, d.work, d.policy, d.probe, (e) => slot.release(e.ok, e.durationMs));
          return ACK;
      }
    } finally {
      slot.release();
    }
  }

  /** The stages before sending: the open-circuit cache, load, attempt due, previous attempt, the gates. */
  private async decide(job: DeliveryJob, slot: InFlightSlot): Promise<Decision> {
    const open = this.openCircuits.check(job.subscriptionId);
    if (open) return asDecision(open.verdict, open.ordered);
    const work = await traceStep('load delivery', () => this.loader.add(job.deliveryId));
    // The router makes a batch's rows durable only before it acks the batch (router/fan-out.ts): a row
    // Postgres lost in a crash is written again when the message is routed again. Wait for that.
    if (!work && !(await this.messageRouted(job))) return { next: 'unrouted' };
    if (!work || attemptDue(work, job.attempt).kind !== 'send') return { next: 'skip' };
    const { delivery, subscription } = work;
    const previous = previousAttempt(delivery.sending, job.attempt, this.presence.id);
    if (previous.kind === 'wait') return { next: 'wait' };
    if (previous.kind === 'interrupted') return { next: 'interrupted', ordered: subscription.ordered, sending: previous.sending };
    const policy = deliveryPolicyOf(subscription);
    const verdict = await runGates([
      () => this.openCircuits.learn(work, admit(work)),
      () => orderedHeadGate(subscription.ordered, job.streamSeq, this.routed, (err) =>
        this.deps.logger.warn({ err }, 'reading the router consumer failed; trusting routing order'),
      ),
      () => slot.take(policy.maxInFlight),
      () => rateGate((r) => this.reserver.add(r), subscription.id, policy.rateLimit, delivery.parkedReason),
    ]);
    if (verdict.kind !== 'send') return asDecision(verdict, subscription.ordered);
    return { next: 'send', probe: verdict.probe, work, policy };
  }

  /** True once the router has acked the job's message, so its deliveries are durable in Postgres. */
  private async messageRouted(job: DeliveryJob): Promise<boolean> {
    if (!this.routed) return true;
    return this.routed.covers(job.streamSeq + 1).catch(() => false);
  }

  /** Puts the job back in Postgres without an attempt, until its time or the event it waits for. */
  private park(job: DeliveryJob, ordered: boolean, { reason, until }: Extract<Verdict, { kind: 'park' }>): Promise<void> {
    this.deps.metrics?.deferred.inc({ reason });
    return this.recorder.recordDeferral({
      deliveryId: job.deliveryId,
      n: job.attempt,
      nextAttemptAt: until,
      reason,
      subscriptionId: job.subscriptionId,
      ordered,
    });
  }

  /**
   * Stops pulling, lets in-flight deliveries finish within `graceMs`, and flushes their attempts. Jobs
   * still running after the grace period are left unacked: JetStream hands them to another replica.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.pull.stop(graceMs);
    await this.recorder.close();
    await this.pull.ended();
    // Last: attempts still out after the grace period are then seen as interrupted by whoever takes them.
    await this.presence.stop();
  }
}

function asDecision(verdict: Verdict, ordered: boolean): Decision {
  return verdict.kind === 'park' ? { next: 'park', verdict, ordered } : { next: 'skip' };
}

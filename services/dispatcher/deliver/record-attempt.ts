import type { JetStreamClient } from 'nats';
import { Batcher } from '../../../shared/batcher.js';
import { PARKED_INDEFINITELY } from '../../../shared/db/deliveries.js';
import { inTransaction, type Pool } from '../../../shared/db/pool.js';
import { publishClaimed } from '../../../shared/delivery-job.js';
import type { Logger } from '../../../shared/logger.js';
import type { Names } from '../../../shared/nats/subjects.js';
import type { DispatchMetrics } from '../metrics.js';
import { applyOutcomes, type AttemptOutcome } from '../storage/attempt-outcomes.js';
import { recordHealthOutcomes, type BreakerPolicy, type HealthChange, type HealthOutcome } from '../storage/breaker.js';
import {
  applyCircuitDeferrals,
  applyDeferrals,
  applyOrderDeferrals,
  releaseCircuitParked,
  releaseOrderedHeads,
  type ConditionalDeferral,
  type Deferral,
  type ParkReason,
} from '../storage/deferrals.js';
import { disableSubscriptions } from '../storage/disabling.js';
import type { DueDelivery } from '../storage/due-deliveries.js';
import { lockSubscriptions } from '../storage/subscription-locks.js';

/** An attempt to record, with what the breaker and ordering need to know about it. */
export interface RecordedAttempt extends AttemptOutcome {
  subscriptionId: string;
  ordered: boolean;
  /** It was its half-open breaker's probe. */
  probe: boolean;
  /** False when the outcome says nothing about the endpoint (the message was no longer retained). */
  countsForHealth: boolean;
}

/** A job put back in Postgres without an attempt. */
export interface RecordedDeferral extends Deferral {
  subscriptionId: string;
  ordered: boolean;
  reason: ParkReason;
}

type Entry = { outcome: RecordedAttempt } | { deferral: RecordedDeferral };

/** Everything the recorder writes with and reports to. */
export interface RecorderDeps {
  pool: Pool;
  logger: Logger;
  js: JetStreamClient;
  names: Names;
  breaker: BreakerPolicy;
  metrics?: DispatchMetrics;
  /** Lease on an ordered head released for immediate enqueueing. @default 30000 */
  orderedLeaseMs?: number;
}

function isConditional(d: RecordedDeferral): boolean {
  return (d.reason === 'order' || d.reason === 'circuit') && d.nextAttemptAt === PARKED_INDEFINITELY;
}

function conditional(deferrals: RecordedDeferral[], reason: 'order' | 'circuit'): ConditionalDeferral[] {
  return deferrals
    .filter((d) => d.reason === reason && isConditional(d))
    .map((d) => ({ deliveryId: d.deliveryId, n: d.n }));
}

/** Subscriptions whose breaker a change closed. */
function closed(changes: HealthChange[]): string[] {
  return changes.filter((c) => c.to === 'closed' && c.from !== 'closed').map((c) => c.subscriptionId);
}

function attemptOf(o: RecordedAttempt): AttemptOutcome {
  return {
    deliveryId: o.deliveryId,
    n: o.n,
    startedAt: o.startedAt,
    durationMs: o.durationMs,
    statusCode: o.statusCode,
    error: o.error,
    responseExcerpt: o.responseExcerpt,
    outcome: o.outcome,
    status: o.status,
    nextAttemptAt: o.nextAttemptAt,
  };
}

/**
 * Buffers attempt outcomes and deferrals from all in-flight deliveries and writes them in multi-row
 * statements. `record` resolves only once the attempts and delivery states are durable, which is when the
 * caller may ack the job. A failed write is retried (Postgres restarting) rather than dropped: the jobs
 * stay unacked meanwhile.
 *
 * Most batches are one round of plain statements. A batch that touches an ordered subscription runs in one
 * transaction under those subscriptions' advisory locks and releases each settled head's successor, so an
 * ordered head settling and its successor parking always see each other. A breaker closing and a delivery
 * parking for it meet on the breaker's row lock instead (see applyCircuitDeferrals), which keeps a dead
 * endpoint's backlog off that path. Outcomes feed the breakers from a second batcher, after the acks: the
 * breaker never holds a job up.
 */
export class AttemptRecorder {
  private readonly batcher: Batcher<Entry, undefined>;
  private readonly health: Batcher<HealthOutcome, undefined>;
  private readonly followUps = new Set<Promise<void>>();
  private closed = false;
  /** Set once close() has flushed the attempts: breaker writes are then tried once, not retried. */
  private closing = false;

  constructor(private readonly deps: RecorderDeps) {
    this.batcher = new Batcher((entries) => this.write(entries), { maxItems: 500, maxDelayMs: 3 });
    // Breakers count attempts over a minute: gathering outcomes for 50 ms costs them nothing and saves a
    // statement per flush of attempts at moderate rates.
    this.health = new Batcher((outcomes) => this.writeHealth(outcomes), { maxItems: 1000, maxDelayMs: 50 });
  }

  recordAttempt(outcome: RecordedAttempt): Promise<void> {
    return this.batcher.add({ outcome });
  }

  recordDeferral(deferral: RecordedDeferral): Promise<void> {
    return this.batcher.add({ deferral });
  }

  /** Writes what is buffered and waits for follow-ups (breakers, enqueues, disables); later failed writes are not retried. */
  async close(): Promise<void> {
    await this.batcher.drain();
    this.closing = true;
    await this.health.drain();
    await Promise.allSettled([...this.followUps]);
    this.closed = true;
  }

  private async retrying<T>(what: string, rows: number, fn: () => Promise<T>, untilClosing = false): Promise<T> {
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await fn();
      } catch (err) {
        if (this.closed || (untilClosing && this.closing)) throw err;
        this.deps.logger.warn({ err, rows, retryInMs: delay }, `writing ${what} failed; retrying`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async write(entries: Entry[]): Promise<undefined[]> {
    const outcomes: RecordedAttempt[] = [];
    const deferrals: RecordedDeferral[] = [];
    for (const e of entries) {
      if ('outcome' in e) outcomes.push(e.outcome);
      else deferrals.push(e.deferral);
    }
    const plain = deferrals.filter((d) => !isConditional(d));
    const byOrder = conditional(deferrals, 'order');
    const byCircuit = conditional(deferrals, 'circuit');
    const locks = new Set<string>();
    for (const o of outcomes) if (o.ordered) locks.add(o.subscriptionId);
    for (const d of deferrals) if (d.ordered) locks.add(d.subscriptionId);
    const settledOrdered = [
      ...new Set(
        outcomes
          .filter((o) => o.ordered && (o.status === 'succeeded' || o.status === 'dead'))
          .map((o) => o.subscriptionId),
      ),
    ];
    const attempts = outcomes.map(attemptOf);

    // Repeating any of these is harmless: attempts are keyed, states only move forward.
    const released = await this.retrying('attempts', entries.length, async () => {
      if (!locks.size) {
        await Promise.all([
          applyOutcomes(this.deps.pool, attempts),
          applyDeferrals(this.deps.pool, plain),
          applyCircuitDeferrals(this.deps.pool, byCircuit),
        ]);
        return [];
      }
      return inTransaction(this.deps.pool, async (db) => {
        await lockSubscriptions(db, [...locks]);
        await applyOutcomes(db, attempts);
        await applyDeferrals(db, plain);
        await applyOrderDeferrals(db, byOrder);
        await applyCircuitDeferrals(db, byCircuit);
        return releaseOrderedHeads(db, settledOrdered, this.deps.orderedLeaseMs ?? 30_000);
      });
    });
    for (const o of outcomes) {
      if (!o.countsForHealth) continue;
      void this.health
        .add({ subscriptionId: o.subscriptionId, deliveryId: o.deliveryId, ok: o.status === 'succeeded', statusCode: o.statusCode })
        .catch(() => {});
    }
    if (released.length) this.followUp(this.afterWrite(released, []));
    return entries.map(() => undefined);
  }

  /** Feeds a batch of outcomes to the breakers, then releases what waited for breakers that closed. */
  private async writeHealth(outcomes: HealthOutcome[]): Promise<undefined[]> {
    // A shutdown does not wait for Postgres to come back for these: a breaker is advisory, and the repair
    // pass releases what waits for a breaker found closed.
    const changes = await this.retrying(
      'endpoint health',
      outcomes.length,
      () => recordHealthOutcomes(this.deps.pool, outcomes, this.deps.breaker),
      true,
    );
    const closing = closed(changes);
    if (closing.length) {
      await this.retrying('releases', closing.length, () => releaseCircuitParked(this.deps.pool, closing), true);
    }
    if (changes.length) this.followUp(this.afterWrite([], changes));
    return outcomes.map(() => undefined);
  }

  private followUp(p: Promise<void>) {
    this.followUps.add(p);
    void p.finally(() => this.followUps.delete(p));
  }

  /** Enqueues released ordered heads and acts on breaker changes; never throws. */
  private async afterWrite(released: DueDelivery[], changes: HealthChange[]): Promise<void> {
    const { js, names, logger, metrics } = this.deps;
    await Promise.all(
      released.map((d) =>
        publishClaimed(js, names, d).catch((err: unknown) => {
          // The claim's lease runs out and the scheduler enqueues it.
          logger.warn({ err, deliveryId: d.id, subscriptionId: d.subscriptionId }, 'enqueueing the next ordered delivery failed');
        }),
      ),
    );
    const disable = [];
    for (const c of changes) {
      if (c.from !== c.to) {
        metrics?.circuitTransitions.inc({ to: c.to });
        const level = c.to === 'closed' ? 'info' : 'warn';
        logger[level](
          { subscriptionId: c.subscriptionId, from: c.from, to: c.to, reason: c.reason, probeAt: c.probeAt },
          c.to === 'open' ? 'endpoint circuit opened' : 'endpoint circuit closed',
        );
      }
      if (c.disableReason) disable.push({ id: c.subscriptionId, reason: c.disableReason });
    }
    if (disable.length) await disableAndReport(this.deps, disable);
  }
}

/** Disables subscriptions (410 Gone, failing too long) and logs and counts each; never throws. */
export async function disableAndReport(
  deps: Pick<RecorderDeps, 'pool' | 'logger' | 'metrics'>,
  requests: { id: string; reason: string }[],
): Promise<void> {
  try {
    const done = new Set(await disableSubscriptions(deps.pool, requests));
    for (const r of requests) {
      if (!done.has(r.id)) continue;
      deps.metrics?.disabled.inc();
      deps.logger.warn({ subscriptionId: r.id, reason: r.reason }, 'subscription disabled');
    }
  } catch (err) {
    // The health sweeper finds the flag and tries again.
    deps.logger.warn({ err, subscriptionIds: requests.map((r) => r.id) }, 'disabling subscriptions failed');
  }
}

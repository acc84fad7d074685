import type { DispatchWork } from '../storage/dispatch-work.js';
import { parkUntilReleased, type Verdict } from './verdict.js';

/** How long this process trusts a breaker it saw open without looking again. @default 1000 */
export const OPEN_CACHE_MS = 1000;

/**
 * Subscriptions whose breaker this process last saw open, until shortly before its probe time (at most
 * `trustMs`): their jobs are parked without being loaded first, which keeps a dead endpoint's backlog from
 * costing a load each. The parking statement re-checks the breaker, so a stale entry costs a quick round
 * trip, never a lost delivery.
 */
export class OpenCircuits {
  private readonly open = new Map<string, { until: number; ordered: boolean }>();

  constructor(
    private readonly trustMs = OPEN_CACHE_MS,
    private readonly capacity = 10_000,
  ) {}

  /**
   * The gate before loading: parks the job when its subscription's breaker was seen open lately.
   * @returns the verdict and whether the subscription is ordered (parking needs it; nothing was loaded),
   * or undefined when the job must be loaded and decided on.
   */
  check(subscriptionId: string, nowMs = Date.now()): { verdict: Verdict; ordered: boolean } | undefined {
    const seen = this.open.get(subscriptionId);
    if (!seen) return undefined;
    if (seen.until > nowMs) return { verdict: parkUntilReleased('circuit'), ordered: seen.ordered };
    this.open.delete(subscriptionId);
    return undefined;
  }

  /**
   * Passes on admission's verdict, remembering a breaker it found open: until a second before the probe
   * is due (clocks differ a little), and for at most `trustMs`.
   */
  learn({ subscription, health }: DispatchWork, verdict: Verdict, nowMs = Date.now()): Verdict {
    if (verdict.kind !== 'park' || verdict.reason !== 'circuit' || health.state !== 'open' || !health.probeAt) return verdict;
    const until = Math.min(health.probeAt.getTime() - 1000, nowMs + this.trustMs);
    if (until <= nowMs) return verdict;
    // A crude bound: forgetting costs each subscription one load, never a wrong answer.
    if (this.open.size > this.capacity) this.open.clear();
    this.open.set(subscription.id, { until, ordered: subscription.ordered });
    return verdict;
  }
}

/** Options of {@link InFlightLimiter}. */
export interface InFlightLimiterOptions {
  /** Consecutive failures after which an endpoint counts as struggling. @default 5 */
  failuresToThrottle?: number;
  /** Deliveries a struggling endpoint may have in flight at once. @default 4 */
  throttledInFlight?: number;
}

interface Slot {
  inFlight: number;
  failures: number;
  /** Jobs turned away since `overflowSince`, to spread their waits over the backlog they form. */
  overflow: number;
  overflowSince: number;
  /** Moving average of attempt durations, ms. */
  avgMs: number;
}

/**
 * Per subscription, in this process: how many deliveries are in flight, against the subscription's
 * `maxInFlight` and, while its endpoint is struggling (failing again and again, before the breaker has
 * seen enough to open), a small share of the worker slots. A job turned away is parked in Postgres for a
 * while that grows with how many were turned away, instead of holding a slot that others need.
 *
 * The count is per process: with N dispatcher replicas a subscription may have up to N × maxInFlight
 * deliveries in flight.
 */
export class InFlightLimiter {
  private readonly slots = new Map<string, Slot>();
  private readonly failuresToThrottle: number;
  private readonly throttledInFlight: number;

  constructor(options: InFlightLimiterOptions = {}) {
    this.failuresToThrottle = options.failuresToThrottle ?? 5;
    this.throttledInFlight = options.throttledInFlight ?? 4;
  }

  /** The limit that applies now: maxInFlight, lowered while the endpoint struggles. */
  limitOf(subscriptionId: string, maxInFlight: number | undefined): number {
    const s = this.slots.get(subscriptionId);
    const struggling = (s?.failures ?? 0) >= this.failuresToThrottle;
    return Math.min(maxInFlight ?? Infinity, struggling ? this.throttledInFlight : Infinity);
  }

  /** Takes a slot for the subscription, or returns false when it must wait its turn. */
  tryAcquire(subscriptionId: string, maxInFlight: number | undefined, nowMs = Date.now()): boolean {
    let s = this.slots.get(subscriptionId);
    if (!s) {
      s = { inFlight: 0, failures: 0, overflow: 0, overflowSince: nowMs, avgMs: 100 };
      this.slots.set(subscriptionId, s);
    }
    if (s.inFlight >= this.limitOf(subscriptionId, maxInFlight)) {
      if (nowMs - s.overflowSince > 1000) {
        s.overflow = 0;
        s.overflowSince = nowMs;
      }
      s.overflow++;
      return false;
    }
    s.inFlight++;
    return true;
  }

  /**
   * Gives the slot back. `succeeded`: true/false for an attempt made, undefined when none was (the
   * job was parked after all); `durationMs` feeds the wait estimate.
   */
  release(subscriptionId: string, succeeded: boolean | undefined, durationMs?: number): void {
    const s = this.slots.get(subscriptionId);
    if (!s) return;
    s.inFlight = Math.max(0, s.inFlight - 1);
    if (succeeded === true) s.failures = 0;
    else if (succeeded === false) s.failures++;
    if (durationMs !== undefined) s.avgMs = s.avgMs * 0.8 + durationMs * 0.2;
    if (s.inFlight === 0 && s.failures === 0 && s.overflow === 0) this.slots.delete(subscriptionId);
  }

  /** Failures in a row of the subscription's endpoint, as this process has seen them. */
  failures(subscriptionId: string): number {
    return this.slots.get(subscriptionId)?.failures ?? 0;
  }

  /**
   * How long a job turned away should park: about the time the jobs turned away before it need to go out
   * through the slots there are, jittered (×0.5–1.5) so they come back spread out; at least 100 ms. For a
   * struggling endpoint at least 1 s, doubling every 5 further failures (×1–2), so a failing endpoint's
   * backlog is not cycled through the queue while its breaker makes up its mind. At most 2 min.
   */
  parkMs(subscriptionId: string, maxInFlight: number | undefined, random: () => number = Math.random): number {
    const s = this.slots.get(subscriptionId);
    const limit = Math.max(1, this.limitOf(subscriptionId, maxInFlight));
    const failures = s?.failures ?? 0;
    const backlogMs = Math.max(100, ((s?.overflow ?? 1) / limit) * (s?.avgMs ?? 100));
    if (failures < this.failuresToThrottle) return Math.round(Math.min(60_000, backlogMs) * (0.5 + random()));
    const strugglingMs = 1000 * 2 ** Math.min(6, (failures - this.failuresToThrottle) / 5);
    return Math.round(Math.min(60_000, Math.max(backlogMs, strugglingMs)) * (1 + random()));
  }
}

/** Options of {@link EndpointLoad}. */
export interface EndpointLoadOptions {
  /** Consecutive failures after which an endpoint counts as struggling. @default 5 */
  failuresToThrottle?: number;
  /** Deliveries a struggling endpoint may have in flight at once. @default 4 */
  throttledInFlight?: number;
}

/**
 * Per subscription: how many deliveries are in flight and whether its endpoint is struggling (failing or
 * timing out again and again). A struggling endpoint gets only a few worker slots; the rest of its jobs
 * are parked in Postgres instead of holding slots that healthy endpoints need.
 */
export class EndpointLoad {
  private readonly state = new Map<string, { inFlight: number; failures: number }>();
  private readonly failuresToThrottle: number;
  private readonly throttledInFlight: number;

  constructor(options: EndpointLoadOptions = {}) {
    this.failuresToThrottle = options.failuresToThrottle ?? 5;
    this.throttledInFlight = options.throttledInFlight ?? 4;
  }

  /** Takes a slot for the subscription, or returns false when its endpoint must wait its turn. */
  tryAcquire(subscriptionId: string): boolean {
    let s = this.state.get(subscriptionId);
    if (!s) {
      s = { inFlight: 0, failures: 0 };
      this.state.set(subscriptionId, s);
    }
    if (s.failures >= this.failuresToThrottle && s.inFlight >= this.throttledInFlight) return false;
    s.inFlight++;
    return true;
  }

  release(subscriptionId: string, succeeded: boolean | undefined): void {
    const s = this.state.get(subscriptionId);
    if (!s) return;
    s.inFlight--;
    if (succeeded === true) s.failures = 0;
    else if (succeeded === false) s.failures++;
    if (s.inFlight === 0 && s.failures === 0) this.state.delete(subscriptionId);
  }

  /** Failures in a row of the subscription's endpoint, as this process has seen them. */
  failures(subscriptionId: string): number {
    return this.state.get(subscriptionId)?.failures ?? 0;
  }
}

import type { DeliveryPolicy } from '../policy.js';
import type { RateRequest } from '../storage/rate-slots.js';
import type { InFlightLimiter } from './in-flight-limiter.js';
import type { RoutedFloor } from './routed-floor.js';
import { parkFor, SEND, type Verdict } from './verdict.js';

/** How long an ordered head waits for older messages to be routed before it is parked and tried again. */
export const ROUTING_WAIT_MS = 250;
/** A rate-limit slot this close is taken as now: the scheduler's own granularity is coarser. */
export const RATE_SLACK_MS = 25;

/**
 * An ordered head goes only once every older message is routed (several routers may finish out of order);
 * otherwise it parks briefly. Without a router floor to read, or when reading it fails (`onUnknown` is
 * told), routing order is trusted.
 */
export async function orderedHeadGate(
  ordered: boolean,
  streamSeq: number,
  routed: Pick<RoutedFloor, 'covers'> | undefined,
  onUnknown: (err: unknown) => void,
  now: () => number = Date.now,
): Promise<Verdict> {
  if (!ordered || !routed) return SEND;
  try {
    if (await routed.covers(streamSeq)) return SEND;
  } catch (err) {
    onUnknown(err);
    return SEND;
  }
  return parkFor('routing', ROUTING_WAIT_MS, now());
}

/**
 * Reserves the delivery's slot of its subscription's rate limit and parks it until that slot when it is
 * later than now. A delivery parked for its slot comes back at that slot and goes without another.
 */
export async function rateGate(
  reserve: (request: RateRequest) => Promise<number>,
  subscriptionId: string,
  rateLimit: DeliveryPolicy['rateLimit'],
  parkedReason: string | null | undefined,
  now: () => number = Date.now,
): Promise<Verdict> {
  if (!rateLimit || parkedReason === 'rate') return SEND;
  const waitMs = await reserve({ subscriptionId, ...rateLimit });
  if (waitMs <= RATE_SLACK_MS) return SEND;
  return parkFor('rate', waitMs, now());
}

/**
 * One job's claim on its subscription's in-flight slots in this process. `take` is the gate; `release`
 * gives the slot back (once, and only if taken), as soon as the exchange with the endpoint ends or the
 * job does not go after all.
 */
export class InFlightSlot {
  private held = false;

  constructor(
    private readonly limiter: InFlightLimiter,
    readonly subscriptionId: string,
  ) {}

  /**
   * Takes a slot, or parks the job for about as long as the jobs turned away before it need (see
   * InFlightLimiter.parkMs).
   */
  take(maxInFlight: number, nowMs = Date.now()): Verdict {
    if (this.limiter.tryAcquire(this.subscriptionId, maxInFlight, nowMs)) {
      this.held = true;
      return SEND;
    }
    return parkFor('inflight', this.limiter.parkMs(this.subscriptionId, maxInFlight), nowMs);
  }

  /** `succeeded` and `durationMs` as InFlightLimiter.release takes them (undefined: no attempt was made). */
  release(succeeded?: boolean, durationMs?: number): void {
    if (!this.held) return;
    this.held = false;
    this.limiter.release(this.subscriptionId, succeeded, durationMs);
  }
}

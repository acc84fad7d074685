import type { DispatchWork } from '../storage/dispatch-work.js';
import { parkUntilReleased, SEND, SKIP, type Verdict } from './verdict.js';

/**
 * Whether the job still has work to do: its delivery exists, its subscription is a live webhook one, and
 * its attempt is not on record yet (a redelivery after a crash, or a re-published duplicate, is skipped).
 */
export function attemptDue(work: DispatchWork | undefined, attempt: number): Verdict {
  if (!work || work.subscription.deletedAt || work.subscription.type !== 'webhook') return SKIP;
  const { delivery } = work;
  if (delivery.status === 'succeeded' || delivery.status === 'dead' || delivery.attemptCount >= attempt) return SKIP;
  return SEND;
}

/**
 * Decides from the state as loaded (one batched query) whether a delivery may be attempted now:
 * - a subscription that is not active parks everything until it is resumed;
 * - an ordered subscription sends only its head, the oldest delivery not settled; the rest wait their turn;
 * - an open breaker parks everything; a half-open one lets only its probe delivery through.
 * The order check comes before the breaker's, so an ordered subscription probes with its head. Each park
 * lasts until an event releases it (resume, the older delivery settling, the breaker closing).
 */
export function admit({ delivery, subscription, health, headSeq }: DispatchWork): Verdict {
  if (subscription.status !== 'active') return parkUntilReleased('paused');
  if (subscription.ordered && headSeq !== null && headSeq < delivery.streamSeq) return parkUntilReleased('order');
  switch (health.state) {
    case 'open':
      return parkUntilReleased('circuit');
    case 'half_open':
      return health.probeDeliveryId === delivery.id ? { kind: 'send', probe: true } : parkUntilReleased('circuit');
    default:
      return SEND;
  }
}
